package io.jailhouse.hypervisor.pci;

import java.lang.foreign.MemorySegment;

/**
 * One peer of an ivshmem link: a non-root cell's virtual PCI function
 * ({@link IvshmemDevice}) or the root cell's device, which a host program
 * drives ({@link RootIvshmemPeer}). The link finds peers by id and delivers
 * doorbells and state changes through {@link #trigger}.
 */
public sealed interface IvshmemPeer permits IvshmemDevice, RootIvshmemPeer {
    /** The name of the cell the peer belongs to. */
    String cellName();

    IvshmemLink link();

    /** {@code shmem_dev_id}. */
    int peerId();

    /** {@code shmem_peers}. */
    int maxPeers();

    /** {@code num_msix_vectors}: 0 for an INTx-only device. */
    int vectors();

    /** The peer's STATE register. */
    int state();

    /** The peer's view of the state table page. */
    MemorySegment stateTable();

    /**
     * A peer (possibly this one) rings {@code vector} of this peer; the
     * delivery rules of spec 6.2 apply. Called on any peer's thread:
     * lock-free and allocation-free.
     */
    void trigger(int vector);

    /** Called by {@link IvshmemLink#detach} once the slot is free: interrupts off, state 0. */
    void disconnected();
}
