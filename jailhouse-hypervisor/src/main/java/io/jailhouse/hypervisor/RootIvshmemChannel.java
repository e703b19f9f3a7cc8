package io.jailhouse.hypervisor;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.hypervisor.pci.Pci;
import io.jailhouse.hypervisor.pci.RootIvshmemPeer;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import io.jailhouse.protocol.IvshmemAttachment;

/**
 * The descriptors that connect a host program to the root cell's peer of an
 * ivshmem link while it is attached:
 * <ul>
 * <li>one interrupt eventfd per vector, signalled by the kernel for wired
 *     doorbells of cells and by {@link #raise} for the rest;
 * <li>one doorbell eventfd per (other peer, vector): while the cell's
 *     vector is wired it is an irqfd of that cell (see
 *     {@link KernelDoorbells.RootDoorbells}), else this channel's thread
 *     reads it and rings through the device model;
 * <li>a pipe whose write end takes the program's register records (8
 *     bytes: offset, value), which the same thread applies to the peer.
 * </ul>
 * A stop eventfd ends the thread, a refresh eventfd tells it which doorbell
 * eventfds to watch.
 */
final class RootIvshmemChannel implements AutoCloseable, KernelDoorbells.RootDoorbells {
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);
    private static final int RECORDS_PER_READ = 64;
    /** Linux's default pipe buffer: what can be queued when the program detaches. */
    private static final long PIPE_CAPACITY = 65536;
    private static final ValueLayout.OfInt LE_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Poll slots before the watched doorbells: pipe, stop, refresh. */
    private static final int PIPE = 0;
    private static final int STOP = 1;
    private static final int REFRESH = 2;
    private static final int FIXED = 3;

    static {
        ONE.set(JAVA_LONG, 0, 1);
    }

    private final RootIvshmemPeer peer;
    private final KernelDoorbells doorbells;
    private final int[] interruptFds;
    /** By {@code target * vectors + vector}; -1 for the root's own id. */
    private final int[] doorbellFds;
    /** 1 where the thread reads the doorbell eventfd, 0 where the kernel does. */
    private final AtomicIntegerArray watched;
    private final int vectors;
    private final int[] pipe;
    private final int stopFd;
    private final int refreshFd;
    private final Thread reader;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closed;

    private RootIvshmemChannel(RootIvshmemPeer peer, KernelDoorbells doorbells, int[] interruptFds,
            int[] doorbellFds, int[] pipe, int stopFd, int refreshFd) {
        this.peer = peer;
        this.doorbells = doorbells;
        this.interruptFds = interruptFds;
        this.doorbellFds = doorbellFds;
        this.vectors = interruptFds.length;
        this.watched = new AtomicIntegerArray(doorbellFds.length);
        for (int i = 0; i < doorbellFds.length; i++) {
            watched.set(i, doorbellFds[i] >= 0 ? 1 : 0);
        }
        this.pipe = pipe;
        this.stopFd = stopFd;
        this.refreshFd = refreshFd;
        this.reader = Thread.ofPlatform().daemon().name("ivshmem-root-" + Pci.formatBdf(peer.link().bdf()))
                .unstarted(this::serve);
    }

    /**
     * Creates the descriptors, opens the peer and starts its thread.
     *
     * @throws IllegalStateException if a program is attached already
     */
    static RootIvshmemChannel open(RootIvshmemPeer peer, KernelDoorbells doorbells) throws NativeException {
        int n = peer.interruptCount();
        int[] fds = new int[n];
        int[] bells = new int[peer.maxPeers() * n];
        int[] pipe = {-1, -1};
        int[] control = {-1, -1};
        Arrays.fill(fds, -1);
        Arrays.fill(bells, -1);
        try {
            for (int v = 0; v < n; v++) {
                fds[v] = eventFd();
            }
            for (int t = 0; t < peer.maxPeers(); t++) {
                for (int v = 0; t != peer.peerId() && v < n; v++) {
                    bells[t * n + v] = eventFd();
                }
            }
            pipe = Libc.pipe(Libc.O_CLOEXEC);
            control[0] = eventFd();
            control[1] = eventFd();
            RootIvshmemChannel channel = new RootIvshmemChannel(peer, doorbells, fds, bells, pipe, control[0],
                    control[1]);
            peer.open(channel::raise);
            try {
                doorbells.registerRoot(peer, fds, channel);
                channel.reader.start();
            } catch (Throwable t) { // even an Error (no thread to be had) must not leave the peer taken
                peer.close();
                doorbells.forgetRoot(peer);
                throw t;
            }
            return channel;
        } catch (Throwable e) {
            closeAll(fds);
            closeAll(bells);
            closeAll(pipe);
            closeAll(control);
            throw e;
        }
    }

    private static int eventFd() throws NativeException {
        return Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
    }

    /** The daemon's interrupt eventfds by vector. */
    int[] interruptFds() {
        return interruptFds.clone();
    }

    /** The doorbell eventfds by {@code target * vectors + vector}, -1 for the root's own id. */
    int[] doorbellFds() {
        return doorbellFds.clone();
    }

    /** The write end of the register pipe. */
    int registerFd() {
        return pipe[1];
    }

    @Override
    public int fd(int target, int vector) {
        return target >= 0 && target < peer.maxPeers() && vector >= 0 && vector < vectors
                ? doorbellFds[target * vectors + vector] : -1;
    }

    @Override
    public void watch(int target, int vector, boolean on) {
        int i = target * vectors + vector;
        if (doorbellFds[i] >= 0 && watched.getAndSet(i, on ? 1 : 0) != (on ? 1 : 0) && !closed) {
            Libc.write(refreshFd, ONE);
        }
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
     * The channel's thread: doorbells from the watched eventfds, register
     * records from the pipe. The program's setState waits until the state
     * table shows the value, so a doorbell it rings afterwards cannot
     * overtake it.
     */
    private void serve() {
        try (Arena arena = Arena.ofConfined()) {
            Records records = new Records(arena.allocate(RECORDS_PER_READ * IvshmemAttachment.RECORD_BYTES, 8));
            MemorySegment counter = arena.allocate(JAVA_LONG);
            MemorySegment pollFds = arena.allocate((FIXED + doorbellFds.length) * Libc.POLLFD_BYTES, 8);
            int[] doorbellAt = new int[FIXED + doorbellFds.length]; // poll slot -> doorbell index
            Libc.setPollFd(pollFds, PIPE, pipe[0], Libc.POLLIN);
            Libc.setPollFd(pollFds, STOP, stopFd, Libc.POLLIN);
            Libc.setPollFd(pollFds, REFRESH, refreshFd, Libc.POLLIN);
            int slots = watchList(pollFds, doorbellAt);
            while (true) {
                if (Libc.poll(pollFds, slots, -1) < 0) {
                    continue; // EINTR
                }
                ringWatched(pollFds, slots, doorbellAt, counter, false);
                if ((Libc.pollEvents(pollFds, PIPE) & Libc.POLLIN) != 0) {
                    records.readFrom(pipe[0]);
                }
                if (Libc.pollEvents(pollFds, REFRESH) != 0) {
                    Libc.read(refreshFd, counter);
                    ringWatched(pollFds, slots, doorbellAt, counter, true); // the old list's last doorbells
                    slots = watchList(pollFds, doorbellAt);
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
                    slots = watchList(pollFds, doorbellAt);
                    ringWatched(pollFds, slots, doorbellAt, counter, true);
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

    /** Fills the poll slots after the fixed ones with the watched doorbell eventfds; returns the slot count. */
    private int watchList(MemorySegment pollFds, int[] doorbellAt) {
        int slots = FIXED;
        for (int i = 0; i < doorbellFds.length; i++) {
            if (watched.get(i) != 0) {
                Libc.setPollFd(pollFds, slots, doorbellFds[i], Libc.POLLIN);
                doorbellAt[slots++] = i;
            }
        }
        return slots;
    }

    /**
     * Rings through the device model for every watched doorbell eventfd that
     * has a count ({@code all}: read each without asking poll). Doorbells
     * rung several times before the read ring once, as interrupts of one
     * vector coalesce on the device.
     */
    private void ringWatched(MemorySegment pollFds, int slots, int[] doorbellAt, MemorySegment counter,
            boolean all) {
        for (int s = FIXED; s < slots; s++) {
            if (all || (Libc.pollEvents(pollFds, s) & Libc.POLLIN) != 0) {
                int i = doorbellAt[s];
                if (Libc.read(doorbellFds[i], counter) == 8) {
                    peer.writeRegister(IvshmemDevice.REG_DOORBELL, (i / vectors) << 16 | (i % vectors));
                }
            }
        }
    }

    /** Stops the thread, resets the peer (interrupts off and unwired, state 0) and closes the descriptors. */
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
        doorbells.forgetRoot(peer);
        closed = true;
        while (inFlight.get() != 0) {
            Thread.onSpinWait();
        }
        closeAll(interruptFds);
        closeAll(doorbellFds);
        closeAll(pipe);
        closeAll(new int[] {stopFd, refreshFd});
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
