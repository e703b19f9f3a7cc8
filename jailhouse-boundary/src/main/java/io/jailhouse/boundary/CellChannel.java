package io.jailhouse.boundary;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * One end of a cell's channel: the supervisor sends {@link CellRequest}s and
 * waits for each {@link CellReply}; the cell process receives the requests
 * and answers them in order. One message is one SOCK_SEQPACKET packet with
 * its descriptors; a message too big for a packet (a large config) travels
 * in a memfd that goes first among the descriptors.
 */
public final class CellChannel implements AutoCloseable {
    /** Bytes sent in the packet itself; more go in a memfd. */
    static final int INLINE_BYTES = 32 * 1024;
    /** The largest message either side accepts. */
    public static final long MAX_MESSAGE_BYTES = 64L * 1024 * 1024;
    private static final byte INLINE = 0;
    private static final byte IN_MEMFD = 1;

    private final UnixSocket socket;

    public CellChannel(UnixSocket socket) {
        this.socket = socket;
    }

    public UnixSocket socket() {
        return socket;
    }

    /** A message and the descriptors that came with it (the receiver's to close). */
    public record Received<T>(T message, int[] fds) {
        /** Closes every descriptor (what a refused or finished request brought). */
        public void closeFds() {
            for (int fd : fds) {
                try {
                    Libc.close(fd);
                } catch (NativeException ignored) {
                    // closing what came with a message: nothing to do about a failure
                }
            }
        }
    }

    // ---- the supervisor's side

    /**
     * Sends {@code request} with {@code fds} and waits up to
     * {@code timeoutMillis} for the reply.
     *
     * @throws IOException when the cell process does not answer in time,
     *         hung up, or sent something that is not a reply
     */
    public Received<CellReply> call(CellRequest request, int[] fds, int timeoutMillis) throws IOException {
        send(CellWire.encode(request), fds);
        try {
            if (!socket.awaitReadable(timeoutMillis)) {
                throw new IOException("no answer within " + timeoutMillis + " ms");
            }
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
        Received<byte[]> r = receiveBytes();
        if (r == null) {
            throw new IOException("the cell process hung up");
        }
        try {
            return new Received<>(CellWire.decodeReply(r.message()), r.fds());
        } catch (IOException | RuntimeException e) {
            r.closeFds();
            throw new IOException("a bad reply: " + e.getMessage(), e);
        }
    }

    // ---- the cell process's side

    /**
     * The next request, or null when the supervisor hung up.
     *
     * @throws IOException for a message that is not a request (its descriptors are closed)
     */
    public Received<CellRequest> receiveRequest() throws IOException {
        Received<byte[]> r = receiveBytes();
        if (r == null) {
            return null;
        }
        try {
            return new Received<>(CellWire.decodeRequest(r.message()), r.fds());
        } catch (IOException | RuntimeException e) {
            r.closeFds();
            throw new IOException("a bad request: " + e.getMessage(), e);
        }
    }

    public void reply(CellReply reply, int... fds) throws IOException {
        send(CellWire.encode(reply), fds);
    }

    // ---- framing

    private void send(byte[] body, int[] fds) throws IOException {
        try {
            if (body.length + 1 <= INLINE_BYTES) {
                byte[] packet = new byte[body.length + 1];
                packet[0] = INLINE;
                System.arraycopy(body, 0, packet, 1, body.length);
                socket.send(packet, fds);
                return;
            }
            int memfd = Libc.memfdCreate("jailhouse-message", Libc.MFD_CLOEXEC);
            try {
                Libc.ftruncate(memfd, body.length);
                try (MemoryMapping m = MemoryMapping.ofFile(memfd, 0, body.length)) {
                    MemorySegment.copy(body, 0, m.segment(), ValueLayout.JAVA_BYTE, 0, body.length);
                }
                int[] all = new int[fds.length + 1];
                all[0] = memfd;
                System.arraycopy(fds, 0, all, 1, fds.length);
                socket.send(new byte[] {IN_MEMFD}, all);
            } finally {
                Libc.close(memfd);
            }
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private Received<byte[]> receiveBytes() throws IOException {
        UnixSocket.Message m;
        try {
            m = socket.receive(INLINE_BYTES, UnixSocket.MAX_FDS);
        } catch (NativeException e) {
            if (e.errno() == Errno.ECONNRESET) {
                return null;
            }
            throw new IOException(e.getMessage(), e);
        }
        if (m == null) {
            return null;
        }
        Received<byte[]> raw = new Received<>(m.data(), m.fds());
        if (m.data().length == 0) {
            raw.closeFds();
            throw new IOException("an empty packet");
        }
        if (m.data()[0] == INLINE) {
            return new Received<>(Arrays.copyOfRange(m.data(), 1, m.data().length), m.fds());
        }
        if (m.data()[0] != IN_MEMFD || m.data().length != 1 || m.fds().length == 0) {
            raw.closeFds();
            throw new IOException("a packet of unknown framing");
        }
        int memfd = m.fds()[0];
        int[] rest = Arrays.copyOfRange(m.fds(), 1, m.fds().length);
        try {
            long size = Libc.fileSize(memfd);
            if (size <= 0 || size > MAX_MESSAGE_BYTES) {
                new Received<>(null, rest).closeFds();
                throw new IOException("a message of " + size + " bytes (at most " + MAX_MESSAGE_BYTES + ")");
            }
            byte[] body = new byte[(int) size];
            try (MemoryMapping map = MemoryMapping.ofFile(memfd, 0, size, false)) {
                MemorySegment.copy(map.segment(), ValueLayout.JAVA_BYTE, 0, body, 0, body.length);
            }
            return new Received<>(body, rest);
        } catch (NativeException e) {
            new Received<>(null, rest).closeFds();
            throw new IOException(e.getMessage(), e);
        } finally {
            try {
                Libc.close(memfd);
            } catch (NativeException ignored) {
                // read already
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
