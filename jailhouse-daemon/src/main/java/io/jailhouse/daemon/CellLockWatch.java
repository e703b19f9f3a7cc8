package io.jailhouse.daemon;

import io.jailhouse.protocol.CellEvent;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Publishes {@code locked} and {@code unlocked} events. An inmate locks its
 * cell by writing RUNNING_LOCKED into its comm region, which causes no exit
 * and tells nobody; so this thread reads the cells' states (a read of
 * shared memory, no round trip to a cell) every {@link #PERIOD_MILLIS} and
 * reports the changes. A lock held for less than that may go unseen.
 */
final class CellLockWatch implements AutoCloseable {
    static final long PERIOD_MILLIS = 100;

    private final Supplier<List<CellStatus>> cells;
    private final CellEvents events;
    /** The state last seen, by cell id and name (an id is reused by a later cell). Only the thread touches it. */
    private final Map<String, CellState> seen = new HashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    CellLockWatch(Supplier<List<CellStatus>> cells, CellEvents events) {
        this.cells = cells;
        this.events = events;
        this.thread = Thread.ofPlatform().daemon().name("cell-lock-watch").unstarted(this::run);
    }

    /** A watch whose thread samples every period until closed. */
    static CellLockWatch started(Supplier<List<CellStatus>> cells, CellEvents events) {
        CellLockWatch w = new CellLockWatch(cells, events);
        w.thread.start();
        return w;
    }

    private void run() {
        while (!closed) {
            try {
                sample();
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // the hypervisor closing under a read: the next round (or close) settles it
            }
        }
    }

    /** One look at every cell: the thread's round, or a test's on a watch never started. */
    void sample() {
        Map<String, CellState> now = new HashMap<>();
        for (CellStatus c : cells.get()) {
            String key = c.id() + "/" + c.name();
            CellState before = seen.get(key);
            if (c.state() == CellState.RUNNING_LOCKED && before != CellState.RUNNING_LOCKED) {
                events.publish(CellEvent.Type.LOCKED, c.name(), c.id(), "");
            } else if (before == CellState.RUNNING_LOCKED && c.state() != CellState.RUNNING_LOCKED) {
                events.publish(CellEvent.Type.UNLOCKED, c.name(), c.id(), "now " + c.state().text());
            }
            now.put(key, c.state());
        }
        seen.clear();
        seen.putAll(now);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
