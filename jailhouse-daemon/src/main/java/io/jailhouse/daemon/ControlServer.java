package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.sys.Errno;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.MessageTooLargeException;

/**
 * The control socket: accepts connections, checks who is connecting, and
 * answers each connection's requests in order on a virtual thread of its
 * own, so that one slow or broken client affects nobody else.
 */
public final class ControlServer implements Closeable {
    private final Path socket;
    private final ServerSocketChannel server;
    private final DaemonLog log;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private ControlServer(Path socket, ServerSocketChannel server, DaemonLog log) {
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
        if (Files.exists(socket)) {
            if (answers(socket)) {
                throw new HypervisorException(Errno.EBUSY, "already enabled: a daemon answers at " + socket);
            }
            log.info("removing stale socket " + socket);
            Files.deleteIfExists(socket);
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            server.close();
            if (Files.exists(socket)) {
                // Another daemon bound it between our check and our bind.
                throw new HypervisorException(Errno.EBUSY, "already enabled: " + socket + " was bound by another daemon");
            }
            throw e;
        }
        try {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(socket);
            throw e;
        }
        return new ControlServer(socket, server, log);
    }

    /**
     * Whether a daemon may be listening on {@code socket}: only a missing
     * file or a refused connection (ECONNREFUSED: a socket file nobody
     * listens on) say no. A socket we may not connect to (EACCES) may well be
     * live and must not be taken for stale.
     */
    public static boolean answers(Path socket) {
        if (!Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (ConnectException e) {
            return false;
        } catch (IOException e) {
            return Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        }
    }

    public Path socket() {
        return socket;
    }

    /** The owner of the socket file, which is the user the daemon runs as. */
    public UserPrincipal owner() throws IOException {
        return Files.getOwner(socket);
    }

    /**
     * Starts answering. {@code onDisabled} runs after the reply to a
     * successful {@code disable} is written.
     */
    public void serve(ControlOperations operations, PeerAuthorization authorization, Runnable onDisabled) {
        Thread.ofPlatform().name("jailhoused-accept").daemon(true)
                .start(() -> acceptLoop(operations, authorization, onDisabled));
    }

    private void acceptLoop(ControlOperations operations, PeerAuthorization authorization, Runnable onDisabled) {
        while (!closed) {
            SocketChannel peer;
            try {
                peer = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // EMFILE and the like: the next accept may succeed; don't spin.
                log.error("accept failed", e);
                sleepQuietly(100);
                continue;
            }
            connections.add(peer);
            if (closed) {
                closeQuietly(peer);
                return;
            }
            Thread.ofVirtual().name("jailhoused-connection").start(() -> converse(peer, operations, authorization, onDisabled));
        }
    }

    private void converse(SocketChannel peer, ControlOperations operations, PeerAuthorization authorization,
            Runnable onDisabled) {
        boolean disabled = false;
        try (ControlChannel channel = new ControlChannel(peer); ControlOperations.Session session = operations.session()) {
            String refusal = authorization.refusal(peer);
            if (refusal != null) {
                log.info("refused connection: " + refusal);
                channel.write(encode(ControlOperations.error(Errno.EACCES, refusal)));
                return;
            }
            try (ClientConnection connection = new ClientConnection(channel)) {
                disabled = answer(connection, channel, session, operations);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (EOFException | ClosedChannelException e) {
            // The client went away mid-message, or the daemon is closing: nothing to answer.
        } catch (SocketException e) {
            if (!closed) {
                log.info("connection dropped: " + e.getMessage());
            }
        } catch (IOException e) {
            if (!closed) {
                log.info("connection failed: " + e);
            }
        } catch (Throwable t) {
            // Even an Error (an OutOfMemoryError for one huge request) ends only this connection.
            log.error("connection failed unexpectedly", t);
        } finally {
            connections.remove(peer);
            if (disabled) {
                onDisabled.run();
            }
        }
    }

    /** Answers the connection's requests in order; true if one of them disabled the hypervisor. */
    private boolean answer(ClientConnection connection, ControlChannel channel, ControlOperations.Session session,
            ControlOperations operations) throws IOException, InterruptedException {
        while (!closed) {
            ClientConnection.Incoming next = connection.next();
            if (next.tooLarge() != null) {
                MessageTooLargeException e = next.tooLarge();
                log.info("refused request: " + e.getMessage());
                channel.write(encode(ControlOperations.error(Errno.EMSGSIZE, "request of " + e.length()
                        + " bytes exceeds the limit of " + ControlProtocol.MAX_MESSAGE_BYTES
                        + " bytes; closing the connection")));
                return false;
            }
            if (next.frame() == null) {
                return false;
            }
            ControlOperations.Reply reply = operations.handle(next.frame(), session, connection);
            channel.write(encode(reply));
            if (reply.disabled()) {
                return true;
            }
        }
        return false;
    }

    private static byte[] encode(ControlOperations.Reply reply) throws IOException {
        return ControlProtocol.JSON.writeValueAsBytes(reply.body());
    }

    /** Stops accepting, drops every open connection and removes the socket file. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(server);
        for (SocketChannel c : connections) {
            closeQuietly(c);
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.info("cannot remove " + socket + ": " + e.getMessage());
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // Closing is best effort; the channel is unusable either way.
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
