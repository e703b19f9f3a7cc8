package io.jailhouse.protocol;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * One end of a control connection, reading and writing length-prefixed
 * frames. Used by one thread at a time.
 */
public final class ControlChannel implements Closeable {
    private final SocketChannel channel;
    private final ByteBuffer header = ByteBuffer.allocate(Integer.BYTES);

    public ControlChannel(SocketChannel channel) {
        this.channel = channel;
    }

    public SocketChannel socket() {
        return channel;
    }

    /**
     * The next frame's body, or null if the peer closed the connection
     * between frames.
     *
     * @throws MessageTooLargeException when the length is over the limit; the body is not read
     * @throws EOFException when the peer closed in the middle of a frame
     */
    public byte[] read() throws IOException {
        header.clear();
        if (!fill(header, true)) {
            return null;
        }
        long length = Integer.toUnsignedLong(header.getInt(0));
        if (length > ControlProtocol.MAX_MESSAGE_BYTES) {
            throw new MessageTooLargeException(length);
        }
        ByteBuffer body = ByteBuffer.allocate((int) length);
        fill(body, false);
        return body.array();
    }

    public void write(byte[] body) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(Integer.BYTES).putInt(0, body.length);
        ByteBuffer[] both = {head, ByteBuffer.wrap(body)};
        while (both[0].hasRemaining() || both[1].hasRemaining()) {
            channel.write(both);
        }
    }

    /** Reads until {@code buffer} is full; false if the peer closed before the first byte and that is allowed. */
    private boolean fill(ByteBuffer buffer, boolean eofBeforeFirstByteIsClean) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                if (eofBeforeFirstByteIsClean && buffer.position() == 0) {
                    return false;
                }
                throw new EOFException("connection closed in the middle of a message");
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
