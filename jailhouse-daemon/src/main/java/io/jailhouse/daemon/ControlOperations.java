package io.jailhouse.daemon;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.JailhouseConfig;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellList;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.util.List;
import java.util.Locale;
import io.jailhouse.protocol.ConsoleChunk;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.DaemonStatus;
import io.jailhouse.protocol.JailhouseVersion;

/**
 * What the daemon does for each op: checks the request, calls the
 * hypervisor, and turns the outcome (or any failure) into a reply. Nothing a
 * client sends makes this throw.
 */
final class ControlOperations {
    /**
     * @param disabled the hypervisor was disabled by this request: once the
     *        reply is on its way, the daemon ends
     */
    record Reply(ObjectNode body, boolean disabled, int[] fds) {
        Reply(ObjectNode body, boolean disabled) {
            this(body, disabled, new int[0]);
        }
    }

    private final Hypervisor hypervisor;
    private final long pid;
    private final List<String> notices;
    /** When this supervisor started serving, by the wall clock and by the monotonic one. */
    private final long startedMillis = System.currentTimeMillis();
    private final long startedNanos = System.nanoTime();
    private final DaemonLog log;
    /**
     * Ops share the hypervisor, which is thread-safe and waits for a cell
     * only in operations on that cell: no op here waits for another, reads
     * never queue behind writes.
     */
    private volatile boolean disabled;

    /** The connection a request came on, as its operation sees it. */
    interface Connection {
        /** Whether the client went away (closed its end, e.g. on Ctrl-C): a waiting request is withdrawn. */
        boolean gone();

        /** Sends a progress line ahead of the reply (what a request waits for). */
        void progress(String line);
    }

    /** A connection that never goes and hears nothing (requests handled without a client, tests). */
    static final Connection DETACHED = new Connection() {
        @Override
        public boolean gone() {
            return false;
        }

        @Override
        public void progress(String line) {
        }
    };

    ControlOperations(Hypervisor hypervisor, long pid, List<String> notices, DaemonLog log) {
        this.hypervisor = hypervisor;
        this.pid = pid;
        this.notices = List.copyOf(notices);
        this.log = log;
    }

    /**
     * What one connection holds beyond its requests: the ivshmem links it
     * attached to as the root cell's peer, detached when it ends (however
     * the client ends), so a program that dies leaves nothing attached.
     */
    final class Session implements AutoCloseable {
        private final java.util.Set<Integer> attached = new java.util.LinkedHashSet<>();

        @Override
        public void close() {
            for (int bdf : attached) {
                try {
                    hypervisor.detachIvshmem(bdf);
                    log.info("detached ivshmem " + PciDevice.formatBdf(bdf) + " (connection closed)");
                } catch (HypervisorException e) {
                    // the hypervisor was disabled or closed first: it released the attachment itself
                    log.info("ivshmem " + PciDevice.formatBdf(bdf) + " released with the hypervisor ("
                            + e.getMessage() + ")");
                }
            }
            attached.clear();
        }
    }

    Session session() {
        return new Session();
    }

    Reply handle(byte[] frame, Session session) {
        return handle(frame, new int[0], session, DETACHED);
    }

    /**
     * Answers one request. The descriptors that came with it are closed
     * here once it is answered, whatever the outcome; the reply's are the
     * hypervisor's (the client gets copies).
     */
    Reply handle(byte[] frame, int[] fds, Session session, Connection connection) {
        try {
            return answer(frame, fds, session, connection);
        } finally {
            for (int fd : fds) {
                try {
                    Libc.close(fd);
                } catch (NativeException ignored) {
                    // a client's descriptor: nothing to do about a failure
                }
            }
        }
    }

    private Reply answer(byte[] frame, int[] fds, Session session, Connection connection) {
        ControlRequest request;
        try {
            request = ControlRequest.parse(frame);
        } catch (ProtocolException e) {
            log.client("refused request: " + e.getMessage());
            return error(e.errno(), e.getMessage());
        }
        try {
            if (fds.length > 0 && !request.op().equals(ControlProtocol.CELL_LOAD)) {
                throw new ProtocolException(Errno.EINVAL, request.op() + " takes no descriptors; "
                        + fds.length + " came with it");
            }
            return dispatch(request, fds, session, connection);
        } catch (ProtocolException e) {
            log.client("refused request: " + e.getMessage());
            return error(e.errno(), e.getMessage());
        } catch (HypervisorException e) {
            log.client(request.op() + ": " + e.errno().name() + ": " + e.getMessage());
            return error(e.errno(), e.getMessage() != null ? e.getMessage() : e.errno().description());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(Errno.EINTR, request.op() + " interrupted (the daemon is shutting down)");
        } catch (RuntimeException e) {
            log.error(request.op() + " failed unexpectedly", e);
            return error(Errno.EIO, request.op() + " failed: " + e);
        }
    }

    private Reply dispatch(ControlRequest request, int[] fds, Session session, Connection connection)
            throws ProtocolException, HypervisorException, InterruptedException {
        String op = request.op();
        checkEnabled();
        return switch (op) {
            case ControlProtocol.PING -> ok(ping());
            case ControlProtocol.STATUS -> ok(status());
            case ControlProtocol.CONSOLE_READ, ControlProtocol.CELL_CONSOLE_READ -> consoleRead(request);
            case ControlProtocol.EVENTS_READ -> eventsRead(request);
            case ControlProtocol.CELL_CREATE -> ok(create(request));
            case ControlProtocol.CELL_LOAD -> ok(load(request.cell(), request.images(fds), caller(request, connection)));
            case ControlProtocol.CELL_SHUTDOWN -> ok(load(request.cell(), List.of(), caller(request, connection)));
            case ControlProtocol.CELL_START -> ok(start(request.cell(), caller(request, connection)));
            case ControlProtocol.CELL_DESTROY -> ok(destroy(request.cell(), caller(request, connection)));
            case ControlProtocol.CELL_LIST -> ok(list());
            case ControlProtocol.CELL_STATS -> ok(ControlMessages.statistics(hypervisor.statistics(request.cell())));
            case ControlProtocol.DISABLE -> disable(caller(request, connection));
            case ControlProtocol.IVSHMEM_LIST -> ok(ControlMessages.ivshmemLinks(hypervisor.ivshmemLinks()));
            case ControlProtocol.IVSHMEM_ATTACH -> attach(request.bdf(), session);
            case ControlProtocol.IVSHMEM_DETACH -> ok(detach(request.bdf(), session));
            default -> throw new ProtocolException(Errno.EOPNOTSUPP, "unknown op \"" + op + "\"");
        };
    }

    /**
     * The client as the hypervisor sees it while an operation waits: forcing
     * if the request says {@code "force": true} (shutdown, destroy, disable
     * only), withdrawn once its connection is gone, told what is waited for
     * if the request says {@code "progress": true}.
     */
    private static Caller caller(ControlRequest request, Connection connection) throws ProtocolException {
        String op = request.op();
        boolean force = request.flag("force");
        if (force && !op.equals(ControlProtocol.CELL_SHUTDOWN) && !op.equals(ControlProtocol.CELL_DESTROY)
                && !op.equals(ControlProtocol.DISABLE)) {
            throw new ProtocolException(Errno.EINVAL, op + ": \"force\" is for cell.shutdown, cell.destroy and disable");
        }
        boolean progress = request.flag("progress");
        return new Caller() {
            @Override
            public boolean force() {
                return force;
            }

            @Override
            public boolean withdrawn() {
                return connection.gone();
            }

            @Override
            public void waiting(String what) {
                if (progress) {
                    connection.progress(what);
                }
            }
        };
    }

    private void checkEnabled() throws HypervisorException {
        if (disabled) {
            throw new HypervisorException(Errno.EINVAL, "hypervisor not enabled (the daemon is shutting down)");
        }
    }

    private ObjectNode ping() {
        ObjectNode n = ControlMessages.object().put("version", ControlProtocol.VERSION).put("pid", pid)
                .put("partitioning", hypervisor.partitioning().name().toLowerCase(Locale.ROOT))
                .put("system", hypervisor.systemConfig().rootCell().name());
        notices.forEach(n.putArray("notices")::add);
        return n;
    }

    /** The figures of {@code jailhouse status}: read when asked, from the pools, the cells and /proc. */
    private ObjectNode status() {
        List<CellStatus> cells = hypervisor.cells();
        java.util.Map<Integer, Long> rss = new java.util.HashMap<>();
        for (CellStatus c : cells) {
            long bytes = c.pid() == 0 ? -1 : ProcessMemory.residentBytes(c.pid());
            if (bytes >= 0) {
                rss.put(c.id(), bytes);
            }
        }
        return ControlMessages.status(new DaemonStatus(JailhouseVersion.RELEASE, pid,
                hypervisor.systemConfig().rootCell().name(), startedMillis,
                (System.nanoTime() - startedNanos) / 1_000_000, hypervisor.poolUsage(),
                ProcessMemory.residentBytes(ProcessHandle.current().pid()),
                new CellList(hypervisor.partitioning(), cells), rss));
    }

    private ObjectNode create(ControlRequest request) throws ProtocolException, HypervisorException {
        byte[] binary = request.base64("config");
        JailhouseConfig config;
        try {
            config = BinaryConfigCodec.decode(binary, "cell configuration");
        } catch (ConfigFormatException e) {
            throw new HypervisorException(Errno.EINVAL, e.getMessage());
        }
        if (!(config instanceof CellConfig cell)) {
            throw new HypervisorException(Errno.EINVAL,
                    "this is a system configuration; cell create needs a cell configuration");
        }
        CellStatus created = hypervisor.createCell(cell); // the hypervisor's event goes to the log
        return ControlMessages.object().set("cell", ControlMessages.cellStatus(created));
    }

    private ObjectNode load(CellRef cell, List<ImageFile> images, Caller caller) throws HypervisorException {
        hypervisor.loadImages(cell, images, caller);
        return ControlMessages.object();
    }

    private ObjectNode start(CellRef cell, Caller caller) throws HypervisorException {
        List<String> warnings = hypervisor.startCell(cell, caller);
        ObjectNode n = ControlMessages.object();
        ArrayNode w = n.putArray("warnings");
        warnings.forEach(w::add);
        return n;
    }

    private ObjectNode destroy(CellRef cell, Caller caller) throws HypervisorException {
        hypervisor.destroyCell(cell, caller);
        return ControlMessages.object();
    }

    private ObjectNode list() {
        return ControlMessages.cellList(new CellList(hypervisor.partitioning(), hypervisor.cells()));
    }

    /** The reply carries the attachment's descriptors (SCM_RIGHTS). */
    private Reply attach(int bdf, Session session) throws HypervisorException {
        IvshmemAttachment a = hypervisor.attachIvshmem(bdf);
        session.attached.add(bdf);
        log.info("attached a root cell program to ivshmem " + PciDevice.formatBdf(bdf));
        Reply r = ok(ControlMessages.ivshmemAttachment(a));
        return new Reply(r.body(), false, ControlMessages.attachmentFds(a));
    }

    private ObjectNode detach(int bdf, Session session) throws HypervisorException {
        if (!session.attached.contains(bdf)) {
            throw new HypervisorException(Errno.ENOENT, "this connection is not attached to ivshmem "
                    + PciDevice.formatBdf(bdf));
        }
        session.attached.remove(bdf);
        hypervisor.detachIvshmem(bdf);
        log.info("detached ivshmem " + PciDevice.formatBdf(bdf));
        return ControlMessages.object();
    }

    private Reply disable(Caller caller) throws HypervisorException {
        hypervisor.disable(caller);
        disabled = true;
        log.info("disabled: all cells destroyed, the daemon ends");
        return new Reply(ok(ControlMessages.object()).body(), true);
    }

    private Reply consoleRead(ControlRequest request) throws ProtocolException, HypervisorException, InterruptedException {
        ConsoleLog ring;
        if (request.op().equals(ControlProtocol.CELL_CONSOLE_READ)) {
            ring = hypervisor.cellConsole(request.cell());
        } else {
            if (!hypervisor.systemConfig().hasFlag(SystemConfig.VIRTUAL_DEBUG_CONSOLE)) {
                throw new HypervisorException(Errno.EPERM,
                        "the system configuration has no virtual debug console (flag virtual-debug-console)");
            }
            ring = hypervisor.console();
        }
        long position = request.integer("position", -1);
        int max = (int) Math.clamp(request.integer("max", ControlProtocol.DEFAULT_CONSOLE_READ), 0,
                ControlProtocol.MAX_CONSOLE_READ);
        long wait = waitMillis(request);
        // A negative position means "from the oldest byte still held", which is not a loss.
        ConsoleChunk chunk;
        if (position < 0) {
            chunk = ring.readHeld(max);
            if (chunk.data().length == 0 && chunk.kept().length == 0 && wait > 0) {
                chunk = ring.await(chunk.next(), max, wait);
            }
        } else {
            chunk = wait > 0 ? ring.await(position, max, wait) : ring.read(position, max);
        }
        return ok(ControlMessages.chunk(chunk));
    }

    /** As a console read: a negative position reads from the oldest event held, {@code wait_ms} long-polls. */
    private Reply eventsRead(ControlRequest request) throws ProtocolException, InterruptedException {
        long position = request.integer("position", -1);
        int max = (int) Math.clamp(request.integer("max", ControlProtocol.MAX_EVENTS_READ), 0,
                ControlProtocol.MAX_EVENTS_READ);
        long wait = waitMillis(request);
        CellEvents events = hypervisor.events();
        return ok(ControlMessages.events(wait > 0 ? events.await(position, max, wait) : events.read(position, max)));
    }

    /** A long-poll's {@code wait_ms}: 0 unless given, never more than the protocol's bound. */
    private static long waitMillis(ControlRequest request) throws ProtocolException {
        return Math.clamp(request.integer("wait_ms", 0), 0, ControlProtocol.MAX_CONSOLE_WAIT_MILLIS);
    }

    private static Reply ok(ObjectNode body) {
        return new Reply(ControlMessages.okReply(body), false);
    }

    static Reply error(Errno errno, String message) {
        return new Reply(ControlMessages.errorReply(errno, message), false);
    }
}
