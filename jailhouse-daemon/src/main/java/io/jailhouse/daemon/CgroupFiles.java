package io.jailhouse.daemon;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The file operations {@link CpusetIsolation} does on a cgroup file system:
 * the kernel's, or, in the tests, a fake tree of plain files that answers
 * writes the way the kernel would.
 */
interface CgroupFiles {

    /** The whole text of a cgroup file. */
    String read(Path file) throws IOException;

    /**
     * Writes {@code value} to an existing cgroup file in one {@code write()}:
     * the kernel takes one value (one task id, one CPU list) per call.
     *
     * @throws NativeException with the errno of {@code open} or {@code write}
     */
    void write(Path file, String value) throws NativeException;

    /** Creates a cgroup (the kernel fills it with its control files). */
    void mkdir(Path dir) throws IOException;

    /** Removes an empty cgroup (control files and all). */
    void rmdir(Path dir) throws IOException;

    /** The cgroup files of the running kernel. */
    CgroupFiles KERNEL = new CgroupFiles() {
        @Override
        public String read(Path file) throws IOException {
            return Files.readString(file, StandardCharsets.US_ASCII);
        }

        @Override
        public void write(Path file, String value) throws NativeException {
            int fd = Libc.open(file.toString(), Libc.O_WRONLY | Libc.O_CLOEXEC, 0);
            try (Arena arena = Arena.ofConfined()) {
                byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
                MemorySegment buffer = arena.allocate(Math.max(1, bytes.length));
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, buffer, 0, bytes.length);
                long r;
                do {
                    r = Libc.write(fd, buffer.asSlice(0, bytes.length));
                } while (r == -Errno.EINTR.value());
                if (r < 0) {
                    throw new NativeException("write(" + file + ")", (int) -r);
                }
            } finally {
                try {
                    Libc.close(fd);
                } catch (NativeException ignored) {
                    // cgroup files report their errors on write; nothing is buffered.
                }
            }
        }

        @Override
        public void mkdir(Path dir) throws IOException {
            Files.createDirectory(dir);
        }

        @Override
        public void rmdir(Path dir) throws IOException {
            Files.delete(dir);
        }
    };
}
