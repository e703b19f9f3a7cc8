package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Messages with descriptors over a SOCK_SEQPACKET socket: one message is one
 * packet and its descriptors (SCM_RIGHTS), so a message arrives whole or not
 * at all and nothing is ever half read. A message too big for a packet
 * travels in a memfd that goes first among the descriptors; the receiver
 * checks its size against its limit, and that it is a memory file (which no
 * other process can make a read of block: not FUSE, not NFS), before reading
 * a byte of it. Memfds are written and read with pwrite and pread, never
 * mapped (a confined cell process maps no files of others).
 */
public final class PacketChannel implements AutoCloseable {
    /** Bytes sent in the packet itself; more go in a memfd. */
    public static final int INLINE_BYTES = 32 * 1024;
    private static final byte INLINE = 0;
    private static final byte IN_MEMFD = 1;

    private final UnixSocket socket;
    private final long maxBytes;
    private final int maxFds;

    /**
     * @param maxBytes the largest message this end accepts
     * @param maxFds the most descriptors a message may bring
     */
    public PacketChannel(UnixSocket socket, long maxBytes, int maxFds) {
        if (maxFds + 1 > UnixSocket.MAX_FDS) {
            throw new IllegalArgumentException("at most " + (UnixSocket.MAX_FDS - 1) + " descriptors a message");
        }
        this.socket = socket;
        this.maxBytes = maxBytes;
        this.maxFds = maxFds;
    }

    public UnixSocket socket() {
        return socket;
    }

    /** The largest message this end accepts. */
    public long maxBytes() {
        return maxBytes;
    }

    /** A message and the descriptors that came with it (the receiver's to close). */
    public record Packet(byte[] body, int[] fds) {
        /** Closes every descriptor (what a refused or finished message brought). */
        public void closeFds() {
            closeAll(fds);
        }
    }

    /**
     * Sends {@code body} with {@code fds} (duplicated into the receiver; the
     * sender keeps its own).
     *
     * @throws NativeException EPIPE when the other end is gone
     */
    public void send(byte[] body, int... fds) throws NativeException {
        send(true, body, fds);
    }

    /** Sends like {@link #send} if that does not block: false, and nothing sent, when the receiver is not reading. */
    public boolean sendNow(byte[] body, int... fds) throws NativeException {
        return send(false, body, fds);
    }

    private boolean send(boolean wait, byte[] body, int... fds) throws NativeException {
        if (fds.length > maxFds) {
            throw new IllegalArgumentException(fds.length + " descriptors in one message; at most " + maxFds);
        }
        if (body.length + 1 <= INLINE_BYTES) {
            byte[] packet = new byte[body.length + 1];
            packet[0] = INLINE;
            System.arraycopy(body, 0, packet, 1, body.length);
            return sendPacket(wait, packet, fds);
        }
        int memfd = Libc.memfdCreate("jailhouse-message", Libc.MFD_CLOEXEC);
        try {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(body.length);
                MemorySegment.copy(body, 0, buf, JAVA_BYTE, 0, body.length);
                for (long done = 0; done < body.length; ) {
                    long n = Libc.pwrite(memfd, buf.asSlice(done), done);
                    if (n <= 0) {
                        throw new NativeException("pwrite(message memfd)", n < 0 ? (int) -n : Errno.EIO.value());
                    }
                    done += n;
                }
            }
            int[] all = new int[fds.length + 1];
            all[0] = memfd;
            System.arraycopy(fds, 0, all, 1, fds.length);
            return sendPacket(wait, new byte[] {IN_MEMFD}, all);
        } finally {
            Libc.close(memfd);
        }
    }

    private boolean sendPacket(boolean wait, byte[] packet, int[] fds) throws NativeException {
        if (wait) {
            socket.send(packet, fds);
            return true;
        }
        return socket.sendNow(packet, fds);
    }

    /**
     * The next message, or null when the other end closed.
     *
     * @throws NativeException EMSGSIZE for a message over the limit (in
     *         bytes or descriptors), EPROTO for one of unknown framing; what
     *         came with either is closed and the channel can go on
     */
    public Packet receive() throws NativeException {
        UnixSocket.Message m;
        try {
            m = socket.receive(INLINE_BYTES, maxFds + 1);
        } catch (NativeException e) {
            if (e.errno() == Errno.ECONNRESET) {
                return null;
            }
            throw e;
        }
        if (m == null) {
            return null;
        }
        if (m.data().length == 0) {
            closeAll(m.fds());
            throw new NativeException("an empty packet", Errno.EPROTO.value());
        }
        if (m.data()[0] == INLINE) {
            if (m.fds().length > maxFds) {
                closeAll(m.fds());
                throw new NativeException("a message with " + m.fds().length + " descriptors (at most " + maxFds
                        + ")", Errno.EMSGSIZE.value());
            }
            return new Packet(Arrays.copyOfRange(m.data(), 1, m.data().length), m.fds());
        }
        if (m.data()[0] != IN_MEMFD || m.data().length != 1 || m.fds().length == 0) {
            closeAll(m.fds());
            throw new NativeException("a packet of unknown framing", Errno.EPROTO.value());
        }
        int memfd = m.fds()[0];
        int[] rest = Arrays.copyOfRange(m.fds(), 1, m.fds().length);
        try {
            Libc.FileStatus st = Libc.fstat(memfd);
            long size = st.size();
            if (!st.isRegularFile() || size <= 0 || size > maxBytes) {
                closeAll(rest);
                throw new NativeException("a message of " + size + " bytes" + (st.isRegularFile() ? "" : " not in a memfd")
                        + " (at most " + maxBytes + ")", Errno.EMSGSIZE.value());
            }
            try {
                Libc.seals(memfd);
            } catch (NativeException e) {
                closeAll(rest);
                throw new NativeException("a message in a file that is not a memfd", Errno.EPROTO.value());
            }
            byte[] body = new byte[(int) size];
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(size);
                for (long done = 0; done < size; ) {
                    long n = Libc.pread(memfd, buf.asSlice(done), done);
                    if (n <= 0) {
                        closeAll(rest);
                        throw new NativeException("a message memfd of " + size + " bytes ended at " + done,
                                Errno.EPROTO.value());
                    }
                    done += n;
                }
                MemorySegment.copy(buf, JAVA_BYTE, 0, body, 0, body.length);
            }
            return new Packet(body, rest);
        } catch (NativeException e) {
            if (e.errno() != Errno.EMSGSIZE && e.errno() != Errno.EPROTO) {
                closeAll(rest);
            }
            throw e;
        } finally {
            closeAll(new int[] {memfd});
        }
    }

    /** Waits up to {@code timeoutMillis} for a message (or the end); false on timeout. */
    public boolean awaitReadable(int timeoutMillis) throws NativeException {
        return socket.awaitReadable(timeoutMillis);
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            try {
                Libc.close(fd);
            } catch (NativeException ignored) {
                // closing what came with a message: nothing to do about a failure
            }
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (NativeException ignored) {
            // closing a socket: nothing to do about a failure
        }
    }
}
