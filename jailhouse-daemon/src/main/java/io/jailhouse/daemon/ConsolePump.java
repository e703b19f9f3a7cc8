package io.jailhouse.daemon;

import io.jailhouse.boundary.SharedByteRing;
import java.util.Collection;
import java.util.concurrent.locks.LockSupport;

/**
 * The console thread: every two milliseconds it moves what the cells'
 * processes put in their report rings (FATAL reports, debug-console
 * output) to the hypervisor console. Where it got to is kept in each ring,
 * so a supervisor that adopts a cell goes on where the last one stopped.
 */
final class ConsolePump {
    private static final long INTERVAL_NANOS = 2_000_000;

    private final Collection<Cell> cells;
    private final Sink hypervisorConsole;

    /** Where reports go: the hypervisor console. */
    @FunctionalInterface
    interface Sink {
        void write(byte[] data, int offset, int length);
    }
    private final Thread thread;
    private volatile boolean stopped;

    /** @param cells a live view of the cells (iterated without a lock) */
    ConsolePump(Collection<Cell> cells, Sink hypervisorConsole) {
        this.cells = cells;
        this.hypervisorConsole = hypervisorConsole;
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
            synchronized (this) {
                SharedByteRing.Chunk c;
                while ((c = report.read(report.consumed(), 4096)).data().length > 0) {
                    hypervisorConsole.write(c.data(), 0, c.data().length);
                    report.setConsumed(c.next());
                }
            }
        } catch (IllegalStateException e) {
            // destroyed meanwhile: its pages are unmapped
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
