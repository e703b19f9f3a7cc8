package io.jailhouse.daemon;

import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The "physical" memory cells are carved from: one sparse shared-memory file
 * standing for the RAM the system config reserves. A region's
 * {@code phys_start} is an offset into it, so the same {@code phys_start} in
 * two cells is the same pages (ivshmem), and a page costs host memory only
 * once a cell touches it. The supervisor maps none of it but the root cell's
 * own ivshmem pages; each cell process maps its own regions from the
 * descriptor it is handed.
 *
 * <p>The file lives on {@code /dev/shm} (4 KiB pages, which every upstream
 * config fits), or in a directory the operator names: on hugetlbfs, cells get
 * huge pages, and their regions must be aligned to the page size, since a
 * file there is mapped and cleared only in whole pages. It is removed when
 * the hypervisor closes.
 */
public final class ReservedMemory implements AutoCloseable {
    private static final Path SHM = Path.of("/dev/shm");

    private final Path file;
    private final int fd;
    private final long size;
    /** The granule the file is mapped and cleared in: 4 KiB, or a huge page. */
    private final long pageSize;

    /** {@code extent} bytes are needed; the file holds them rounded up to whole pages of its file system. */
    private ReservedMemory(Path file, int fd, long extent) throws NativeException {
        this.file = file;
        this.fd = fd;
        this.pageSize = Math.max(MemoryRegion.PAGE_SIZE, Libc.fstat(fd).blockSize());
        this.size = (extent + pageSize - 1) & -pageSize;
    }

    /**
     * The extent the system config's root RAM regions and ivshmem sections
     * span: every cell's RAM lies inside it. Device windows (an x86 root lists
     * its MMIO ranges up to 4 GiB as READ|WRITE regions) are not backed.
     */
    public static long extentOf(SystemConfig config) {
        long end = 0;
        List<MemoryRegion> regions = config.rootCell().memoryRegions();
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            if (r.isRam() || config.rootCell().isIvshmemSection(i) && r.size() != 0) {
                end = Math.max(end, r.physStart() + r.size());
            }
        }
        return (end + MemoryRegion.PAGE_SIZE - 1) & -MemoryRegion.PAGE_SIZE;
    }

    /**
     * Opens the backing file a previous supervisor made, whose cells still
     * run (adoption).
     *
     * @throws HypervisorException ENOENT if it is gone, EINVAL if its size is not {@code size}
     */
    public static ReservedMemory reopen(Path file, long size) throws HypervisorException {
        try {
            int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            ReservedMemory m = new ReservedMemory(file, fd, size);
            long actual = Libc.fileSize(fd);
            if (actual != m.size) {
                Libc.close(fd);
                throw new HypervisorException(Errno.EINVAL, "the reserved memory " + file + " has 0x"
                        + Long.toHexString(actual) + " bytes, the system config reserves 0x" + Long.toHexString(m.size));
            }
            return m;
        } catch (NativeException e) {
            throw new HypervisorException(e.errno(), "cannot open the reserved memory " + file + ": " + e.getMessage(),
                    e);
        }
    }

    /** Creates the backing file for {@code size} bytes in {@code directory} (null: /dev/shm). */
    public static ReservedMemory create(long size, Path directory, String name) throws HypervisorException {
        Path dir = directory != null ? directory : SHM;
        Path file = dir.resolve(name);
        try {
            Files.deleteIfExists(file);
            int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0600);
            try {
                ReservedMemory m = new ReservedMemory(file, fd, size);
                Libc.ftruncate(fd, m.size);
                return m;
            } catch (NativeException e) {
                Libc.close(fd);
                Files.deleteIfExists(file);
                throw e;
            }
        } catch (IOException e) {
            throw new HypervisorException(io.jailhouse.sys.Errno.ENOMEM,
                    "cannot set up reserved memory of 0x" + Long.toHexString(size) + " bytes at " + file + ": " + e.getMessage(), e);
        }
    }

    /** Prefix of the backing files; the daemon's pid follows. */
    static final String FILE_PREFIX = "jailhouse-memory-";

    /**
     * Where backing files may lie: {@code directory} if one is configured,
     * {@code /dev/shm}, and every hugetlbfs mount.
     */
    static List<Path> backingDirectories(Path directory) {
        List<Path> dirs = new ArrayList<>();
        if (directory != null) {
            dirs.add(directory);
        }
        dirs.add(SHM);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 2 && f[2].equals("hugetlbfs")) {
                    dirs.add(Path.of(f[1]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // unreadable: /dev/shm (and the configured directory) are swept all the same
        }
        return dirs.stream().distinct().toList();
    }

    /**
     * Removes backing files of supervisors that are gone (killed before they
     * could clean up) and whose cells are gone too, so their memory goes
     * back to the host: a file some process still maps belongs to cells
     * that outlived their supervisor and wait to be adopted, and a file
     * whose supervisor runs is that supervisor's.
     *
     * @return the files removed, for the hypervisor console
     */
    static List<Path> removeStale(List<Path> dirs) {
        List<Path> removed = new ArrayList<>();
        for (Path dir : dirs) {
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    String n = f.getFileName().toString();
                    if (!n.startsWith(FILE_PREFIX)) {
                        continue;
                    }
                    try {
                        long pid = Long.parseLong(n.substring(FILE_PREFIX.length()));
                        if (ProcessHandle.of(pid).isEmpty() && !mappedByAnyProcess(f) && Files.deleteIfExists(f)) {
                            removed.add(f);
                        }
                    } catch (NumberFormatException | IOException e) {
                        // Not ours, or not removable: leave it.
                    }
                }
            } catch (IOException | RuntimeException e) {
                // An unreadable or missing directory: nothing of ours there.
            }
        }
        return removed;
    }

    /** Whether some process maps {@code file} (its /proc/PID/maps names it). */
    static boolean mappedByAnyProcess(Path file) {
        String name = " " + file.toString();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try (var lines = Files.lines(p.resolve("maps"))) {
                    if (lines.anyMatch(l -> l.endsWith(name))) {
                        return true;
                    }
                } catch (IOException | java.io.UncheckedIOException | SecurityException e) {
                    // gone meanwhile, or not ours to read
                }
            }
        } catch (IOException e) {
            return true; // cannot tell: keep it
        }
        return false;
    }

    public Path file() {
        return file;
    }

    public long size() {
        return size;
    }

    /** The page size the file is mapped and cleared in: 4 KiB on /dev/shm, the huge page size on hugetlbfs. */
    public long pageSize() {
        return pageSize;
    }

    /**
     * Why {@code [phys, phys + size)} cannot be mapped and cleared in this
     * file's pages (on hugetlbfs, a range not made of whole huge pages), or
     * null if it can: the rule for cell regions and ivshmem sections alike.
     */
    public String pageProblem(long phys, long size) {
        if (((phys | size) & (pageSize - 1)) == 0) {
            return null;
        }
        return "the reserved memory " + file + " has pages of 0x" + Long.toHexString(pageSize)
                + " bytes (hugetlbfs), in which this region can be neither mapped nor cleared; align it to 0x"
                + Long.toHexString(pageSize) + " or enable without --memory-dir";
    }

    /** The descriptor cell processes map their regions from (passed to them, never mapped here whole). */
    public int fd() {
        return fd;
    }

    private void check(long phys, long length) {
        if (phys < 0 || length < 0 || phys > size - length) {
            throw new IndexOutOfBoundsException("0x" + Long.toHexString(phys) + "+0x" + Long.toHexString(length)
                    + " is outside the reserved memory (0x" + Long.toHexString(size) + " bytes)");
        }
    }

    /**
     * Maps {@code [phys, phys + length)} (page aligned), for the root cell's
     * own ivshmem pages; the caller closes the mapping.
     */
    public MemoryMapping map(long phys, long length, boolean writable) throws NativeException {
        check(phys, length);
        return MemoryMapping.ofFile(fd, phys, length, writable);
    }

    /** The little-endian u32 at {@code phys} (an ivshmem state table entry), read without a mapping. */
    public int readInt(long phys) throws NativeException {
        check(phys, 4);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(4, 4);
            long n = Libc.pread(fd, b, phys);
            if (n != 4) {
                throw new NativeException("pread(reserved memory, 0x" + Long.toHexString(phys) + ")",
                        n < 0 ? (int) -n : Errno.EIO.value());
            }
            return b.get(LE_INT, 0);
        }
    }

    /**
     * Writes the little-endian u32 at {@code phys}: without a mapping, or on
     * hugetlbfs (which has no write) through a short one of its page.
     */
    public void writeInt(long phys, int value) throws NativeException {
        check(phys, 4);
        if (pageSize > MemoryRegion.PAGE_SIZE) {
            long page = phys & -pageSize;
            try (MemoryMapping m = MemoryMapping.ofFile(fd, page, pageSize, true)) {
                m.segment().set(LE_INT, phys - page, value);
            }
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(4, 4);
            b.set(LE_INT, 0, value);
            long n = Libc.pwrite(fd, b, phys);
            if (n != 4) {
                throw new NativeException("pwrite(reserved memory, 0x" + Long.toHexString(phys) + ")",
                        n < 0 ? (int) -n : Errno.EIO.value());
            }
        }
    }

    private static final java.lang.foreign.ValueLayout.OfInt LE_INT =
            java.lang.foreign.ValueLayout.JAVA_INT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    public boolean contains(long phys, long length) {
        return phys >= 0 && length >= 0 && phys <= size - length;
    }

    /**
     * Returns the pages to the host, which then read as zeros: memory a cell
     * gives back is cleared before anyone else gets it. On hugetlbfs the
     * range is read back, since older kernels punch only whole huge pages:
     * what is not zero is zeroed through a short mapping, and if it still
     * reads otherwise the clear fails.
     */
    public void clear(long phys, long length) throws NativeException {
        check(phys, length);
        if (pageSize > MemoryRegion.PAGE_SIZE) {
            Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, phys, length);
            long dirty = firstNonZero(phys, length);
            if (dirty >= 0) {
                zeroMapped(phys, length);
                dirty = firstNonZero(phys, length);
                if (dirty >= 0) {
                    throw new NativeException("clearing reserved memory 0x" + Long.toHexString(phys) + "+0x"
                            + Long.toHexString(length) + ": 0x" + Long.toHexString(dirty) + " still reads non-zero",
                            Errno.EIO.value());
                }
            }
            return;
        }
        try {
            Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, phys, length);
        } catch (NativeException e) {
            // A file system without hole punching: clear by writing zeros, a megabyte at a time.
            try (Arena a = Arena.ofConfined()) {
                MemorySegment zeros = a.allocate(Math.min(length, 1 << 20), 8);
                for (long done = 0; done < length; ) {
                    long n = Libc.pwrite(fd, zeros.asSlice(0, Math.min(zeros.byteSize(), length - done)), phys + done);
                    if (n <= 0) {
                        throw new NativeException("pwrite(reserved memory)", n < 0 ? (int) -n : Errno.EIO.value());
                    }
                    done += n;
                }
            }
        }
    }

    /** The first address in the range that reads non-zero, or -1; read a megabyte at a time. */
    long firstNonZero(long phys, long length) throws NativeException {
        check(phys, length);
        try (Arena a = Arena.ofConfined()) {
            long bytes = Math.max(8, Math.min(length, 1 << 20));
            MemorySegment buf = a.allocate(bytes, 8);
            MemorySegment zeros = a.allocate(bytes, 8);
            for (long done = 0; done < length; ) {
                MemorySegment chunk = buf.asSlice(0, Math.min(buf.byteSize(), length - done));
                long n = Libc.pread(fd, chunk, phys + done);
                if (n <= 0) {
                    throw new NativeException("pread(reserved memory, 0x" + Long.toHexString(phys + done) + ")",
                            n < 0 ? (int) -n : Errno.EIO.value());
                }
                long at = chunk.asSlice(0, n).mismatch(zeros.asSlice(0, n));
                if (at >= 0) {
                    return phys + done + at;
                }
                done += n;
            }
        }
        return -1;
    }

    /** Zeroes the range through mappings of the whole pages it lies in, one page at a time. */
    void zeroMapped(long phys, long length) throws NativeException {
        for (long page = phys & -pageSize; page < phys + length; page += pageSize) {
            long from = Math.max(phys, page);
            long to = Math.min(phys + length, page + pageSize);
            try (MemoryMapping m = MemoryMapping.ofFile(fd, page, pageSize, true)) {
                m.segment().asSlice(from - page, to - from).fill((byte) 0);
            }
        }
    }

    /** Clears every page of these regions that lies in reserved memory. */
    public void clear(List<MemoryRegion> regions) throws NativeException {
        for (MemoryRegion r : regions) {
            if (contains(r.physStart(), r.size())) {
                clear(r.physStart(), r.size());
            }
        }
    }

    /** Closes the descriptor; the file stays (cells that outlive this supervisor still map it). */
    public void release() {
        try {
            Libc.close(fd);
        } catch (NativeException ignored) {
            // Same.
        }
    }

    @Override
    public void close() {
        try {
            Libc.close(fd);
        } catch (NativeException ignored) {
            // Same.
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // A stale file is replaced at the next enable.
        }
    }
}
