package io.jailhouse.sys;

import java.lang.foreign.MemorySegment;

/** An {@code mmap}ed range owned by its creator, unmapped on close. */
public final class MemoryMapping implements AutoCloseable {
    private MemorySegment segment;

    private MemoryMapping(MemorySegment segment) {
        this.segment = segment;
    }

    /** Shared anonymous memory, zero-filled, of {@code size} bytes (a page multiple). */
    public static MemoryMapping anonymous(long size) throws NativeException {
        return new MemoryMapping(Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_SHARED | Libc.MAP_ANONYMOUS, -1, 0));
    }

    /** {@code size} bytes of the file {@code fd} from {@code offset}, shared read-write. */
    public static MemoryMapping ofFile(int fd, long offset, long size) throws NativeException {
        return new MemoryMapping(Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_SHARED | Libc.MAP_NORESERVE, fd, offset));
    }

    public MemorySegment segment() {
        if (segment == null) {
            throw new IllegalStateException("mapping is closed");
        }
        return segment;
    }

    @Override
    public void close() throws NativeException {
        if (segment != null) {
            MemorySegment s = segment;
            segment = null;
            Libc.munmap(s);
        }
    }
}
