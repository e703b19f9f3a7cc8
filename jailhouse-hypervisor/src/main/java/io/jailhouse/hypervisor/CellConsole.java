package io.jailhouse.hypervisor;

import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The cell process's console thread: every millisecond it moves what the
 * cell's UARTs and debug-console hypercalls wrote into vCPU-side rings
 * (which the exit loop fills without a lock) into the shared pages: UART
 * output into the cell's console ring, debug-console output into the
 * debug-console ring and the hypervisor's lines about hypercalls into the
 * report ring; the supervisor copies both to the hypervisor console.
 */
final class CellConsole {
    private static final long INTERVAL_NANOS = 1_000_000;

    private final CellMachine cell;
    private final Thread thread;
    private static final long ANNOUNCE_NANOS = 1_000_000_000L;

    private final byte[] buffer = new byte[4096];
    /** Per CPU, the unreported unknown hypercalls already announced. */
    private long[] announced = new long[0];
    private long announcedAt = System.nanoTime();
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
        long dropped = cell.uartOutput().dropped();
        for (Vcpu v : cell.vcpus()) {
            dropped += v.debugOutput().dropped();
            while ((n = v.debugOutput().drain(buffer)) > 0) {
                cell.debugConsoleBytes(buffer, 0, n); // the guest's bytes: the supervisor budgets them
            }
            while ((n = v.hypercallLines().drain(buffer)) > 0) {
                cell.reportBytes(buffer, 0, n); // the hypervisor's words
            }
        }
        cell.pages().setConsoleBytesDropped(dropped); // for the supervisor's metrics
        announceUnreported();
    }

    /** At most once a second: how many unknown hypercalls each CPU made beyond its line budget. */
    private void announceUnreported() {
        long now = System.nanoTime();
        if (now - announcedAt < ANNOUNCE_NANOS && !stopped) {
            return;
        }
        announcedAt = now;
        List<Vcpu> vcpus = cell.vcpus();
        if (announced.length != vcpus.size()) {
            announced = java.util.Arrays.copyOf(announced, vcpus.size()); // the CPUs are made after this thread
        }
        for (int i = 0; i < vcpus.size(); i++) {
            long u = vcpus.get(i).unreportedHypercalls();
            if (u > announced[i]) {
                cell.report("CPU " + vcpus.get(i).cpu() + ": " + (u - announced[i])
                        + " more unknown hypercalls not reported\n");
                announced[i] = u;
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
