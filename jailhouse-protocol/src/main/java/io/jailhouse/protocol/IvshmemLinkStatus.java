package io.jailhouse.protocol;

import java.util.List;

/**
 * One ivshmem link of the root cell, as {@code jailhouse ivshmem list}
 * shows it.
 *
 * @param bdf the link's BDF
 * @param rootPeerId the root's peer id on it
 * @param maxPeers {@code shmem_peers}
 * @param vectors the root entry's {@code num_msix_vectors}
 * @param protocol {@code shmem_protocol}
 * @param attached whether a host program is attached as the root's peer
 * @param peers the peers on the link now, by id, the root included
 */
public record IvshmemLinkStatus(int bdf, int rootPeerId, int maxPeers, int vectors, int protocol, boolean attached,
        List<Peer> peers) {
    /** A peer: its id, its cell and its state table entry. */
    public record Peer(int id, String cell, long state) {
    }

    public IvshmemLinkStatus {
        peers = List.copyOf(peers);
    }
}
