package io.jailhouse.hypervisor;

import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The "physical" memory cells are carved from: one sparse shared-memory file
 * standing for the RAM the system config reserves, mapped once into the
 * daemon. A region's {@code phys_start} is an offset into it, so the same
 * {@code phys_start} in two cells is the same pages (ivshmem), and a page
 * costs host memory only once a cell touches it.
 *
 * <p>The file lives on hugetlbfs when one is mounted with enough free huge
 * pages, else on {@code /dev/shm}; it is removed when the hypervisor closes.
 */
public final class ReservedMemory implements AutoCloseable {
    private static final Path SHM = Path.of("/dev/shm");

    private final Path file;
    private final int fd;
    private final long size;
    private final MemoryMapping mapping;

    private ReservedMemory(Path file, int fd, long size, MemoryMapping mapping) {
        this.file = file;
        this.fd = fd;
        this.size = size;
        this.mapping = mapping;
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

    /** Creates the backing file for {@code size} bytes in {@code directory} (null: pick as described above). */
    public static ReservedMemory create(long size, Path directory, String name) throws HypervisorException {
        Path dir = directory != null ? directory : defaultDirectory(size);
        Path file = dir.resolve(name);
        removeStale(dir);
        try {
            Files.deleteIfExists(file);
            int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0600);
            try {
                Libc.ftruncate(fd, size);
                return new ReservedMemory(file, fd, size, MemoryMapping.ofFile(fd, 0, size));
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

    /** A hugetlbfs mount whose free huge pages hold {@code size} bytes, else {@code /dev/shm}. */
    static Path defaultDirectory(long size) {
        try {
            long free = 0;
            long pageKb = 0;
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                String[] f = line.split("\\s+");
                if (f[0].equals("HugePages_Free:")) {
                    free = Long.parseLong(f[1]);
                } else if (f[0].equals("Hugepagesize:")) {
                    pageKb = Long.parseLong(f[1]);
                }
            }
            long pageBytes = pageKb * 1024;
            if (pageBytes == 0 || size % pageBytes != 0 || free * pageBytes < size) {
                return SHM;
            }
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 2 && f[2].equals("hugetlbfs") && Files.isWritable(Path.of(f[1]))) {
                    return Path.of(f[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Unreadable /proc: fall back to ordinary shared memory.
        }
        return SHM;
    }

    /** Prefix of the backing files; the daemon's pid follows. */
    static final String FILE_PREFIX = "jailhouse-memory-";

    /**
     * Removes backing files of daemons that are gone (killed before they
     * could clean up), so their memory goes back to the host.
     */
    static void removeStale(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (!n.startsWith(FILE_PREFIX)) {
                    continue;
                }
                try {
                    long pid = Long.parseLong(n.substring(FILE_PREFIX.length()));
                    if (ProcessHandle.of(pid).isEmpty()) {
                        Files.deleteIfExists(f);
                    }
                } catch (NumberFormatException | IOException e) {
                    // Not ours, or not removable: leave it.
                }
            }
        } catch (IOException | RuntimeException e) {
            // An unreadable directory: the create below reports what matters.
        }
    }

    public Path file() {
        return file;
    }

    public long size() {
        return size;
    }

    /** The pages at {@code [phys, phys + length)}; the range must lie inside the reserved memory. */
    public MemorySegment slice(long phys, long length) {
        if (phys < 0 || length < 0 || phys > size - length) {
            throw new IndexOutOfBoundsException("0x" + Long.toHexString(phys) + "+0x" + Long.toHexString(length)
                    + " is outside the reserved memory (0x" + Long.toHexString(size) + " bytes)");
        }
        return mapping.segment().asSlice(phys, length);
    }

    public boolean contains(long phys, long length) {
        return phys >= 0 && length >= 0 && phys <= size - length;
    }

    /**
     * Returns the pages to the host, which then read as zeros: memory a cell
     * gives back is cleared before anyone else gets it.
     */
    public void clear(long phys, long length) throws NativeException {
        slice(phys, length); // bounds check
        try {
            Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, phys, length);
        } catch (NativeException e) {
            // A file system without hole punching: clear by writing.
            slice(phys, length).fill((byte) 0);
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

    @Override
    public void close() {
        mapping.close();
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
