package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.protocol.RefusedMessageException;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The control socket (SOCK_SEQPACKET, docs/protocol.md): accepts
 * connections, checks who is connecting and how many are open, and hands
 * them to the {@link ConnectionPoller}, which answers each connection's
 * requests in order, each on a thread of its own while it runs, so that
 * one slow or broken client affects nobody else and an idle one costs no
 * thread.
 */
public final class ControlServer implements AutoCloseable {
    private final Path socket;
    private final UnixSocket server;
    private final DaemonLog log;
    private volatile ConnectionPoller poller;
    private volatile boolean closed;

    /** Connections open at once; one more is told why and closed. */
    static final int MAX_CONNECTIONS = 1024;

    /**
     * How long a reply may wait for a client that does not read; past it the
     * client counts as gone. A client that reads its replies never gets near
     * it: requests are answered one at a time per connection.
     */
    static final int REPLY_TIMEOUT_MILLIS = 5000;

    private final int maxConnections;

    private ControlServer(Path socket, UnixSocket server, DaemonLog log, int maxConnections) {
        this.maxConnections = maxConnections;
        this.socket = socket;
        this.server = server;
        this.log = log;
    }

    /**
     * Binds the socket (mode 0600). A socket file nobody listens on is left
     * over from a daemon that died and is replaced; one that answers means a
     * daemon is running: EBUSY, as upstream's enable when already enabled.
     */
    public static ControlServer bind(Path socket, DaemonLog log) throws HypervisorException, IOException {
        return bind(socket, log, MAX_CONNECTIONS);
    }

    /** As {@link #bind(Path, DaemonLog)}, with at most {@code maxConnections} open at once. */
    static ControlServer bind(Path socket, DaemonLog log, int maxConnections) throws HypervisorException, IOException {
        if (Files.exists(socket)) {
            if (answers(socket)) {
                throw new HypervisorException(Errno.EBUSY, "already enabled: a daemon answers at " + socket);
            }
            log.info("removing stale socket " + socket);
            Files.deleteIfExists(socket);
        }
        UnixSocket server;
        try {
            server = UnixSocket.listen(socket, 64);
        } catch (NativeException e) {
            if (e.errno() == Errno.EADDRINUSE) {
                // Another daemon bound it between our check and our bind.
                throw new HypervisorException(Errno.EBUSY, "already enabled: " + socket + " was bound by another daemon");
            }
            throw new IOException("cannot listen on " + socket + ": " + e.getMessage(), e);
        }
        try {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            server.closeQuietly();
            Files.deleteIfExists(socket);
            throw e;
        }
        return new ControlServer(socket, server, log, maxConnections);
    }

    /**
     * Whether a daemon may be listening on {@code socket}: only a missing
     * file or a refused connection (ECONNREFUSED: a socket file nobody
     * listens on) say no. A socket we may not connect to (EACCES) may well be
     * live and must not be taken for stale.
     */
    public static boolean answers(Path socket) {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            UnixSocket.connect(socket).closeQuietly();
            return true;
        } catch (NativeException e) {
            // a socket of another type (EPROTOTYPE) is nobody's control socket either
            if (e.errno() == Errno.ECONNREFUSED || e.errno() == Errno.EPROTOTYPE) {
                return false;
            }
            return Files.exists(socket, LinkOption.NOFOLLOW_LINKS);
        }
    }

    public Path socket() {
        return socket;
    }

    /**
     * Starts answering. {@code onDisabled} runs after the reply to a
     * successful {@code disable} is written.
     */
    public void serve(ControlOperations operations, PeerAuthorization authorization, Runnable onDisabled) {
        Thread.ofPlatform().name("jailhoused-accept").daemon(true).stackSize(256 * 1024)
                .start(() -> acceptLoop(operations, authorization, onDisabled));
    }

    private void acceptLoop(ControlOperations operations, PeerAuthorization authorization, Runnable onDisabled) {
        ConnectionPoller poller;
        try {
            poller = new ConnectionPoller(operations, log, onDisabled);
        } catch (NativeException e) {
            log.error("cannot watch connections", e);
            return;
        }
        this.poller = poller;
        while (!closed) {
            UnixSocket peer;
            try {
                peer = server.accept();
            } catch (NativeException e) {
                if (closed) {
                    break;
                }
                // EMFILE and the like: the next accept may succeed; don't spin.
                log.error("accept failed", e);
                sleepQuietly(100);
                continue;
            }
            try {
                peer.setSendTimeout(REPLY_TIMEOUT_MILLIS);
            } catch (NativeException e) {
                peer.closeQuietly();
                continue;
            }
            ControlChannel channel = ControlChannel.daemonEnd(peer);
            String refusal = poller.open() >= maxConnections ? "too many connections: " + maxConnections
                    + " are open, the limit; try again when one closes" : null;
            Errno errno = Errno.EBUSY;
            if (refusal == null) {
                refusal = authorization.refusal(peer);
                errno = Errno.EACCES;
            }
            if (refusal != null || closed) {
                if (refusal != null) {
                    try {
                        // a new socket's buffer is empty: this send does not block the accept loop
                        channel.write(encode(ControlOperations.error(errno, refusal)));
                    } catch (IOException e) {
                        // gone already
                    }
                    log.client("refused connection: " + refusal);
                }
                channel.close();
                continue;
            }
            poller.add(new ClientConnection(channel, operations.session()));
        }
        poller.close();
    }

    private static byte[] encode(ControlOperations.Reply reply) throws IOException {
        return JsonCodec.write(reply.body());
    }

    /** Stops accepting, drops every open connection and removes the socket file. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.shutdown(); // wakes the accept thread; close alone would not
        } catch (NativeException ignored) {
            // not listening any more
        }
        server.closeQuietly();
        ConnectionPoller p = poller;
        if (p != null) {
            p.close(); // idle connections close; those being answered close when answered
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.warn("cannot remove " + socket + ": " + e.getMessage());
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
