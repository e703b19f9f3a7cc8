package io.jailhouse.daemon;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.boundary.PciAdmission;
import io.jailhouse.boundary.PciConfigException;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The root cell's side of its ivshmem links: a peer for each ivshmem device
 * of the system config, on its link from enable to close, and the host
 * programs attached to them (docs/ivshmem.md). The caller serializes the
 * calls (the hypervisor's admission lock).
 */
final class RootIvshmem {
    private static final ValueLayout.OfInt STATE_ENTRY = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final CellConfig root;
    private final ReservedMemory memory;
    private final IvshmemLinks links;
    /** The root's views of its state tables (its own ivshmem pages, the only reserved memory mapped here). */
    private final List<MemoryMapping> tables = new ArrayList<>();
    /** The root's peers, by BDF. */
    private final Map<Integer, RootIvshmemPeer> peers = new LinkedHashMap<>();
    /** Host programs attached to peers, by BDF. */
    private final Map<Integer, RootIvshmemChannel> channels = new LinkedHashMap<>();

    private RootIvshmem(CellConfig root, ReservedMemory memory, IvshmemLinks links) {
        this.root = root;
        this.memory = memory;
        this.links = links;
    }

    /**
     * Puts the root cell's peer on each of its ivshmem links, after checking
     * the root's entries as a cell's are checked at create (and that their
     * sections lie in the reserved memory, which is where a host program maps
     * them from).
     *
     * @param links the hypervisor's links
     * @param console where the peers' arrival is announced
     */
    static RootIvshmem join(CellConfig root, ReservedMemory memory, IvshmemLinks links, Consumer<String> console)
            throws HypervisorException {
        RootIvshmem r = new RootIvshmem(root, memory, links);
        List<PciDevice> devices = root.pciDevices();
        for (int i = 0; i < devices.size(); i++) {
            PciDevice d = devices.get(i);
            if (!d.isIvshmem()) {
                continue;
            }
            try {
                PciAdmission.validateLink(PciAdmission.members(d.bdf(), List.of(root)));
            } catch (PciConfigException e) {
                throw new HypervisorException(Errno.EINVAL, "invalid system config: " + e.getMessage());
            }
            int start = (int) d.shmemRegionsStart();
            for (int k = 0; k < 2 + d.shmemPeers(); k++) {
                MemoryRegion m = root.memoryRegions().get(start + k);
                String pages = m.size() != 0 && memory.contains(m.physStart(), m.size())
                        ? memory.pageProblem(m.physStart(), m.size()) : null;
                if (pages != null) {
                    throw new HypervisorException(Errno.EINVAL, "system config: " + PciAdmission.describe(root, i)
                            + ", ivshmem: memory region " + (start + k) + " (phys 0x" + Long.toHexString(m.physStart())
                            + ", size 0x" + Long.toHexString(m.size()) + "): " + pages);
                }
                if (m.size() != 0 && !memory.contains(m.physStart(), m.size())) {
                    throw new HypervisorException(Errno.EINVAL, "invalid system config: "
                            + PciAdmission.describe(root, i) + ", ivshmem: memory region " + (start + k)
                            + " (phys 0x" + Long.toHexString(m.physStart()) + ", size 0x" + Long.toHexString(m.size())
                            + ") lies outside the reserved memory (0x0-0x" + Long.toHexString(memory.size() - 1) + ")");
                }
            }
            MemoryMapping table;
            try {
                table = memory.map(root.memoryRegions().get(start).physStart(), MemoryRegion.PAGE_SIZE, true);
            } catch (NativeException e) {
                r.close();
                throw new HypervisorException(e.errno(), "ivshmem " + PciDevice.formatBdf(d.bdf()) + ": "
                        + e.getMessage(), e);
            }
            r.tables.add(table);
            for (String line : links.join(root, i)) {
                console.accept(line + "\n");
            }
            RootIvshmemPeer peer = new RootIvshmemPeer(root, i, links.link(d.bdf()), table.segment());
            peer.clearStaleState();
            r.peers.put(d.bdf(), peer);
        }
        return r;
    }

    /** Each link with its peers and their states, as the root's state table shows them. */
    List<IvshmemLinkStatus> status() {
        List<IvshmemLinkStatus> out = new ArrayList<>();
        for (RootIvshmemPeer peer : peers.values()) {
            List<IvshmemLinkStatus.Peer> on = new ArrayList<>();
            for (int id = 0; id < peer.maxPeers(); id++) {
                String member = peer.link().member(id);
                if (member != null) {
                    on.add(new IvshmemLinkStatus.Peer(id, member,
                            peer.stateTable().get(STATE_ENTRY, 4L * id) & 0xffff_ffffL));
                }
            }
            PciDevice d = device(peer.link().bdf);
            out.add(new IvshmemLinkStatus(peer.link().bdf, peer.peerId(), peer.maxPeers(), peer.vectors(),
                    d.shmemProtocol() & 0xffff, peer.isOpen(), on));
        }
        return out;
    }

    private PciDevice device(int bdf) {
        for (PciDevice d : root.pciDevices()) {
            if (d.isIvshmem() && d.bdf() == bdf) {
                return d;
            }
        }
        throw new IllegalStateException("no root ivshmem device " + PciDevice.formatBdf(bdf));
    }

    private RootIvshmemPeer peer(int bdf) throws HypervisorException {
        RootIvshmemPeer peer = peers.get(bdf);
        if (peer == null) {
            List<String> known = new ArrayList<>();
            peers.keySet().forEach(b -> known.add(PciDevice.formatBdf(b)));
            throw new HypervisorException(Errno.ENOENT, "the root cell has no ivshmem device " + PciDevice.formatBdf(bdf)
                    + (known.isEmpty() ? " (it has none)" : " (it has " + String.join(", ", known) + ")"));
        }
        return peer;
    }

    /** Attaches a host program as the root's peer of link {@code bdf}: what it needs to map and signal. */
    IvshmemAttachment attach(int bdf, Consumer<String> console) throws HypervisorException {
        RootIvshmemPeer peer = peer(bdf);
        if (channels.containsKey(bdf)) {
            throw new HypervisorException(Errno.EBUSY, "a program is attached to the root cell's ivshmem device "
                    + PciDevice.formatBdf(bdf) + " already");
        }
        RootIvshmemChannel channel;
        try {
            channel = RootIvshmemChannel.open(peer);
        } catch (NativeException e) {
            throw new HypervisorException(e.errno(), "ivshmem " + PciDevice.formatBdf(bdf) + ": " + e.getMessage(), e);
        }
        channels.put(bdf, channel);
        console.accept("Root cell program attached to ivshmem " + PciDevice.formatBdf(bdf) + " as peer " + peer.peerId()
                + "\n");
        PciDevice d = device(bdf);
        int start = (int) d.shmemRegionsStart();
        List<IvshmemAttachment.Section> outputs = new ArrayList<>();
        for (int k = 0; k < d.shmemPeers(); k++) {
            outputs.add(section(root.memoryRegions().get(start + 2 + k)));
        }
        List<Integer> fds = new ArrayList<>();
        for (int fd : channel.interruptFds()) {
            fds.add(fd);
        }
        int[] bells = channel.doorbellFds();
        List<List<Integer>> doorbellFds = new ArrayList<>();
        for (int t = 0; t < peer.maxPeers(); t++) {
            List<Integer> row = new ArrayList<>();
            for (int v = 0; v < fds.size(); v++) {
                row.add(bells[t * fds.size() + v]);
            }
            doorbellFds.add(row);
        }
        return new IvshmemAttachment(bdf, peer.peerId(), peer.maxPeers(), peer.vectors(), d.shmemProtocol() & 0xffff,
                memory.file(), section(root.memoryRegions().get(start)), section(root.memoryRegions().get(start + 1)),
                outputs, channel.registerFd(), fds, doorbellFds);
    }

    private static IvshmemAttachment.Section section(MemoryRegion r) {
        return new IvshmemAttachment.Section(r.physStart(), r.size());
    }

    /** Detaches the program attached to the root's peer of link {@code bdf}. */
    void detach(int bdf, Consumer<String> console) throws HypervisorException {
        RootIvshmemChannel channel = channels.remove(bdf);
        if (channel == null) {
            peer(bdf);
            throw new HypervisorException(Errno.ENOENT, "no program is attached to the root cell's ivshmem device "
                    + PciDevice.formatBdf(bdf));
        }
        channel.close();
        console.accept("Root cell program detached from ivshmem " + PciDevice.formatBdf(bdf) + "\n");
    }

    /** Whether the root's ivshmem sections hold pages of {@code r} (which a destroyed cell then does not clear). */
    boolean shares(MemoryRegion r) {
        return sections().stream().anyMatch(s -> s.overlapsPhys(r));
    }

    /** The root's ivshmem sections (the memory its peers and attached programs use). */
    List<MemoryRegion> sections() {
        List<MemoryRegion> out = new ArrayList<>();
        for (RootIvshmemPeer peer : peers.values()) {
            PciDevice d = device(peer.link().bdf);
            for (int k = 0; k < 2 + d.shmemPeers(); k++) {
                out.add(root.memoryRegions().get((int) d.shmemRegionsStart() + k));
            }
        }
        return out;
    }

    /** Detaches every program and unmaps the state tables (hypervisor close). */
    void close() {
        for (RootIvshmemChannel channel : channels.values()) {
            channel.close();
        }
        channels.clear();
        tables.forEach(MemoryMapping::close);
        tables.clear();
    }
}
