package io.jailhouse.daemon;

import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.protocol.RefusedMessageException;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One thread that watches every open control connection ({@code poll}):
 * an idle connection costs no thread, however many there are. When a
 * request comes the poller reads it and answers it on a thread of its own,
 * watching meanwhile only whether the client hangs up. Request bodies in
 * flight are bounded in total: one more than the budget allows is refused
 * (EAGAIN) rather than held. The poller itself never waits for a client:
 * what it answers (refusals) is sent only if the client's queue has room,
 * and a client that lets its replies pile up unread loses its connection.
 */
final class ConnectionPoller implements AutoCloseable {
    /** Bytes of requests being answered at once, beyond which another large one is refused. */
    static final long BUDGET_BYTES = 4L << 20;

    private final ControlOperations operations;
    private final DaemonLog log;
    private final Runnable onDisabled;
    /** The poller thread's own: only it adds, removes and closes. */
    private final List<ClientConnection> connections = new ArrayList<>();
    private final ConcurrentLinkedQueue<ClientConnection> added = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<ClientConnection> answered = new ConcurrentLinkedQueue<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong inFlight = new AtomicLong();
    private final int wakeFd;
    private final MemorySegment one;
    private final Arena arena = Arena.ofShared();
    private final Thread thread;
    private volatile boolean closed;

    ConnectionPoller(ControlOperations operations, DaemonLog log, Runnable onDisabled) throws NativeException {
        this.operations = operations;
        this.log = log;
        this.onDisabled = onDisabled;
        this.wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        this.one = arena.allocate(ValueLayout.JAVA_LONG);
        one.set(ValueLayout.JAVA_LONG, 0, 1);
        this.thread = Thread.ofPlatform().name("jailhoused-connections").daemon(true).stackSize(512 * 1024)
                .start(this::run);
    }

    /** Connections open now (idle or answering). */
    int open() {
        return open.get();
    }

    /** Takes a connection over; the poller closes it when the client goes. */
    void add(ClientConnection c) {
        open.incrementAndGet();
        added.add(c);
        wake();
    }

    private void wake() {
        Libc.write(wakeFd, one);
    }

    private void run() {
        try (Arena loop = Arena.ofConfined()) {
            MemorySegment counter = loop.allocate(ValueLayout.JAVA_LONG);
            while (!closed) {
                for (ClientConnection c; (c = added.poll()) != null; ) {
                    connections.add(c);
                }
                for (ClientConnection c; (c = answered.poll()) != null; ) {
                    if (c.gone()) {
                        close(c);
                    }
                }
                int n = connections.size();
                try (Arena round = Arena.ofConfined()) {
                    MemorySegment fds = round.allocate((n + 1) * Libc.POLLFD_BYTES, 8);
                    Libc.setPollFd(fds, 0, wakeFd, Libc.POLLIN);
                    for (int i = 0; i < n; i++) {
                        ClientConnection c = connections.get(i);
                        // busy: only hang-ups (always reported); idle: the next request too
                        Libc.setPollFd(fds, i + 1, c.channel.socket().fd(), c.busy ? 0 : Libc.POLLIN);
                    }
                    if (Libc.poll(fds, n + 1, -1) <= 0) {
                        continue; // EINTR
                    }
                    if ((Libc.pollEvents(fds, 0) & Libc.POLLIN) != 0) {
                        Libc.read(wakeFd, counter);
                    }
                    List<ClientConnection> ended = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        short ev = Libc.pollEvents(fds, i + 1);
                        ClientConnection c = connections.get(i);
                        if (ev == 0) {
                            continue;
                        }
                        if (c.busy) {
                            if ((ev & (Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL)) != 0) {
                                c.markGone(); // its request is withdrawn; closed once answered
                            }
                        } else if ((ev & Libc.POLLIN) != 0) {
                            if (!readRequest(c)) {
                                ended.add(c);
                            }
                        } else {
                            ended.add(c);
                        }
                    }
                    ended.forEach(this::close);
                }
            }
        } catch (RuntimeException | Error e) {
            if (!closed) {
                log.error("the connection poller failed", e);
            }
        }
    }

    /** Reads one request and starts answering it; false when the connection has ended. */
    private boolean readRequest(ClientConnection c) {
        ControlChannel.Frame frame;
        try {
            frame = c.channel.read();
        } catch (RefusedMessageException e) {
            log.client("refused request: " + e.getMessage());
            return refuse(c, ControlOperations.error(e.errno(), "request refused: " + e.getMessage()));
        } catch (IOException e) {
            return false;
        }
        if (frame == null) {
            return false;
        }
        long size = frame.body().length;
        if (inFlight.get() > 0 && inFlight.get() + size > BUDGET_BYTES) {
            frame.closeFds();
            return refuse(c, ControlOperations.error(Errno.EAGAIN, "the daemon is answering "
                    + (inFlight.get() >> 20) + " MiB of requests; one of " + size + " bytes waits its turn: try again"));
        }
        inFlight.addAndGet(size);
        c.busy = true;
        Thread.ofPlatform().name("jailhoused-request").daemon(true).stackSize(512 * 1024)
                .start(() -> answer(c, frame, size));
        return true;
    }

    /** On the poller's thread: answers without waiting; false (the connection ends) when the client reads nothing. */
    private boolean refuse(ClientConnection c, ControlOperations.Reply reply) {
        try {
            if (c.channel.writeNow(JsonCodec.write(reply.body()))) {
                return true;
            }
            log.client("closed a connection whose client reads none of its replies");
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean reply(ClientConnection c, ControlOperations.Reply reply) {
        try {
            c.channel.write(JsonCodec.write(reply.body()), reply.fds());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** On the request's thread: answers, replies, and hands the connection back to the poller. */
    private void answer(ClientConnection c, ControlChannel.Frame frame, long size) {
        boolean disabled = false;
        try {
            ControlOperations.Reply r = operations.handle(frame.body(), frame.fds(), c.session, c);
            disabled = r.disabled();
            if (!reply(c, r)) {
                c.markGone();
            }
        } catch (Throwable t) {
            log.error("a request failed unexpectedly", t);
            c.markGone();
        } finally {
            inFlight.addAndGet(-size);
            c.busy = false;
            boolean closeHere;
            synchronized (this) {
                closeHere = closed;
                if (!closeHere) {
                    answered.add(c);
                }
            }
            if (closeHere) {
                closeConnection(c);
            } else {
                wake();
            }
            if (disabled) {
                onDisabled.run();
            }
        }
    }

    private void close(ClientConnection c) {
        connections.remove(c);
        closeConnection(c);
    }

    private void closeConnection(ClientConnection c) {
        try {
            c.session.close();
        } finally {
            c.channel.close();
            open.decrementAndGet();
        }
    }

    /** Stops watching: idle connections are closed, those being answered close when their answer is done. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        wake();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ClientConnection c; (c = added.poll()) != null; ) {
            connections.add(c);
        }
        for (ClientConnection c : connections) {
            if (c.busy) {
                c.markGone();
                c.channel.shutdown(); // its answer's thread closes it
            } else {
                closeConnection(c);
            }
        }
        connections.clear();
        try {
            Libc.close(wakeFd);
        } catch (NativeException ignored) {
            // closing at the end
        }
    }
}
