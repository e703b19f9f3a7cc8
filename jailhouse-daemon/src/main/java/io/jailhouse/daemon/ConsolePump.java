package io.jailhouse.daemon;

import io.jailhouse.boundary.MessageBudget;
import io.jailhouse.boundary.SharedByteRing;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The console thread: every two milliseconds it moves what the cells'
 * processes put in their report rings (the hypervisor's words: FATAL
 * reports) and debug-console rings (the guest's bytes) to the hypervisor
 * console. Where it got to is kept in each ring, so a supervisor that
 * adopts a cell goes on where the last one stopped.
 *
 * <p>Each cell has a budget for each ring: a guest's debug console may
 * burst {@value #GUEST_BURST} bytes, then {@value #GUEST_BYTES_PER_SECOND}
 * a second (what upstream's 115200-baud console carries); a cell process's
 * reports {@value #REPORT_BURST} bytes, then {@value #REPORT_BYTES_PER_SECOND}
 * a second, far more than any cell reports unless its process runs amok.
 * What goes over is consumed and counted, and once a second a line says how
 * much was left out.
 */
final class ConsolePump {
    private static final long INTERVAL_NANOS = 2_000_000;
    private static final long ANNOUNCE_NANOS = 1_000_000_000L;
    static final int GUEST_BURST = 16 * 1024;
    static final int GUEST_BYTES_PER_SECOND = 11_520;
    static final int REPORT_BURST = 16 * 1024;
    static final int REPORT_BYTES_PER_SECOND = 2048;
    /** A report line longer than this is passed on in pieces. */
    private static final int MAX_LINE = 4096;

    /** Where the bytes go: the hypervisor console. */
    interface Sink {
        /** Whole lines a cell process reported. */
        void report(byte[] data, int offset, int length, String cell);

        /** A guest's debug-console bytes. */
        void guest(byte[] data, int offset, int length);
    }

    /** What the pump keeps of one cell: budgets, what it dropped, a report line not yet ended. */
    private static final class Source {
        final MessageBudget guest = new MessageBudget(GUEST_BURST, GUEST_BYTES_PER_SECOND);
        final MessageBudget reports = new MessageBudget(REPORT_BURST, REPORT_BYTES_PER_SECOND);
        long droppedGuest;
        long droppedReports;
        long announcedAt;
        byte[] partial = new byte[0];
    }

    private final Collection<Cell> cells;
    private final Sink sink;
    private final Map<Cell, Source> sources = new IdentityHashMap<>();
    private final Thread thread;
    private volatile boolean stopped;

    /** @param cells a live view of the cells (iterated without a lock) */
    ConsolePump(Collection<Cell> cells, Sink sink) {
        this.cells = cells;
        this.sink = sink;
        this.thread = Thread.ofPlatform().daemon().name("console-pump").unstarted(this::pump);
    }

    void start() {
        thread.start();
    }

    private void pump() {
        while (!stopped) {
            drainAll();
            LockSupport.parkNanos(INTERVAL_NANOS);
        }
    }

    /** Moves what every cell reported so far. */
    void drainAll() {
        for (Cell c : cells) {
            drain(c);
        }
    }

    /** Moves what {@code cell} reported so far (also called once more for a cell being destroyed). */
    void drain(Cell cell) {
        try {
            SharedByteRing report = cell.pages().report();
            SharedByteRing guest = cell.pages().debugConsole();
            synchronized (this) {
                Source s = sources.computeIfAbsent(cell, c -> new Source());
                long now = System.nanoTime();
                SharedByteRing.Chunk c;
                while ((c = report.read(report.consumed(), MAX_LINE)).data().length > 0) {
                    report.setConsumed(c.next());
                    if (s.reports.tryTake(c.data().length, now)) {
                        passLines(s, c.data(), cell.name());
                    } else {
                        s.droppedReports += c.data().length;
                    }
                }
                while ((c = guest.read(guest.consumed(), MAX_LINE)).data().length > 0) {
                    guest.setConsumed(c.next());
                    int n = c.data().length;
                    int allowed = (int) Math.min(n, s.guest.available(now));
                    if (allowed > 0 && s.guest.tryTake(allowed, now)) {
                        sink.guest(c.data(), 0, allowed);
                    }
                    s.droppedGuest += n - allowed;
                }
                announceDropped(s, cell.name(), now);
            }
        } catch (IllegalStateException e) {
            // destroyed meanwhile: its pages are unmapped
        }
    }

    /** Passes on the whole lines of a report chunk; an unended line waits for the rest (up to {@value #MAX_LINE}). */
    private void passLines(Source s, byte[] data, String cell) {
        byte[] all = data;
        if (s.partial.length > 0) {
            all = new byte[s.partial.length + data.length];
            System.arraycopy(s.partial, 0, all, 0, s.partial.length);
            System.arraycopy(data, 0, all, s.partial.length, data.length);
        }
        int end = all.length;
        while (end > 0 && all[end - 1] != '\n') {
            end--;
        }
        if (end == 0 && all.length >= MAX_LINE) {
            end = all.length; // no line end in sight: pass it on as it is
        }
        if (end > 0) {
            sink.report(all, 0, end, cell);
        }
        s.partial = java.util.Arrays.copyOfRange(all, end, all.length);
    }

    private void announceDropped(Source s, String cell, long now) {
        if ((s.droppedGuest == 0 && s.droppedReports == 0) || now - s.announcedAt < ANNOUNCE_NANOS) {
            return;
        }
        s.announcedAt = now;
        StringBuilder line = new StringBuilder();
        if (s.droppedGuest > 0) {
            line.append("Cell \"").append(cell).append("\": ").append(s.droppedGuest)
                    .append(" bytes of debug-console output left out (more than ").append(GUEST_BYTES_PER_SECOND)
                    .append(" bytes a second)\n");
        }
        if (s.droppedReports > 0) {
            line.append("Cell \"").append(cell).append("\": ").append(s.droppedReports)
                    .append(" bytes of its process's reports left out (more than ").append(REPORT_BYTES_PER_SECOND)
                    .append(" bytes a second)\n");
        }
        s.droppedGuest = 0;
        s.droppedReports = 0;
        byte[] b = line.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        sink.report(b, 0, b.length, null);
    }

    /** A destroyed cell's budgets and unended line go (after its last {@link #drain}). */
    synchronized void forget(Cell cell) {
        Source s = sources.remove(cell);
        if (s != null && s.partial.length > 0) {
            sink.report(s.partial, 0, s.partial.length, cell.name());
        }
    }

    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
