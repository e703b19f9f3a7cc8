package io.jailhouse.protocol;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One preload image of {@code jailhouse cell load}: bytes and the cell
 * guest-physical address they go to (a file, or a {@code -s} string with its
 * terminating NUL).
 *
 * @param source what the user named (file name, or {@code string "..."}), for messages
 */
public record LoadImage(String source, byte[] data, long address) {
    public LoadImage {
        if (data == null || source == null) {
            throw new IllegalArgumentException("an image needs a source and data");
        }
    }

    public long end() {
        return address + data.length;
    }

    /**
     * A new memfd holding the bytes (written, not mapped): how an image
     * travels to the daemon and on to the cell's process. The caller closes it.
     */
    public int toMemfd() throws IOException {
        try {
            int fd = Libc.memfdCreate("jailhouse-image", Libc.MFD_CLOEXEC);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(Math.max(1, data.length));
                MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
                for (long done = 0; done < data.length; ) {
                    long n = Libc.pwrite(fd, buf.asSlice(done, data.length - done), done);
                    if (n <= 0) {
                        throw new NativeException("pwrite(image memfd)", n < 0 ? (int) -n : Errno.EIO.value());
                    }
                    done += n;
                }
                return fd;
            } catch (NativeException | RuntimeException e) {
                Libc.close(fd);
                throw e;
            }
        } catch (NativeException e) {
            throw new IOException("image " + source + ": " + e.getMessage(), e);
        }
    }
}
