package io.jailhouse.protocol;

import java.nio.file.Path;
import java.util.List;

/**
 * What a host program needs to act as the root cell's peer of an ivshmem
 * link (docs/ivshmem.md): the device's identity, where the shared sections
 * lie in the reserved-memory file, and descriptors that come with the
 * daemon's reply (SCM_RIGHTS): the register pipe (8-byte records:
 * little-endian u32 BAR0 offset, u32 value), one interrupt eventfd per
 * vector, and one doorbell eventfd per (other peer, vector): writing 1 to it
 * rings that vector of that peer. The descriptors are the holder's: the
 * daemon's when it sends, the program's once received.
 *
 * @param bdf the link's BDF
 * @param peerId the root's {@code shmem_dev_id}
 * @param vectors {@code num_msix_vectors} of the root's entry (0: INTx only, one interrupt)
 * @param protocol {@code shmem_protocol}
 * @param memoryFile the reserved-memory file; section offsets are offsets in it
 * @param stateTable the state table (map it read-only)
 * @param readWrite the R/W section (size 0 when absent)
 * @param outputs the output sections by peer id (only the root's own is writable)
 * @param registerFd the write end of the register pipe
 * @param interruptFds the interrupt eventfds by vector
 * @param doorbellFds the doorbell eventfds, by peer id and then vector; -1
 *        for the root's own id
 */
public record IvshmemAttachment(int bdf, int peerId, int maxPeers, int vectors, int protocol, Path memoryFile,
        Section stateTable, Section readWrite, List<Section> outputs, int registerFd,
        List<Integer> interruptFds, List<List<Integer>> doorbellFds) {
    /** Bytes per register record: u32 offset, u32 value, little-endian. */
    public static final int RECORD_BYTES = 8;

    /** A shared-memory section: {@code size} bytes at {@code offset} of the memory file. */
    public record Section(long offset, long size) {
    }

    public IvshmemAttachment {
        outputs = List.copyOf(outputs);
        interruptFds = List.copyOf(interruptFds);
        doorbellFds = doorbellFds.stream().map(List::copyOf).toList();
    }
}
