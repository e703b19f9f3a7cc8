package io.jailhouse.daemon;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.jailhouse.config.PciDevice;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import io.jailhouse.protocol.IvshmemAttachment;

/**
 * The descriptors that connect a host program to the root cell's peer of an
 * ivshmem link while it is attached:
 * <ul>
 * <li>one interrupt eventfd per vector, which this channel's thread
 *     signals for the doorbells cells ring in the root's slots, by the
 *     peer's rules (INT_CONTROL);
 * <li>the link's doorbell slots of the other peers: writing 1 to one rings
 *     that (peer, vector) directly, the target's rules apply there;
 * <li>a pipe whose write end takes the program's register records (8
 *     bytes: offset, value), which the same thread applies to the peer.
 * </ul>
 * A stop eventfd ends the thread.
 */
final class RootIvshmemChannel implements AutoCloseable {
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);
    private static final int RECORDS_PER_READ = 64;
    /** Linux's default pipe buffer: what can be queued when the program detaches. */
    private static final long PIPE_CAPACITY = 65536;
    private static final ValueLayout.OfInt LE_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Poll slots before the root's doorbell slots: pipe, stop. */
    private static final int PIPE = 0;
    private static final int STOP = 1;
    private static final int FIXED = 2;

    static {
        ONE.set(JAVA_LONG, 0, 1);
    }

    private final RootIvshmemPeer peer;
    private final int[] interruptFds;
    /** The root's own slots on the link, by vector (the link's: not closed here). */
    private final int[] rootSlots;
    private final int vectors;
    private final int[] pipe;
    private final int stopFd;
    private final Thread reader;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closed;

    private RootIvshmemChannel(RootIvshmemPeer peer, int[] interruptFds, int[] pipe, int stopFd) {
        this.peer = peer;
        this.interruptFds = interruptFds;
        this.vectors = interruptFds.length;
        this.rootSlots = peer.link().slotsOf(peer.peerId());
        this.pipe = pipe;
        this.stopFd = stopFd;
        this.reader = Thread.ofPlatform().daemon().name("ivshmem-root-" + PciDevice.formatBdf(peer.link().bdf))
                .unstarted(this::serve);
    }

    /**
     * Creates the descriptors, opens the peer and starts its thread.
     * Doorbells that waited in the root's slots while nothing was attached
     * are dropped: the root's interrupts were off.
     *
     * @throws IllegalStateException if a program is attached already
     */
    static RootIvshmemChannel open(RootIvshmemPeer peer) throws NativeException {
        int n = peer.interruptCount();
        int[] fds = new int[n];
        int[] pipe = {-1, -1};
        int[] control = {-1};
        Arrays.fill(fds, -1);
        try {
            for (int v = 0; v < n; v++) {
                fds[v] = eventFd();
            }
            pipe = Libc.pipe(Libc.O_CLOEXEC);
            control[0] = eventFd();
            RootIvshmemChannel channel = new RootIvshmemChannel(peer, fds, pipe, control[0]);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment counter = a.allocate(JAVA_LONG);
                for (int slot : channel.rootSlots) {
                    Libc.read(slot, counter);
                }
            }
            peer.open(channel::raise);
            try {
                channel.reader.start();
            } catch (Throwable t) { // even an Error (no thread to be had) must not leave the peer taken
                peer.close();
                throw t;
            }
            return channel;
        } catch (Throwable e) {
            closeAll(fds);
            closeAll(pipe);
            closeAll(control);
            throw e;
        }
    }

    private static int eventFd() throws NativeException {
        return Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
    }

    /** The interrupt eventfds by vector. */
    int[] interruptFds() {
        return interruptFds.clone();
    }

    /** The doorbell slots by {@code target * vectors + vector}, -1 for the root's own id. */
    int[] doorbellFds() {
        IvshmemLinks.Link link = peer.link();
        int[] out = new int[peer.maxPeers() * vectors];
        for (int t = 0; t < peer.maxPeers(); t++) {
            for (int v = 0; v < vectors; v++) {
                out[t * vectors + v] = t == peer.peerId() ? -1 : link.slot(t, v);
            }
        }
        return out;
    }

    /** The write end of the register pipe. */
    int registerFd() {
        return pipe[1];
    }

    /**
     * Delivers {@code vector} to the program (any peer's thread: no
     * allocation, no lock). The in-flight count lets {@link #close} wait
     * until no thread can still write to a descriptor it is about to close
     * (whose number the next open could reuse).
     */
    private void raise(int vector) {
        inFlight.incrementAndGet();
        try {
            if (!closed) {
                Libc.write(interruptFds[vector], ONE); // fails only at a counter of 2^64-2: nothing to lose
            }
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /**
     * The channel's thread: the root's doorbell slots, register records
     * from the pipe. The program's setState waits until the state table
     * shows the value, so a doorbell it rings afterwards cannot overtake it.
     */
    private void serve() {
        try (Arena arena = Arena.ofConfined()) {
            Records records = new Records(arena.allocate(RECORDS_PER_READ * IvshmemAttachment.RECORD_BYTES, 8));
            MemorySegment counter = arena.allocate(JAVA_LONG);
            int slots = FIXED + rootSlots.length;
            MemorySegment pollFds = arena.allocate(slots * Libc.POLLFD_BYTES, 8);
            Libc.setPollFd(pollFds, PIPE, pipe[0], Libc.POLLIN);
            Libc.setPollFd(pollFds, STOP, stopFd, Libc.POLLIN);
            for (int v = 0; v < rootSlots.length; v++) {
                Libc.setPollFd(pollFds, FIXED + v, rootSlots[v], Libc.POLLIN);
            }
            while (true) {
                if (Libc.poll(pollFds, slots, -1) < 0) {
                    continue; // EINTR
                }
                for (int v = 0; v < rootSlots.length; v++) {
                    if ((Libc.pollEvents(pollFds, FIXED + v) & Libc.POLLIN) != 0
                            && Libc.read(rootSlots[v], counter) == 8) {
                        peer.trigger(v); // doorbells rung several times before the read coalesce, as on a device
                    }
                }
                if ((Libc.pollEvents(pollFds, PIPE) & Libc.POLLIN) != 0) {
                    records.readFrom(pipe[0]);
                }
                if (Libc.pollEvents(pollFds, STOP) != 0) {
                    // what the program wrote before it detached is applied, as posted writes are; bounded by
                    // a pipe's capacity, so a writer that keeps writing cannot hold off the stop
                    long drained = 0;
                    while (drained < PIPE_CAPACITY && Libc.poll(pollFds, 1, 0) > 0
                            && (Libc.pollEvents(pollFds, PIPE) & Libc.POLLIN) != 0) {
                        long n = records.readFrom(pipe[0]);
                        drained += Math.max(n, 1);
                    }
                    return;
                }
            }
        }
    }

    /** Register records as they come out of the pipe, a record split across reads carried over. */
    private final class Records {
        private final MemorySegment buffer;
        private int carried; // only a misbehaving writer splits a record

        Records(MemorySegment buffer) {
            this.buffer = buffer;
        }

        /** One read; applies the whole records. Returns the bytes read (or a negated errno). */
        long readFrom(int fd) {
            long n = Libc.read(fd, carried == 0 ? buffer : buffer.asSlice(carried));
            if (n <= 0) {
                return n; // EINTR, EAGAIN; end of file cannot happen while we hold the write end
            }
            int total = carried + (int) n;
            int whole = total - total % IvshmemAttachment.RECORD_BYTES;
            for (int at = 0; at < whole; at += IvshmemAttachment.RECORD_BYTES) {
                peer.writeRegister(buffer.get(LE_INT, at), buffer.get(LE_INT, at + 4));
            }
            carried = total - whole;
            if (carried > 0) {
                MemorySegment.copy(buffer, whole, buffer, 0, carried);
            }
            return n;
        }
    }

    /** Stops the thread, resets the peer (interrupts off, state 0) and closes the descriptors. */
    @Override
    public void close() {
        Libc.write(stopFd, ONE);
        boolean interrupted = false;
        while (true) { // the thread must be gone before the peer resets and the descriptors close
            try {
                reader.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        peer.close();
        closed = true;
        while (inFlight.get() != 0) {
            Thread.onSpinWait();
        }
        closeAll(interruptFds);
        closeAll(pipe);
        closeAll(new int[] {stopFd});
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            if (fd >= 0) {
                try {
                    Libc.close(fd);
                } catch (NativeException ignored) {
                    // Nothing to do about a descriptor that will not close.
                }
            }
        }
    }
}
