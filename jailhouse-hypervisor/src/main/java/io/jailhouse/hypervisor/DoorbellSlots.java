package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.pci.IvshmemLink;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The doorbell slots of one ivshmem link in this process: for every peer id
 * below {@code shmem_peers} and every vector (one for an INTx-only link),
 * the eventfd the supervisor made for it. Whoever rings (peer, vector)
 * signals that eventfd: the kernel for a matching DOORBELL write
 * (ioeventfd), this process for everything the Java path decides, the
 * supervisor and root-cell programs for the root's doorbells. Its owner
 * (the peer with that id) takes them from there: the kernel through an
 * irqfd while the vector is wired, {@link DoorbellWatch} while it is not.
 */
final class DoorbellSlots implements IvshmemLink.RemotePeers, AutoCloseable {
    private static final MemorySegment ONE = Arena.global().allocate(ValueLayout.JAVA_LONG);

    static {
        ONE.set(ValueLayout.JAVA_LONG, 0, 1);
    }

    private final int peers;
    private final int vectors;
    private final int[] fds;

    /**
     * @param fds the eventfds by peer id, then vector ({@code peers * vectors}); owned from now on
     */
    DoorbellSlots(int peers, int vectors, int[] fds) {
        if (peers < 1 || vectors < 1 || fds.length != peers * vectors) {
            throw new IllegalArgumentException(fds.length + " doorbell slots for " + peers + " peers and "
                    + vectors + " vectors");
        }
        this.peers = peers;
        this.vectors = vectors;
        this.fds = fds.clone();
    }

    int peers() {
        return peers;
    }

    int vectors() {
        return vectors;
    }

    /** The eventfd of (peer, vector). */
    int fd(int peer, int vector) {
        return fds[peer * vectors + vector];
    }

    /** All eventfds, by peer id then vector (for the supervisor that adopts this cell). */
    int[] fds() {
        return fds.clone();
    }

    @Override
    public void ring(int target, int vector) {
        if (target < peers && vector < vectors) {
            Libc.write(fds[target * vectors + vector], ONE); // EAGAIN at a full counter: rung enough
        }
    }

    private boolean closed;

    /** Closes the eventfds; closing again does nothing. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            closeAll(fds);
        }
    }

    static void closeAll(int[] fds) {
        for (int fd : fds) {
            try {
                Libc.close(fd);
            } catch (NativeException ignored) {
                // Nothing to do about an eventfd that will not close.
            }
        }
    }
}
