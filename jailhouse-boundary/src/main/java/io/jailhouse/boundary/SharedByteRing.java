package io.jailhouse.boundary;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;

/**
 * A byte log of fixed capacity in memory two processes map (a cell's console
 * in its shared pages, the hypervisor console in a file under the run
 * directory): one process appends, old bytes are overwritten, and readers
 * in any process keep their own position (a count of bytes ever written)
 * and learn how much they missed. Readers take no lock and never block the
 * writer; a reader that races the writer past its position notices it when
 * it re-reads the tail and counts those bytes as missed.
 *
 * <p>Layout: a 64-byte header (u64 tail: bytes ever written; u64 consumed:
 * where the one consumer that moves the bytes elsewhere has got to, kept
 * here so that a restarted consumer goes on where the old one stopped; u32
 * capacity), then the data. The writer must be one thread at a time
 * (callers serialize); the header's capacity is checked when a ring is
 * opened on memory someone else set up.
 */
public final class SharedByteRing {
    public static final int HEADER_BYTES = 64;
    private static final int TAIL = 0;
    private static final int CONSUMED = 8;
    private static final int CAPACITY = 16;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.nativeOrder()).varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.nativeOrder()).varHandle();

    private final MemorySegment header;
    private final MemorySegment data;
    private final int capacity;

    private SharedByteRing(MemorySegment memory, int capacity) {
        this.header = memory.asSlice(0, HEADER_BYTES);
        this.data = memory.asSlice(HEADER_BYTES, capacity);
        this.capacity = capacity;
    }

    /** Bytes a ring of {@code capacity} takes. */
    public static long bytesFor(int capacity) {
        return HEADER_BYTES + (long) capacity;
    }

    /** Sets up an empty ring filling {@code memory} (8-byte aligned). */
    public static SharedByteRing format(MemorySegment memory) {
        long capacity = memory.byteSize() - HEADER_BYTES;
        if (capacity <= 0 || capacity > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("no room for a ring in " + memory.byteSize() + " bytes");
        }
        memory.asSlice(0, HEADER_BYTES).fill((byte) 0);
        INT.setVolatile(memory, (long) CAPACITY, (int) capacity);
        return new SharedByteRing(memory, (int) capacity);
    }

    /**
     * The ring someone set up in {@code memory}.
     *
     * @throws IllegalArgumentException if its header does not fit the memory
     */
    public static SharedByteRing open(MemorySegment memory) {
        int capacity = (int) INT.getVolatile(memory, (long) CAPACITY);
        if (capacity <= 0 || capacity != memory.byteSize() - HEADER_BYTES) {
            throw new IllegalArgumentException("ring header says " + capacity + " bytes in a memory of "
                    + memory.byteSize() + " bytes");
        }
        return new SharedByteRing(memory, capacity);
    }

    public int capacity() {
        return capacity;
    }

    /** Appends; one writer at a time. */
    public void write(byte[] bytes, int offset, int length) {
        long tail = (long) LONG.getVolatile(header, (long) TAIL);
        if (length > capacity) {
            offset += length - capacity; // only the last capacity bytes can be kept
            tail += length - capacity;
            length = capacity;
        }
        int at = (int) (tail % capacity);
        int first = Math.min(length, capacity - at);
        MemorySegment.copy(bytes, offset, data, ValueLayout.JAVA_BYTE, at, first);
        MemorySegment.copy(bytes, offset + first, data, ValueLayout.JAVA_BYTE, 0, length - first);
        LONG.setRelease(header, (long) TAIL, tail + length);
    }

    /** The position after the last byte written. */
    public long tail() {
        return (long) LONG.getAcquire(header, (long) TAIL);
    }

    /** The oldest position still held. */
    public long head() {
        return Math.max(0, tail() - capacity);
    }

    /** Where the consumer has got to (see the class comment). */
    public long consumed() {
        return (long) LONG.getAcquire(header, (long) CONSUMED);
    }

    public void setConsumed(long position) {
        LONG.setRelease(header, (long) CONSUMED, position);
    }

    /** What {@link #read} found: bytes, how many were lost before them, where to go on. */
    public record Chunk(byte[] data, long missed, long next) {
    }

    /** Reads from {@code position} (0: everything still held) up to {@code max} bytes, without waiting. */
    public Chunk read(long position, int max) {
        long from = Math.max(position, 0);
        while (true) {
            long tail = tail();
            if (from > tail) {
                from = tail; // a position from a ring that was set up again
            }
            long head = Math.max(0, tail - capacity);
            long start = Math.max(from, head);
            int n = (int) Math.min(tail - start, Math.max(0, max));
            byte[] out = new byte[n];
            int at = (int) (start % capacity);
            int first = Math.min(n, capacity - at);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, at, out, 0, first);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, out, first, n - first);
            // The writer may have lapped the copy: keep only what it cannot have touched yet.
            long overwritten = tail() - capacity;
            if (overwritten > start) {
                if (overwritten >= start + n) {
                    continue; // all of it: start again from the new head
                }
                int lost = (int) (overwritten - start);
                byte[] kept = new byte[n - lost];
                System.arraycopy(out, lost, kept, 0, kept.length);
                return new Chunk(kept, overwritten - from, start + n);
            }
            return new Chunk(out, start - from, start + n);
        }
    }

    /**
     * Reads as {@link #read}, waiting up to {@code timeoutMillis} for a byte
     * past {@code position} if there is none yet. The writer may be another
     * process, so this polls (every 2 ms), which costs nothing measurable.
     */
    public Chunk await(long position, int max, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (tail() <= position && System.nanoTime() < deadline) {
            LockSupport.parkNanos(2_000_000);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return read(position, max);
    }
}
