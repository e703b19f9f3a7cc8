package io.jailhouse.hypervisor;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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

/**
 * The descriptors that connect a host program to the root cell's peer of an
 * ivshmem link while it is attached: one eventfd per interrupt vector
 * (signalled by the kernel for wired doorbells, by {@link #raise} for the
 * rest) and a pipe whose write end the program writes its register records
 * into. One platform thread reads the pipe and applies the records to the
 * peer; a stop eventfd ends it.
 */
final class RootIvshmemChannel implements AutoCloseable {
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);
    private static final int RECORDS_PER_READ = 64;
    /** Linux's default pipe buffer: what can be queued when the program detaches. */
    private static final long PIPE_CAPACITY = 65536;
    private static final ValueLayout.OfInt LE_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static {
        ONE.set(JAVA_LONG, 0, 1);
    }

    private final RootIvshmemPeer peer;
    private final KernelDoorbells doorbells;
    private final int[] interruptFds;
    private final int[] pipe;
    private final int stopFd;
    private final Thread reader;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closed;

    private RootIvshmemChannel(RootIvshmemPeer peer, KernelDoorbells doorbells, int[] interruptFds, int[] pipe,
            int stopFd) {
        this.peer = peer;
        this.doorbells = doorbells;
        this.interruptFds = interruptFds;
        this.pipe = pipe;
        this.stopFd = stopFd;
        this.reader = Thread.ofPlatform().daemon().name("ivshmem-root-" + Pci.formatBdf(peer.link().bdf()))
                .unstarted(this::readRegisters);
    }

    /**
     * Creates the descriptors, opens the peer and starts reading registers.
     *
     * @throws IllegalStateException if a program is attached already
     */
    static RootIvshmemChannel open(RootIvshmemPeer peer, KernelDoorbells doorbells) throws NativeException {
        int[] fds = new int[peer.interruptCount()];
        Arrays.fill(fds, -1);
        int[] pipe = null;
        int stop = -1;
        try {
            for (int v = 0; v < fds.length; v++) {
                fds[v] = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            }
            pipe = Libc.pipe(Libc.O_CLOEXEC);
            stop = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            RootIvshmemChannel channel = new RootIvshmemChannel(peer, doorbells, fds, pipe, stop);
            peer.open(channel::raise);
            try {
                doorbells.registerRoot(peer, fds);
                channel.reader.start();
            } catch (Throwable t) { // even an Error (no thread to be had) must not leave the peer taken
                peer.close();
                doorbells.forgetRoot(peer);
                throw t;
            }
            return channel;
        } catch (Throwable e) {
            closeAll(fds);
            if (pipe != null) {
                closeAll(pipe);
            }
            closeAll(new int[] {stop});
            throw e;
        }
    }

    RootIvshmemPeer peer() {
        return peer;
    }

    /** The daemon's interrupt eventfds by vector. */
    int[] interruptFds() {
        return interruptFds.clone();
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

    private void readRegisters() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(RECORDS_PER_READ * IvshmemAttachment.RECORD_BYTES, 8);
            MemorySegment pollFds = arena.allocate(2 * Libc.POLLFD_BYTES, 8);
            Libc.setPollFd(pollFds, 0, pipe[0], Libc.POLLIN);
            Libc.setPollFd(pollFds, 1, stopFd, Libc.POLLIN);
            int carried = 0; // bytes of a record split across reads (only a misbehaving writer splits them)
            boolean stopping = false;
            long drain = 0; // bytes read since the stop: at most a pipe's capacity, so a writer cannot hold off the stop
            while (true) {
                int ready = Libc.poll(pollFds, stopping ? 1 : 2, stopping ? 0 : -1);
                if (ready < 0) {
                    continue; // EINTR
                }
                if (!stopping && Libc.pollEvents(pollFds, 1) != 0) {
                    stopping = true; // apply what the program wrote before it detached, as posted writes are
                    continue;
                }
                if (stopping && ((Libc.pollEvents(pollFds, 0) & Libc.POLLIN) == 0 || drain >= PIPE_CAPACITY)) {
                    return;
                }
                long n = Libc.read(pipe[0], carried == 0 ? buffer : buffer.asSlice(carried));
                if (n <= 0) {
                    continue; // EINTR, EAGAIN; end of file cannot happen while we hold the write end
                }
                drain += stopping ? n : 0;
                int total = carried + (int) n;
                int whole = total - total % IvshmemAttachment.RECORD_BYTES;
                for (int at = 0; at < whole; at += IvshmemAttachment.RECORD_BYTES) {
                    peer.writeRegister(buffer.get(LE_INT, at), buffer.get(LE_INT, at + 4));
                }
                carried = total - whole;
                if (carried > 0) {
                    MemorySegment.copy(buffer, whole, buffer, 0, carried);
                }
            }
        }
    }

    /** Stops the reader, resets the peer (interrupts off and unwired, state 0) and closes the descriptors. */
    @Override
    public void close() {
        Libc.write(stopFd, ONE);
        boolean interrupted = false;
        while (true) { // the reader must be gone before the peer resets and the descriptors close
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
