package io.jailhouse.daemon;

import io.jailhouse.protocol.ConsoleChunk;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A console log of fixed capacity, as upstream's hypervisor console: writers
 * append, old bytes are overwritten, and each reader keeps its own position
 * (a count of bytes ever written) so it can tell how much it missed.
 *
 * <p>vCPU threads do not write here directly; their device models hand bytes
 * to a console thread, so the lock below is never taken on the exit path.
 */
public final class ConsoleRing implements ConsoleLog {
    /** Upstream's hypervisor console holds 2048 bytes; cells' UART logs get more room. */
    public static final int HYPERVISOR_CAPACITY = HypervisorConsole.CAPACITY;

    private final byte[] buffer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition written = lock.newCondition();
    private long tail;

    public ConsoleRing(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("console capacity " + capacity);
        }
        this.buffer = new byte[capacity];
    }

    public int capacity() {
        return buffer.length;
    }

    public void write(byte[] data, int offset, int length) {
        lock.lock();
        try {
            for (int i = 0; i < length; i++) {
                buffer[(int) (tail++ % buffer.length)] = data[offset + i];
            }
            written.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public void write(String text) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        write(b, 0, b.length);
    }

    /** The position after the last byte written. */
    public long tail() {
        lock.lock();
        try {
            return tail;
        } finally {
            lock.unlock();
        }
    }

    /** The oldest position still held. */
    public long head() {
        lock.lock();
        try {
            return Math.max(0, tail - buffer.length);
        } finally {
            lock.unlock();
        }
    }

    /** Reads from {@code position} (0 = everything still held) up to {@code max} bytes, without waiting. */
    public ConsoleChunk read(long position, int max) {
        lock.lock();
        try {
            return readLocked(position, max);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads as {@link #read}, but waits up to {@code timeoutMillis} for a byte
     * past {@code position} if there is none yet.
     */
    public ConsoleChunk await(long position, int max, long timeoutMillis) throws InterruptedException {
        lock.lock();
        try {
            long nanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (tail <= position && nanos > 0) {
                nanos = written.awaitNanos(nanos);
            }
            return readLocked(position, max);
        } finally {
            lock.unlock();
        }
    }

    private ConsoleChunk readLocked(long position, int max) {
        long head = Math.max(0, tail - buffer.length);
        long from = Math.max(Math.max(position, 0), head);
        long missed = Math.max(0, head - Math.max(position, 0));
        if (from > tail) {
            from = tail;
        }
        int n = (int) Math.min(tail - from, Math.max(0, max));
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = buffer[(int) ((from + i) % buffer.length)];
        }
        return new ConsoleChunk(out, missed, from + n);
    }
}
