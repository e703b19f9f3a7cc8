package io.jailhouse.hypervisor;

import java.util.Collection;
import java.util.concurrent.locks.LockSupport;

/**
 * The console thread: every millisecond it moves what the cells' UARTs and
 * debug-console hypercalls wrote into vCPU-side rings (which the exit loop
 * fills without a lock) into the cells' console logs and the hypervisor
 * console, where readers find them.
 */
final class ConsolePump {
    private static final long INTERVAL_NANOS = 1_000_000;

    private final Collection<Cell> cells;
    private final ConsoleRing hypervisorConsole;
    private final Thread thread;
    private final byte[] buffer = new byte[4096];
    private volatile boolean stopped;

    /** @param cells a live view of the cells (iterated without a lock) */
    ConsolePump(Collection<Cell> cells, ConsoleRing hypervisorConsole) {
        this.cells = cells;
        this.hypervisorConsole = hypervisorConsole;
        this.thread = Thread.ofPlatform().daemon().name("console-pump").unstarted(this::pump);
    }

    void start() {
        thread.start();
    }

    private void pump() {
        while (!stopped) {
            for (Cell c : cells) {
                drain(c);
            }
            LockSupport.parkNanos(INTERVAL_NANOS);
        }
    }

    /** Moves what {@code cell} wrote so far (also called once more for a cell being destroyed). */
    void drain(Cell cell) {
        synchronized (buffer) {
            int n;
            while ((n = cell.uartOutput().drain(buffer)) > 0) {
                cell.console().write(buffer, 0, n);
            }
            for (Vcpu v : cell.vcpus()) {
                while ((n = v.hypercallOutput().drain(buffer)) > 0) {
                    hypervisorConsole.write(buffer, 0, n); // the debug-console hypercall goes to the hypervisor console
                }
            }
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
