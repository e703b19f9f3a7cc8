package io.jailhouse.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.config.PciDevice;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A connection to the daemon, with one method per op. Requests on one
 * client are answered in order; a client is for one thread.
 */
public final class ControlClient implements Closeable {
    private final ControlChannel channel;
    private Duration timeout = Duration.ZERO;
    /** Where progress lines go (what a request waits for); null: the daemon sends none. */
    private java.util.function.Consumer<String> progress;

    private ControlClient(SocketChannel socket) {
        this.channel = new ControlChannel(socket);
    }

    /**
     * Connects to the daemon at {@code socket}.
     *
     * @throws DaemonUnavailableException when there is no socket or nobody listens on it
     * @throws IOException when connecting fails otherwise (e.g. EACCES for another user's socket)
     */
    public static ControlClient connect(Path socket) throws DaemonUnavailableException, IOException {
        if (!Files.exists(socket)) {
            throw new DaemonUnavailableException(socket);
        }
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (ConnectException e) {
            ch.close();
            throw new DaemonUnavailableException(socket);
        } catch (SocketException e) {
            ch.close();
            if (!Files.exists(socket)) {
                throw new DaemonUnavailableException(socket);
            }
            throw e;
        }
        return new ControlClient(ch);
    }

    /**
     * Asks the daemon to say what later requests wait for, if they wait
     * (e.g. {@code waiting for cell "x" to answer the shutdown request}), and
     * hands each such line to {@code listener} while the request is under way.
     */
    public ControlClient onProgress(java.util.function.Consumer<String> listener) {
        this.progress = listener;
        return this;
    }

    /** Bounds how long each later call waits for its reply; zero waits forever. */
    public ControlClient timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    /**
     * Sends a request and returns the successful reply.
     *
     * @throws ControlException for an error reply
     * @throws IOException when the connection fails or the daemon goes away before replying
     */
    public ObjectNode call(ObjectNode request) throws ControlException, IOException {
        if (progress != null) {
            request.put("progress", true);
        }
        byte[] body = ControlProtocol.JSON.writeValueAsBytes(request);
        if (body.length > ControlProtocol.MAX_MESSAGE_BYTES) {
            throw new ControlException(Errno.EMSGSIZE, "request of " + body.length
                    + " bytes exceeds the protocol's limit of " + ControlProtocol.MAX_MESSAGE_BYTES + " bytes");
        }
        JsonNode reply = exchange(body);
        if (!reply.path("ok").isBoolean()) {
            throw new IOException("malformed reply from the daemon");
        }
        if (!reply.get("ok").asBoolean()) {
            String name = reply.path("errno").asText("EIO");
            Errno errno;
            try {
                errno = Errno.valueOf(name);
            } catch (IllegalArgumentException e) {
                errno = Errno.EIO;
            }
            throw new ControlException(errno, reply.path("error").asText(name));
        }
        return (ObjectNode) reply;
    }

    /** Writes the request and reads frames until the reply, handing progress lines to the listener. */
    private JsonNode exchange(byte[] body) throws IOException {
        if (timeout.isZero()) {
            channel.write(body);
            return reply();
        }
        // Blocking socket channels have no read timeout: a watchdog closes the channel instead.
        AtomicBoolean timedOut = new AtomicBoolean();
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(timeout);
                timedOut.set(true);
                channel.close();
            } catch (InterruptedException | IOException e) {
                // Interrupted: the reply came in time.
            }
        });
        try {
            channel.write(body);
            return reply();
        } catch (IOException e) {
            if (timedOut.get()) {
                throw new IOException("no reply from the daemon within " + timeout.toMillis() + " ms", e);
            }
            throw e;
        } finally {
            watchdog.interrupt();
        }
    }

    private JsonNode reply() throws IOException {
        while (true) {
            byte[] frame = channel.read();
            if (frame == null) {
                throw new EOFException("the daemon closed the connection without replying");
            }
            JsonNode n = ControlProtocol.JSON.readTree(frame);
            if (n == null || !n.isObject()) {
                throw new IOException("malformed reply from the daemon");
            }
            JsonNode line = n.get("progress");
            if (line == null || n.has("ok")) {
                return n;
            }
            if (progress != null && line.isTextual()) {
                progress.accept(line.asText());
            }
        }
    }

    public DaemonInfo ping() throws ControlException, IOException {
        ObjectNode r = call(ControlMessages.request(ControlProtocol.PING));
        return new DaemonInfo(ControlMessages.integer(r, "version").intValue(), ControlMessages.integer(r, "pid"),
                partitioning(r), ControlMessages.text(r, "system"), ControlMessages.texts(r, "notices"));
    }

    /** Creates a cell from its binary ({@code .cell}) config. */
    public CellStatus createCell(byte[] binaryConfig) throws ControlException, IOException {
        ObjectNode r = call(ControlMessages.request(ControlProtocol.CELL_CREATE)
                .put("config", Base64.getEncoder().encodeToString(binaryConfig)));
        return ControlMessages.cellStatus(ControlMessages.field(r, "cell"));
    }

    public void loadCell(CellRef cell, List<LoadImage> images) throws ControlException, IOException {
        ObjectNode request = ControlMessages.request(ControlProtocol.CELL_LOAD);
        request.set("cell", ControlMessages.cellRef(cell));
        ArrayNode list = request.putArray("images");
        images.forEach(i -> list.add(ControlMessages.image(i)));
        call(request);
    }

    public void shutdownCell(CellRef cell) throws ControlException, IOException {
        shutdownCell(cell, false);
    }

    /** With {@code force}, the cell's approval is skipped (not upstream's; an operator's way out of a mute cell). */
    public void shutdownCell(CellRef cell, boolean force) throws ControlException, IOException {
        call(withCell(ControlProtocol.CELL_SHUTDOWN, cell).put("force", force));
    }

    /** Starts the cell; returns the hypervisor's warnings. */
    public List<String> startCell(CellRef cell) throws ControlException, IOException {
        return ControlMessages.texts(call(withCell(ControlProtocol.CELL_START, cell)), "warnings");
    }

    public void destroyCell(CellRef cell) throws ControlException, IOException {
        destroyCell(cell, false);
    }

    public void destroyCell(CellRef cell, boolean force) throws ControlException, IOException {
        call(withCell(ControlProtocol.CELL_DESTROY, cell).put("force", force));
    }

    public CellList cells() throws ControlException, IOException {
        ObjectNode r = call(ControlMessages.request(ControlProtocol.CELL_LIST));
        List<CellStatus> cells = new ArrayList<>();
        for (JsonNode c : ControlMessages.array(r, "cells")) {
            cells.add(ControlMessages.cellStatus(c));
        }
        return new CellList(partitioning(r), cells);
    }

    public CellStatistics statistics(CellRef cell) throws ControlException, IOException {
        return ControlMessages.statistics(call(withCell(ControlProtocol.CELL_STATS, cell)));
    }

    /**
     * Reads the hypervisor console from {@code position} (negative: from the
     * oldest byte held), waiting up to {@code waitMillis} for new output.
     */
    public ConsoleChunk readConsole(long position, int max, long waitMillis) throws ControlException, IOException {
        return ControlMessages.chunk(call(ControlMessages.request(ControlProtocol.CONSOLE_READ)
                .put("position", position).put("max", max).put("wait_ms", waitMillis)));
    }

    /** As {@link #readConsole}, for the cell's UART log. */
    public ConsoleChunk readCellConsole(CellRef cell, long position, int max, long waitMillis)
            throws ControlException, IOException {
        return ControlMessages.chunk(call(withCell(ControlProtocol.CELL_CONSOLE_READ, cell)
                .put("position", position).put("max", max).put("wait_ms", waitMillis)));
    }

    /** The root cell's ivshmem links. */
    public List<IvshmemLinkStatus> ivshmemLinks() throws ControlException, IOException {
        return ControlMessages.ivshmemLinks(call(ControlMessages.request(ControlProtocol.IVSHMEM_LIST)));
    }

    /**
     * Attaches this connection as the root cell's peer of link {@code bdf};
     * the attachment lasts until {@link #detachIvshmem} or until this
     * connection closes.
     */
    public IvshmemAttachment attachIvshmem(int bdf) throws ControlException, IOException {
        return ControlMessages.ivshmemAttachment(call(ControlMessages.request(ControlProtocol.IVSHMEM_ATTACH)
                .put("bdf", PciDevice.formatBdf(bdf))));
    }

    public void detachIvshmem(int bdf) throws ControlException, IOException {
        call(ControlMessages.request(ControlProtocol.IVSHMEM_DETACH).put("bdf", PciDevice.formatBdf(bdf)));
    }

    /** Destroys all cells; the daemon then ends. */
    public void disable() throws ControlException, IOException {
        disable(false);
    }

    public void disable(boolean force) throws ControlException, IOException {
        call(ControlMessages.request(ControlProtocol.DISABLE).put("force", force));
    }

    private static ObjectNode withCell(String op, CellRef cell) {
        ObjectNode request = ControlMessages.request(op);
        request.set("cell", ControlMessages.cellRef(cell));
        return request;
    }

    private static Partitioning partitioning(JsonNode reply) throws IOException {
        String p = ControlMessages.text(reply, "partitioning");
        try {
            return Partitioning.valueOf(p.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IOException("malformed reply from the daemon: partitioning \"" + p + "\"");
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
