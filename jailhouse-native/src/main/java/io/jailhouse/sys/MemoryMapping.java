package io.jailhouse.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An {@code mmap}ed range owned by a shared {@link Arena}: closing the
 * mapping closes the arena, which unmaps the range. A segment of the mapping
 * used afterwards, by any thread, throws {@link IllegalStateException}
 * instead of touching unmapped memory, so a use-after-unmap can never crash
 * the JVM. This is the only way memory gets mapped outside this package.
 */
public final class MemoryMapping implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;

    private MemoryMapping(long length, int prot, int flags, int fd, long offset) throws NativeException {
        MemorySegment raw = Libc.mmap(length, prot, flags, fd, offset);
        this.arena = Arena.ofShared();
        MemorySegment s = scoped(raw, arena);
        this.segment = (prot & Libc.PROT_WRITE) != 0 ? s : s.asReadOnly();
    }

    @SuppressWarnings("restricted") // exactly the bytes the kernel mapped, unmapped when the arena closes
    private static MemorySegment scoped(MemorySegment raw, Arena arena) {
        return raw.reinterpret(arena, MemoryMapping::unmap);
    }

    private static void unmap(MemorySegment s) {
        try {
            Libc.munmap(s);
        } catch (NativeException e) {
            // munmap fails only for a range that is not mapped; the arena's segments are dead either way.
        }
    }

    /** Shared anonymous memory, zero-filled, of {@code size} bytes (a page multiple). */
    public static MemoryMapping anonymous(long size) throws NativeException {
        return new MemoryMapping(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_ANONYMOUS, -1, 0);
    }

    /** {@code size} bytes of the file {@code fd} from {@code offset}, shared read-write, no swap reserved. */
    public static MemoryMapping ofFile(int fd, long offset, long size) throws NativeException {
        return new MemoryMapping(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_NORESERVE, fd,
                offset);
    }

    /**
     * {@code size} bytes of {@code fd} from {@code offset}, shared; read-only
     * at the mmap level (and the segment read-only too) unless {@code writable}.
     */
    public static MemoryMapping ofFile(int fd, long offset, long size, boolean writable) throws NativeException {
        return new MemoryMapping(size, Libc.PROT_READ | (writable ? Libc.PROT_WRITE : 0), Libc.MAP_SHARED, fd, offset);
    }

    /** The mapped bytes; they throw once the mapping is closed. */
    public MemorySegment segment() {
        return segment;
    }

    public boolean isOpen() {
        return segment.scope().isAlive();
    }

    /** Unmaps the range; closing again does nothing. */
    @Override
    public synchronized void close() {
        if (segment.scope().isAlive()) {
            arena.close();
        }
    }
}
