package io.jailhouse.protocol;

import java.util.Locale;

/**
 * One step in a cell's life as {@code jailhouse events} shows it.
 *
 * @param seq the event's number, counted from 0 since the hypervisor was enabled
 * @param timeMillis when it happened, by the wall clock
 * @param cellId the cell's id at the time (ids are reused after a destroy)
 * @param detail what there is to say beyond the type: the FATAL line of a
 *     failure, the process of a created or adopted cell; empty if nothing
 */
public record CellEvent(long seq, long timeMillis, Type type, String cell, int cellId, String detail) {
    /** The longest detail kept: a FATAL line is one line of the console, longer ones are cut. */
    public static final int MAX_DETAIL = 1024;

    /** Times as events and the daemon's log show them: UTC, always with milliseconds. */
    private static final java.time.format.DateTimeFormatter TIME = java.time.format.DateTimeFormatter
            .ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);

    /** {@code millis} since the epoch as ISO 8601 in UTC with milliseconds, e.g. 2026-12-03T04:30:00.120Z. */
    public static String formatTime(long millis) {
        return TIME.format(java.time.Instant.ofEpochMilli(millis));
    }

    public CellEvent {
        if (detail.length() > MAX_DETAIL) {
            detail = detail.substring(0, MAX_DETAIL);
        }
    }

    public enum Type {
        CREATED, LOADED, STARTED, SHUT_DOWN, FAILED, DESTROYED, ADOPTED, LOCKED, UNLOCKED;

        /** The name in JSON and on the command line: {@code shut-down} for SHUT_DOWN. */
        public String text() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** The type named {@code text}, or null if none is. */
        public static Type ofText(String text) {
            for (Type t : values()) {
                if (t.text().equals(text)) {
                    return t;
                }
            }
            return null;
        }
    }
}
