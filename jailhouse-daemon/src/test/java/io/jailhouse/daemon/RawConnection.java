package io.jailhouse.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlProtocol;

/** A control connection at the byte level, for sending what a correct client never would. */
final class RawConnection implements AutoCloseable {
    final SocketChannel channel;
    private final ControlChannel frames;

    RawConnection(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        frames = new ControlChannel(channel);
    }

    void sendBytes(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    void sendFrame(String json) throws IOException {
        frames.write(json.getBytes(StandardCharsets.UTF_8));
    }

    /** The next reply, or null if the daemon closed the connection. */
    JsonNode reply() throws IOException {
        byte[] body = frames.read();
        return body == null ? null : ControlProtocol.JSON.readTree(body);
    }

    JsonNode exchange(String json) throws IOException {
        sendFrame(json);
        return reply();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
