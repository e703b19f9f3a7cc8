package io.jailhouse.hypervisor.device;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * A byte ring for one producer thread (a vCPU, through {@link #put}) and one
 * consumer thread (the console thread, through {@link #drain}), without locks.
 *
 * <p>{@code head} and {@code tail} count bytes ever taken and ever put; each
 * is written only by its own side and published with release semantics,
 * read by the other side with acquire semantics, so the bytes in the buffer
 * are visible before the position that covers them. The producer caches the
 * last head it saw and rereads it only when the ring looks full, and the two
 * positions sit on separate cache lines, so a {@code put} costs one store and
 * one release store in the common case.
 *
 * <p>{@code put} never blocks: when the ring is full the byte is dropped and
 * counted ({@link #dropped()}), because a guest must not be slowed down by a
 * slow console reader.
 *
 * <p>Used by more than one producer (contrary to its contract) the ring
 * loses bytes but {@code drain} stays within bounds.
 */
public final class SpscByteRing extends SpscByteRingProducerFields implements ByteSink {
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;
    private static final VarHandle DROPPED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(SpscByteRingConsumerFields.class, "head", long.class);
            TAIL = lookup.findVarHandle(SpscByteRingProducerFields.class, "tail", long.class);
            DROPPED = lookup.findVarHandle(SpscByteRingProducerFields.class, "dropped", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final byte[] buffer;
    private final int mask;

    // Padding after the producer's fields, against sharing a line with whatever follows the object.
    long p20, p21, p22, p23, p24, p25, p26, p27;

    /** @param capacity a power of two, at least 1 and at most 2^30 */
    public SpscByteRing(int capacity) {
        if (capacity <= 0 || capacity > 1 << 30 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("ring capacity " + capacity + " is not a power of two in 1..2^30");
        }
        this.buffer = new byte[capacity];
        this.mask = capacity - 1;
    }

    public int capacity() {
        return buffer.length;
    }

    /** Producer side: appends {@code b}, or drops and counts it when the ring is full. */
    @Override
    public void put(byte b) {
        long t = tail; // only this thread writes tail
        if (t - headCache >= buffer.length) {
            headCache = (long) HEAD.getAcquire(this);
            if (t - headCache >= buffer.length) {
                DROPPED.setOpaque(this, dropped + 1);
                return;
            }
        }
        buffer[(int) t & mask] = b;
        TAIL.setRelease(this, t + 1);
    }

    /** Consumer side: moves up to {@code dst.length} bytes, oldest first; returns how many. */
    public int drain(byte[] dst) {
        return drain(dst, 0, dst.length);
    }

    /** Consumer side: moves up to {@code length} bytes into {@code dst[offset..]}; returns how many. */
    public int drain(byte[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        long h = head; // only this thread writes head
        long available = (long) TAIL.getAcquire(this) - h;
        if (available <= 0) {
            return 0;
        }
        int n = (int) Math.min(Math.min(available, buffer.length), length);
        int from = (int) h & mask;
        int first = Math.min(n, buffer.length - from);
        System.arraycopy(buffer, from, dst, offset, first);
        System.arraycopy(buffer, 0, dst, offset + first, n - first);
        HEAD.setRelease(this, h + n);
        return n;
    }

    /** Bytes waiting to be drained; exact on the consumer thread, a snapshot elsewhere. */
    public int size() {
        long h = (long) HEAD.getAcquire(this);
        long available = (long) TAIL.getAcquire(this) - h;
        return (int) Math.max(0, Math.min(available, buffer.length));
    }

    /** Bytes dropped so far because the ring was full; readable from any thread. */
    public long dropped() {
        return (long) DROPPED.getOpaque(this);
    }

    /** Bytes ever accepted by {@link #put} (dropped ones not included); readable from any thread. */
    public long written() {
        return (long) TAIL.getAcquire(this);
    }
}

// Superclass chain so that the JVM lays the fields out in this order (superclass
// fields come first): padding, consumer's head, padding, producer's fields.

abstract class SpscByteRingPadding {
    long p00, p01, p02, p03, p04, p05, p06, p07;
}

abstract class SpscByteRingConsumerFields extends SpscByteRingPadding {
    /** Bytes ever taken; written by the consumer only. */
    long head;
    long p10, p11, p12, p13, p14, p15, p16, p17;
}

abstract class SpscByteRingProducerFields extends SpscByteRingConsumerFields {
    /** Bytes ever put; written by the producer only. */
    long tail;
    /** The producer's last view of head. */
    long headCache;
    /** Bytes dropped; written by the producer only. */
    long dropped;
}
