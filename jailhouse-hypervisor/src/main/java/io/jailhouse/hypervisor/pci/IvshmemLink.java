package io.jailhouse.hypervisor.pci;

import io.jailhouse.boundary.PciAdmission;
import io.jailhouse.config.PciDevice;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One ivshmem link as a cell process sees it (spec 6.5): the ivshmem
 * devices with its BDF that live here, by peer id (one in a cell process;
 * tests put several side by side), and the way to every other peer
 * ({@link RemotePeers}: in production the eventfd of each (peer, vector)
 * doorbell slot, which other processes and the kernel signal too).
 * Doorbells and state changes find their targets here without a lock or an
 * allocation; devices join with {@link #attach} and leave with
 * {@link #detach} on the management thread.
 */
public final class IvshmemLink {
    /** Peers per link (upstream's implementation limit). */
    public static final int MAX_PEERS = PciAdmission.MAX_PEERS;

    private static final VarHandle STATE_ENTRY = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    /** How a ring reaches a peer that does not live in this process. */
    @FunctionalInterface
    public interface RemotePeers {
        /** Raises {@code vector} of peer {@code target}; lock-free and allocation-free, on any thread. */
        void ring(int target, int vector);

        /** Nobody else: every peer lives here (tests). */
        RemotePeers NONE = (target, vector) -> {
        };
    }

    private final int bdf;
    private final DoorbellRouting routing;
    private final RemotePeers remote;
    private final AtomicReferenceArray<IvshmemDevice> peers = new AtomicReferenceArray<>(MAX_PEERS);

    /**
     * @param routing where routing changes of this link's devices go ({@link DoorbellRouting#NONE}: Java path only)
     * @param remote how rings reach the peers that are not attached here
     */
    public IvshmemLink(int bdf, DoorbellRouting routing, RemotePeers remote) {
        this.bdf = bdf;
        this.routing = Objects.requireNonNull(routing, "routing");
        this.remote = Objects.requireNonNull(remote, "remote");
    }

    /** A link whose peers all live here. */
    public IvshmemLink(int bdf, DoorbellRouting routing) {
        this(bdf, routing, RemotePeers.NONE);
    }

    public int bdf() {
        return bdf;
    }

    public DoorbellRouting routing() {
        return routing;
    }

    /** The device attached here with id {@code id}, or null (also for ids of 12 and more). Lock-free. */
    public IvshmemDevice peer(int id) {
        return id >= 0 && id < MAX_PEERS ? peers.get(id) : null;
    }

    /**
     * Joins {@code device} to the link (the state table is the supervisor's
     * to clear when a link first forms). Reset the device afterwards.
     *
     * @throws IllegalStateException if its peer id is taken here or it belongs to another link
     */
    public synchronized void attach(IvshmemDevice device) {
        if (device.link() != this) {
            throw new IllegalStateException(device + " belongs to another link");
        }
        int id = device.peerId();
        if (peers.get(id) != null) {
            throw new IllegalStateException("peer id " + id + " of ivshmem link " + PciDevice.formatBdf(bdf)
                    + " is taken by " + peers.get(id));
        }
        peers.set(id, device);
    }

    /**
     * Takes {@code device} off the link (cell destruction): its routes go
     * and its state entry becomes 0 (which raises vector 0 on the others if
     * it was not).
     */
    public synchronized void detach(IvshmemDevice device) {
        if (peers.compareAndSet(device.peerId(), device, null)) {
            device.disconnected();
        }
    }

    /**
     * {@code sender} wrote {@code value} to its DOORBELL (spec 6.2): ignored
     * when the vector is not below the sender's vector count (1 for INTx) or
     * the target is 12 or more; an absent target ignores it.
     */
    void ring(IvshmemDevice sender, int value) {
        int vector = value & 0xffff;
        int target = value >>> 16;
        if (vector >= Math.max(sender.vectors(), 1) || target >= MAX_PEERS) {
            return;
        }
        deliver(target, vector);
    }

    private void deliver(int target, int vector) {
        IvshmemDevice t = peers.get(target);
        if (t != null) {
            t.trigger(vector);
        } else {
            remote.ring(target, vector);
        }
    }

    /** Stores {@code sender}'s new state in its state table slot and, if it changed, raises vector 0 on the others. */
    void publishState(IvshmemDevice sender, int old, int now) {
        STATE_ENTRY.setVolatile(sender.stateTable(), 4L * sender.peerId(), now);
        if (old != now) {
            for (int id = 0; id < sender.maxPeers(); id++) {
                if (id != sender.peerId()) {
                    deliver(id, 0);
                }
            }
        }
    }
}
