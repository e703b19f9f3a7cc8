package io.jailhouse.protocol;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.PacketChannel;
import io.jailhouse.sys.UnixSocket;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One end of a control connection: a SOCK_SEQPACKET socket carrying one
 * JSON message per packet, with descriptors (images, ivshmem eventfds) by
 * SCM_RIGHTS ({@link PacketChannel}). A message arrives whole or not at
 * all, so nothing is ever half read. Used by one reading and one writing
 * thread at a time.
 */
public final class ControlChannel implements Closeable {
    private final PacketChannel packets;

    private ControlChannel(UnixSocket socket, int maxIncomingBytes) {
        this.packets = new PacketChannel(socket, maxIncomingBytes, ControlProtocol.MAX_FDS);
    }

    /** The daemon's end of an accepted connection: it reads requests. */
    public static ControlChannel daemonEnd(UnixSocket socket) {
        return new ControlChannel(socket, ControlProtocol.MAX_REQUEST_BYTES);
    }

    /** A client's end, connected to the socket at {@code path}: it reads replies. */
    public static ControlChannel connect(Path path) throws NativeException {
        return new ControlChannel(UnixSocket.connect(path), ControlProtocol.MAX_REPLY_BYTES);
    }

    public UnixSocket socket() {
        return packets.socket();
    }

    /** A message and the descriptors that came with it (the reader's to close). */
    public record Frame(byte[] body, int[] fds) {
        public void closeFds() {
            new PacketChannel.Packet(body, fds).closeFds();
        }
    }

    /**
     * The next message, or null if the peer closed the connection.
     *
     * @throws RefusedMessageException for a message over the limit or of
     *         unknown framing (what came with it is closed; the connection goes on)
     */
    public Frame read() throws IOException {
        try {
            PacketChannel.Packet p = packets.receive();
            return p == null ? null : new Frame(p.body(), p.fds());
        } catch (NativeException e) {
            if (e.errno() == Errno.EMSGSIZE || e.errno() == Errno.EPROTO) {
                throw new RefusedMessageException(e.errno(), e.getMessage(), packets.maxBytes());
            }
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Waits up to {@code timeoutMillis} for a message or the end; false on timeout. */
    public boolean awaitReadable(int timeoutMillis) throws IOException {
        try {
            return packets.awaitReadable(timeoutMillis);
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Writes like {@link #write} if that does not block: false, and nothing written, when the peer is not reading. */
    public boolean writeNow(byte[] body, int... fds) throws IOException {
        try {
            return packets.sendNow(body, fds);
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    public void write(byte[] body, int... fds) throws IOException {
        try {
            packets.send(body, fds);
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Ends the connection both ways: a thread blocked reading it returns (the end). */
    public void shutdown() {
        try {
            packets.socket().shutdown();
        } catch (NativeException ignored) {
            // not connected any more: nothing to wake
        }
    }

    @Override
    public void close() {
        packets.close();
    }
}
