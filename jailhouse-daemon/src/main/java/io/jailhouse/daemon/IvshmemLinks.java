package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The supervisor's ivshmem links: for every BDF some cell (or the root) has
 * an ivshmem device at, which peers are on it and the link's doorbell
 * slots: one eventfd per (peer id, vector), made when the link forms and
 * handed to every process on it. Whoever rings (peer, vector) signals that
 * slot; the peer takes it from there (see the cell runtime's
 * DoorbellRouting). The slots stay while the link exists, so a root-cell
 * program's doorbells keep reaching a peer id whichever cell holds it.
 *
 * <p>Called under the hypervisor's admission lock, except {@link Link#ring},
 * which any thread may call.
 */
final class IvshmemLinks {
    private static final MemorySegment ONE = Arena.global().allocate(ValueLayout.JAVA_LONG);

    static {
        ONE.set(ValueLayout.JAVA_LONG, 0, 1);
    }

    /** One link. */
    static final class Link {
        final int bdf;
        final int maxPeers;
        /** Slots per peer: the vector count, one for INTx. */
        final int vectors;
        /** Where the state table lies in the reserved memory. */
        final long stateTable;
        private final int[] slots;
        /** Peers by id: the cell's name, or null. */
        private final String[] members;

        Link(int bdf, int maxPeers, int vectors, long stateTable, int[] slots) {
            this.bdf = bdf;
            this.maxPeers = maxPeers;
            this.vectors = vectors;
            this.stateTable = stateTable;
            this.slots = slots;
            this.members = new String[maxPeers];
        }

        /** The slot eventfd of (peer, vector). */
        int slot(int peer, int vector) {
            return slots[peer * vectors + vector];
        }

        /** The slots of one peer. */
        int[] slotsOf(int peer) {
            int[] out = new int[vectors];
            for (int v = 0; v < vectors; v++) {
                out[v] = slot(peer, v);
            }
            return out;
        }

        /** Every slot, by peer id then vector, as a cell process gets them. */
        int[] allSlots() {
            return slots.clone();
        }

        /** Rings (target, vector); any thread, no allocation. Absent targets' slots are drained when one joins. */
        void ring(int target, int vector) {
            if (target >= 0 && target < maxPeers && vector >= 0 && vector < vectors) {
                Libc.write(slot(target, vector), ONE);
            }
        }

        /** The name of the cell at peer id {@code id}, or null. */
        synchronized String member(int id) {
            return id >= 0 && id < maxPeers ? members[id] : null;
        }

        synchronized boolean empty() {
            for (String m : members) {
                if (m != null) {
                    return false;
                }
            }
            return true;
        }
    }

    private final ReservedMemory memory;
    private final Map<Integer, Link> links = new LinkedHashMap<>();

    IvshmemLinks(ReservedMemory memory) {
        this.memory = memory;
    }

    Link link(int bdf) {
        return links.get(bdf);
    }

    /**
     * Puts PCI device {@code index} of {@code cell} (admitted: PciAdmission
     * checked it against the other peers) on its link, forming the link if
     * it is the first peer (which clears the state table). Stale doorbells
     * in the peer's own slots are dropped: they rang nobody.
     *
     * @return the lines upstream prints for it
     */
    List<String> join(CellConfig cell, int index) throws HypervisorException {
        PciDevice d = cell.pciDevices().get(index);
        Link link = links.get(d.bdf());
        if (link == null) {
            link = form(cell, d);
        }
        List<String> lines = new ArrayList<>();
        lines.add("Adding virtual PCI device " + PciDevice.formatBdf(d.bdf()) + " to cell \"" + cell.name() + "\"");
        List<String> others = new ArrayList<>();
        synchronized (link) {
            for (String m : link.members) {
                if (m != null) {
                    others.add(" \"" + m + "\"");
                }
            }
            if (link.members[d.shmemDevId()] != null) {
                throw new HypervisorException(Errno.EBUSY, "peer id " + d.shmemDevId() + " of ivshmem link "
                        + PciDevice.formatBdf(d.bdf()) + " is held by cell \"" + link.members[d.shmemDevId()] + "\"");
            }
            link.members[d.shmemDevId()] = cell.name();
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment counter = a.allocate(ValueLayout.JAVA_LONG);
            for (int v = 0; v < link.vectors; v++) {
                Libc.read(link.slot(d.shmemDevId(), v), counter);
            }
        }
        if (!others.isEmpty()) {
            lines.add("Shared memory connection established, peer cells:");
            lines.addAll(others);
        }
        return lines;
    }

    /**
     * A running cell's device joins again (a supervisor adopts it): the
     * link forms from the slots its process holds, or, if another adopted
     * peer formed it already, these are the same eventfds and are closed.
     */
    void adopt(CellConfig cell, int index, int[] slots) throws HypervisorException {
        PciDevice d = cell.pciDevices().get(index);
        Link link = links.get(d.bdf());
        int vectors = Math.max(d.numMsixVectors(), 1);
        if (slots.length != d.shmemPeers() * vectors) {
            for (int fd : slots) {
                closeQuietly(fd);
            }
            throw new HypervisorException(Errno.EINVAL, "cell \"" + cell.name() + "\": " + slots.length
                    + " doorbell slots for ivshmem " + PciDevice.formatBdf(d.bdf()));
        }
        if (link == null) {
            MemoryRegion table = cell.memoryRegions().get((int) d.shmemRegionsStart());
            link = new Link(d.bdf(), d.shmemPeers(), vectors, table.physStart(), slots);
            links.put(d.bdf(), link);
        } else {
            for (int fd : slots) {
                closeQuietly(fd);
            }
        }
        synchronized (link) {
            link.members[d.shmemDevId()] = cell.name();
        }
    }

    private Link form(CellConfig cell, PciDevice d) throws HypervisorException {
        int vectors = Math.max(d.numMsixVectors(), 1);
        int[] slots = new int[d.shmemPeers() * vectors];
        int made = 0;
        try {
            for (; made < slots.length; made++) {
                slots[made] = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            }
            MemoryRegion table = cell.memoryRegions().get((int) d.shmemRegionsStart());
            memory.clear(table.physStart(), MemoryRegion.PAGE_SIZE); // a new link: every peer's state is 0
            Link link = new Link(d.bdf(), d.shmemPeers(), vectors, table.physStart(), slots);
            links.put(d.bdf(), link);
            return link;
        } catch (NativeException e) {
            for (int i = 0; i < made; i++) {
                closeQuietly(slots[i]);
            }
            throw new HypervisorException(Errno.ENOMEM, "ivshmem " + PciDevice.formatBdf(d.bdf()) + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Takes peer {@code peerId} of link {@code bdf} off it (its cell is
     * destroyed): its state entry becomes 0, which raises vector 0 on the
     * others if it was not (the cell process did so already unless it
     * died). The last peer to leave takes the link and its slots with it.
     */
    void leave(int bdf, int peerId, String cellName) {
        Link link = links.get(bdf);
        if (link == null) {
            return;
        }
        synchronized (link) {
            if (!cellName.equals(link.members[peerId])) {
                return;
            }
            link.members[peerId] = null;
        }
        try {
            long entry = link.stateTable + 4L * peerId;
            if (memory.readInt(entry) != 0) {
                memory.writeInt(entry, 0);
                for (int id = 0; id < link.maxPeers; id++) {
                    if (id != peerId) {
                        link.ring(id, 0);
                    }
                }
            }
        } catch (NativeException e) {
            // The state table lies in the reserved memory, checked at admission: nothing to do but go on.
        }
        if (link.empty()) {
            links.remove(bdf);
            for (int fd : link.slots) {
                closeQuietly(fd);
            }
        }
    }

    /** The state of peer {@code id} as the link's state table holds it. */
    long state(Link link, int id) {
        try {
            return memory.readInt(link.stateTable + 4L * id) & 0xffff_ffffL;
        } catch (NativeException e) {
            return 0;
        }
    }

    /** Closes every slot (the hypervisor closes). */
    void close() {
        for (Link link : links.values()) {
            for (int fd : link.slots) {
                closeQuietly(fd);
            }
        }
        links.clear();
    }

    private static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (NativeException ignored) {
            // Nothing to do about an eventfd that will not close.
        }
    }
}
