package io.jailhouse.daemon;

import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;

/**
 * One preload image of a load as the supervisor handles it: a descriptor
 * whose first {@code length} bytes go to {@code address} in the cell. The
 * supervisor never reads it; the cell's process does.
 *
 * @param source what the user named, for messages
 * @param fd a readable regular file (a memfd from the CLI), the caller's
 */
public record ImageFile(String source, int fd, long length, long address) {
    public ImageFile {
        if (source == null || length < 0) {
            throw new IllegalArgumentException("an image needs a source and a length of at least 0");
        }
    }

    /**
     * The rule for an image's descriptor, which the cell's process reads
     * unchecked by anyone else: a memory file (memfd) holding at least the
     * bytes announced, so that the reads end and never block (a FIFO or a
     * device could feed them forever, a FUSE file could stall them). Where
     * the bytes go is the cell process's check.
     *
     * @return null if it is fine, else what is wrong
     */
    public String problem() {
        Libc.FileStatus st;
        try {
            st = Libc.fstat(fd);
        } catch (NativeException e) {
            return "image " + source + ": " + e.getMessage();
        }
        if (!st.isRegularFile()) {
            return "image " + source + " does not come as a memfd";
        }
        try {
            Libc.seals(fd);
        } catch (NativeException e) {
            return "image " + source + " does not come as a memfd but as another kind of file";
        }
        if (st.size() < length) {
            return "image " + source + " announces " + length + " bytes, its file holds " + st.size();
        }
        return null;
    }
}
