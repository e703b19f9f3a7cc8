package io.jailhouse.config.host;

/** A {@code memmap=SIZE$START} kernel parameter: RAM Linux is told to leave alone. */
public record MemmapReservation(long start, long size) {
    public long end() {
        return start + size - 1;
    }
}
