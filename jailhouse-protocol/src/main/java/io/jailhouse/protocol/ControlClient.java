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
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.NativeException;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * A connection to the daemon, with one method per op. Requests on one
 * client are answered in order; a client is for one thread.
 */
public final class ControlClient implements Closeable {
    private final ControlChannel channel;
    private Duration timeout = Duration.ZERO;
    /** Where progress lines go (what a request waits for); null: the daemon sends none. */
    private java.util.function.Consumer<String> progress;

    private ControlClient(ControlChannel channel) {
        this.channel = channel;
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
        try {
            return new ControlClient(ControlChannel.connect(socket));
        } catch (NativeException e) {
            if (e.errno() == Errno.ECONNREFUSED || e.errno() == Errno.ENOENT) {
                throw new DaemonUnavailableException(socket);
            }
            throw new IOException(e.getMessage(), e);
        }
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
        Reply r = call(request, new int[0]);
        r.closeFds(); // no op this method serves answers with descriptors
        return r.body();
    }

    /** A successful reply and the descriptors that came with it (the caller's to close). */
    public record Reply(ObjectNode body, int[] fds) {
        public void closeFds() {
            new ControlChannel.Frame(new byte[0], fds).closeFds();
        }
    }

    /**
     * Sends a request with {@code fds} (the daemon gets copies) and returns
     * the successful reply with its descriptors.
     */
    public Reply call(ObjectNode request, int[] fds) throws ControlException, IOException {
        if (progress != null) {
            request.put("progress", true);
        }
        byte[] body = JsonCodec.write(request);
        if (body.length > ControlProtocol.MAX_REQUEST_BYTES) {
            throw new ControlException(Errno.EMSGSIZE, "request of " + body.length
                    + " bytes exceeds the protocol's limit of " + ControlProtocol.MAX_REQUEST_BYTES + " bytes");
        }
        Parsed frame = exchange(body, fds);
        JsonNode reply = frame.body();
        if (!reply.path("ok").isBoolean()) {
            frame.closeFds();
            throw new IOException("malformed reply from the daemon");
        }
        if (!reply.get("ok").asBoolean()) {
            frame.closeFds();
            String name = reply.path("errno").asText("EIO");
            Errno errno;
            try {
                errno = Errno.valueOf(name);
            } catch (IllegalArgumentException e) {
                errno = Errno.EIO;
            }
            throw new ControlException(errno, reply.path("error").asText(name));
        }
        return new Reply((ObjectNode) reply, frame.fds());
    }

    /** A message from the daemon, parsed once, and the descriptors that came with it. */
    private record Parsed(JsonNode body, int[] fds) {
        void closeFds() {
            new ControlChannel.Frame(new byte[0], fds).closeFds();
        }
    }

    /** Writes the request and reads messages until the reply, handing progress lines to the listener. */
    private Parsed exchange(byte[] body, int[] fds) throws IOException {
        channel.write(body, fds);
        long deadline = timeout.isZero() ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        while (true) {
            if (deadline != Long.MAX_VALUE) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !channel.awaitReadable((int) Math.min(Integer.MAX_VALUE, Math.max(1, left / 1_000_000)))) {
                    throw new IOException("no reply from the daemon within " + timeout.toMillis() + " ms");
                }
            }
            ControlChannel.Frame frame = channel.read();
            if (frame == null) {
                throw new EOFException("the daemon closed the connection without replying");
            }
            JsonNode n;
            try {
                n = parse(frame);
            } catch (IOException e) {
                frame.closeFds();
                throw e;
            }
            JsonNode line = n.get("progress");
            if (line == null || n.has("ok")) {
                return new Parsed(n, frame.fds());
            }
            frame.closeFds();
            if (progress != null && line.isTextual()) {
                progress.accept(line.asText());
            }
        }
    }

    private static JsonNode parse(ControlChannel.Frame frame) throws IOException {
        JsonNode n = JsonCodec.read(frame.body());
        if (n == null || !n.isObject()) {
            throw new IOException("malformed reply from the daemon");
        }
        return n;
    }

    public DaemonInfo ping() throws ControlException, IOException {
        ObjectNode r = call(ControlMessages.request(ControlProtocol.PING));
        return new DaemonInfo(ControlMessages.integer(r, "version").intValue(), ControlMessages.integer(r, "pid"),
                ControlMessages.partitioning(r), ControlMessages.text(r, "system"), ControlMessages.texts(r, "notices"));
    }

    /** Creates a cell from its binary ({@code .cell}) config. */
    public CellStatus createCell(byte[] binaryConfig) throws ControlException, IOException {
        ObjectNode r = call(ControlMessages.request(ControlProtocol.CELL_CREATE)
                .put("config", Base64.getEncoder().encodeToString(binaryConfig)));
        return ControlMessages.cellStatus(ControlMessages.field(r, "cell"));
    }

    /** Loads the images; each travels to the cell as a memfd holding its bytes. */
    public void loadCell(CellRef cell, List<LoadImage> images) throws ControlException, IOException {
        if (images.size() > ControlProtocol.MAX_FDS) {
            throw new ControlException(Errno.E2BIG, images.size() + " images in one load; at most "
                    + ControlProtocol.MAX_FDS);
        }
        ObjectNode request = ControlMessages.request(ControlProtocol.CELL_LOAD);
        request.set("cell", ControlMessages.cellRef(cell));
        ArrayNode list = request.putArray("images");
        int[] fds = new int[images.size()];
        java.util.Arrays.fill(fds, -1);
        try {
            for (int i = 0; i < images.size(); i++) {
                LoadImage image = images.get(i);
                fds[i] = image.toMemfd();
                list.add(ControlMessages.image(image, i));
            }
            call(request, fds).closeFds();
        } finally {
            new ControlChannel.Frame(new byte[0], java.util.Arrays.stream(fds).filter(fd -> fd >= 0).toArray())
                    .closeFds();
        }
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
        return ControlMessages.cellList(call(ControlMessages.request(ControlProtocol.CELL_LIST)));
    }

    /** The hypervisor's state, figures and cells ({@code jailhouse status}). */
    public DaemonStatus status() throws ControlException, IOException {
        return ControlMessages.daemonStatus(call(ControlMessages.request(ControlProtocol.STATUS)));
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

    /**
     * Reads lifecycle events from {@code position} (negative: from the oldest
     * held), waiting up to {@code waitMillis} for one if there is none yet.
     */
    public EventBatch readEvents(long position, int max, long waitMillis) throws ControlException, IOException {
        return ControlMessages.events(call(ControlMessages.request(ControlProtocol.EVENTS_READ)
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
        Reply r = call(ControlMessages.request(ControlProtocol.IVSHMEM_ATTACH).put("bdf", PciDevice.formatBdf(bdf)),
                new int[0]);
        try {
            return ControlMessages.ivshmemAttachment(r.body(), r.fds());
        } catch (IOException | RuntimeException e) {
            r.closeFds();
            throw e;
        }
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

    @Override
    public void close() {
        channel.close();
    }
}
