package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * One cell process started ahead of need, so that {@code cell create} does
 * not wait for a JVM to start and link its native calls (most of a cold
 * cell process's first few hundred milliseconds). It listens on
 * {@code cells/spare.sock}; {@link #take} renames its socket and log to a
 * cell's, and the next spare starts in the background once that cell is built. A spare holds no
 * cell resources and starts at the lowest CPU priority, so that it takes no
 * CPU time from running cells; one the supervisor lets go of ends by itself.
 */
final class SpareProcess implements AutoCloseable {
    static final String SOCKET = "spare.sock";
    static final String LOG = "spare.log";

    private final CellProcess.Launch launch;
    private final Path cellsDir;
    private final Consumer<String> report;
    private CellProcess ready;
    private Thread starting;
    private boolean closed;

    /** @param report where a spare that cannot be started is told (the hypervisor console) */
    SpareProcess(CellProcess.Launch launch, Path cellsDir, Consumer<String> report) {
        this.launch = launch;
        this.cellsDir = cellsDir;
        this.report = report;
    }

    /** Starts a spare in the background unless one is ready or starting. */
    synchronized void replenish() {
        if (closed || ready != null || starting != null) {
            return;
        }
        starting = Thread.ofPlatform().name("jailhoused-spare").daemon(true).start(this::start);
    }

    private void start() {
        CellProcess p = null;
        try {
            p = CellProcess.spawn(launch, cellsDir.resolve(SOCKET), cellsDir.resolve(LOG), "a spare cell process",
                    true);
        } catch (HypervisorException e) {
            report.accept("Starting a spare cell process failed (cell create starts one itself): "
                    + e.getMessage() + "\n");
        }
        synchronized (this) {
            starting = null;
            if (!closed) {
                ready = p;
                return;
            }
        }
        if (p != null) {
            p.close(); // it ends when its channel closes
        }
    }

    /**
     * The spare, made cell {@code id}'s, or null when none is ready (the
     * caller starts a process itself). The caller {@link #replenish}es once
     * its cell is built, so the next spare does not compete with it for CPUs.
     */
    CellProcess take(int id) {
        CellProcess p;
        synchronized (this) {
            p = ready;
            ready = null;
        }
        if (p == null) {
            return null;
        }
        if (!p.alive()) {
            p.close();
            return null;
        }
        try {
            p.assign(CellProcess.socketOf(cellsDir, id), CellProcess.logOf(cellsDir, id), cellsDir.resolve(LOG));
            p.runInForeground();
            return p;
        } catch (IOException e) {
            p.close();
            return null;
        }
    }

    /** The pid of the spare that is ready, or -1 (tests). */
    synchronized long readyPid() {
        return ready != null && ready.alive() ? ready.pid() : -1;
    }

    /** Lets go of the spare (it ends) and starts no more. */
    @Override
    public void close() {
        CellProcess p;
        Thread t;
        synchronized (this) {
            closed = true;
            p = ready;
            ready = null;
            t = starting;
        }
        if (p != null) {
            p.close();
        }
        if (t != null) {
            try {
                t.join(CellProcess.START_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
