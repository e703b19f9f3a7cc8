package io.jailhouse.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A control connection at the packet level, for sending what a correct client never would. */
final class RawConnection implements AutoCloseable {
    private final ControlChannel frames;

    RawConnection(Path socket) throws IOException {
        try {
            frames = ControlChannel.connect(socket);
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** One packet of exactly these bytes (no framing of ours), with {@code fds}. */
    void sendPacket(byte[] bytes, int... fds) throws IOException {
        try {
            frames.socket().send(bytes, fds);
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    void sendFrame(String json, int... fds) throws IOException {
        frames.write(json.getBytes(StandardCharsets.UTF_8), fds);
    }

    /** The next reply, or null if the daemon closed the connection (its descriptors are closed). */
    JsonNode reply() throws IOException {
        ControlChannel.Frame f = frames.read();
        if (f == null) {
            return null;
        }
        f.closeFds();
        return io.jailhouse.protocol.JsonCodec.read(f.body());
    }

    /** A reply (or the end) can be read without waiting. */
    boolean readable() throws IOException {
        return frames.awaitReadable(0);
    }

    JsonNode exchange(String json, int... fds) throws IOException {
        sendFrame(json, fds);
        return reply();
    }

    @Override
    public void close() {
        frames.close();
    }
}
