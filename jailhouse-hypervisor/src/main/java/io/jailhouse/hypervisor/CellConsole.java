package io.jailhouse.hypervisor;

import java.util.concurrent.locks.LockSupport;

/**
 * The cell process's console thread: every millisecond it moves what the
 * cell's UARTs and debug-console hypercalls wrote into vCPU-side rings
 * (which the exit loop fills without a lock) into the shared pages: UART
 * output into the cell's console ring, hypercall output into the report
 * ring, which the supervisor copies to the hypervisor console.
 */
final class CellConsole {
    private static final long INTERVAL_NANOS = 1_000_000;

    private final CellMachine cell;
    private final Thread thread;
    private final byte[] buffer = new byte[4096];
    private volatile boolean stopped;

    CellConsole(CellMachine cell) {
        this.cell = cell;
        this.thread = Thread.ofPlatform().daemon().name("console-" + cell.name()).unstarted(this::pump);
    }

    void start() {
        thread.start();
    }

    private void pump() {
        while (!stopped) {
            drain();
            LockSupport.parkNanos(INTERVAL_NANOS);
        }
        drain();
    }

    private void drain() {
        int n;
        while ((n = cell.uartOutput().drain(buffer)) > 0) {
            cell.pages().console().write(buffer, 0, n);
        }
        for (Vcpu v : cell.vcpus()) {
            while ((n = v.hypercallOutput().drain(buffer)) > 0) {
                cell.reportBytes(buffer, 0, n); // the debug-console hypercall goes to the hypervisor console
            }
        }
    }

    /** Stops after one last drain. */
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
