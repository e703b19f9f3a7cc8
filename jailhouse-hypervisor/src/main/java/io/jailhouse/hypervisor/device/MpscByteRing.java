package io.jailhouse.hypervisor.device;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A byte ring for several producer threads (the vCPUs of one cell writing
 * one UART) and one consumer (the console thread), without locks: a bounded
 * queue in the style of Vyukov's, where each slot carries a sequence number
 * saying whether it is free for the producer of a given position or filled
 * for the consumer.
 *
 * <p>A producer claims a position with one compare-and-set on the tail, writes
 * its byte and publishes the slot with a release store; the consumer takes
 * slots in order while their sequence says filled. {@code put} never blocks:
 * when the ring is full the byte is dropped and counted, because a guest must
 * not be slowed down by a slow console reader.
 */
public final class MpscByteRing implements ByteSink {
    private static final VarHandle SEQUENCE = MethodHandles.arrayElementVarHandle(long[].class);

    private final byte[] data;
    private final long[] sequence;
    private final int mask;
    private final AtomicLong tail = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    /** Consumer side only. */
    private long head;

    /** @param capacity a power of two, at least 2 and at most 2^30 */
    public MpscByteRing(int capacity) {
        if (capacity < 2 || capacity > 1 << 30 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("ring capacity " + capacity + " is not a power of two in 2..2^30");
        }
        data = new byte[capacity];
        sequence = new long[capacity];
        for (int i = 0; i < capacity; i++) {
            sequence[i] = i;
        }
        mask = capacity - 1;
    }

    public int capacity() {
        return data.length;
    }

    @Override
    public void put(byte b) {
        long t = tail.get();
        while (true) {
            int slot = (int) (t & mask);
            long seq = (long) SEQUENCE.getAcquire(sequence, slot);
            if (seq == t) {
                if (tail.compareAndSet(t, t + 1)) {
                    data[slot] = b;
                    SEQUENCE.setRelease(sequence, slot, t + 1);
                    return;
                }
                t = tail.get();
            } else if (seq < t) {
                dropped.incrementAndGet(); // the consumer has not freed this slot yet: full
                return;
            } else {
                t = tail.get(); // another producer took this position
            }
        }
    }

    /** Moves up to {@code dst.length} bytes out, in the order they were put; consumer thread only. */
    public int drain(byte[] dst) {
        int n = 0;
        while (n < dst.length) {
            int slot = (int) (head & mask);
            long seq = (long) SEQUENCE.getAcquire(sequence, slot);
            if (seq != head + 1) {
                break; // empty, or the producer of this position has not published yet
            }
            dst[n++] = data[slot];
            SEQUENCE.setRelease(sequence, slot, head + data.length);
            head++;
        }
        return n;
    }

    /** Bytes dropped because the ring was full. */
    public long dropped() {
        return dropped.get();
    }
}
