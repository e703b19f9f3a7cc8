package io.jailhouse.boundary;

import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.PacketChannel;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;

/**
 * One end of a cell's channel: the supervisor sends {@link CellRequest}s and
 * waits for each {@link CellReply}; the cell process receives the requests
 * and answers them in order, as {@link PacketChannel} messages.
 */
public final class CellChannel implements AutoCloseable {
    /** The largest message either side accepts (two configs of at most 16 MiB each, and a little). */
    public static final long MAX_MESSAGE_BYTES = 40L * 1024 * 1024;
    /** The environment variable that tells a new cell process which supervisor started it (its pid). */
    public static final String SUPERVISOR_PID_VARIABLE = "JAILHOUSE_SUPERVISOR_PID";

    private final PacketChannel packets;

    public CellChannel(UnixSocket socket) {
        this.packets = new PacketChannel(socket, MAX_MESSAGE_BYTES, UnixSocket.MAX_FDS - 1);
    }

    public UnixSocket socket() {
        return packets.socket();
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
            if (!packets.awaitReadable(timeoutMillis)) {
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

    // ---- framing: PacketChannel's

    private void send(byte[] body, int[] fds) throws IOException {
        try {
            packets.send(body, fds);
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private Received<byte[]> receiveBytes() throws IOException {
        try {
            PacketChannel.Packet p = packets.receive();
            return p == null ? null : new Received<>(p.body(), p.fds());
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        packets.close();
    }
}
