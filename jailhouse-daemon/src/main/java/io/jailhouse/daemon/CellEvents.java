package io.jailhouse.daemon;

import io.jailhouse.protocol.CellEvent;
import io.jailhouse.protocol.EventBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The cells' lifecycle events since enable, in a ring of fixed capacity:
 * the hypervisor publishes, readers ({@code jailhouse events}) keep their
 * own position (a count of events ever published) and are told how many
 * they lost when they fall more than the ring behind. Followers (the
 * daemon's log) hear each event as it is published, in order.
 *
 * <p>Never published from a vCPU thread: cell processes report through the
 * console pump, so nothing here is on an exit path.
 */
public final class CellEvents {
    public static final int CAPACITY = 1024;

    private final CellEvent[] ring;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition published = lock.newCondition();
    private final List<Consumer<CellEvent>> followers = new ArrayList<>();
    /** Guarded by lock: the number of events ever published, the next one's seq. */
    private long tail;

    public CellEvents() {
        this(CAPACITY);
    }

    CellEvents(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("event capacity " + capacity);
        }
        this.ring = new CellEvent[capacity];
    }

    public void publish(CellEvent.Type type, String cell, int cellId, String detail) {
        lock.lock();
        try {
            CellEvent e = new CellEvent(tail, System.currentTimeMillis(), type, cell, cellId, detail);
            ring[(int) (tail++ % ring.length)] = e;
            published.signalAll();
            for (Consumer<CellEvent> f : followers) {
                f.accept(e); // under the lock: followers hear events in seq order
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands {@code follower} every event still held, then each one published
     * from now on. It is called with this ring's lock held and must not wait.
     */
    public void follow(Consumer<CellEvent> follower) {
        lock.lock();
        try {
            for (long s = head(); s < tail; s++) {
                follower.accept(ring[(int) (s % ring.length)]);
            }
            followers.add(follower);
        } finally {
            lock.unlock();
        }
    }

    /** Events from {@code position} (negative: from the oldest held), at most {@code max}, without waiting. */
    public EventBatch read(long position, int max) {
        lock.lock();
        try {
            return readLocked(position, max);
        } finally {
            lock.unlock();
        }
    }

    /** As {@link #read}, but waits up to {@code timeoutMillis} for an event at {@code position} if there is none. */
    public EventBatch await(long position, int max, long timeoutMillis) throws InterruptedException {
        lock.lock();
        try {
            long from = position < 0 ? head() : position;
            long nanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (tail <= from && nanos > 0) {
                nanos = published.awaitNanos(nanos);
            }
            return readLocked(position, max);
        } finally {
            lock.unlock();
        }
    }

    private long head() {
        return Math.max(0, tail - ring.length);
    }

    private EventBatch readLocked(long position, int max) {
        long head = head();
        // a negative position asks for the oldest held, which is no loss
        long lost = position < 0 ? 0 : Math.max(0, head - position);
        long from = Math.min(Math.max(position, head), tail);
        int n = (int) Math.min(tail - from, Math.max(0, max));
        List<CellEvent> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(ring[(int) ((from + i) % ring.length)]);
        }
        return new EventBatch(out, lost, from + n);
    }
}
