package io.jailhouse.boundary;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The PCI rules a cell config must pass before anything is built for it:
 * its own devices ({@link #checkCell}) and each ivshmem link it joins,
 * against the link's other peers ({@link #validateLink}). The supervisor
 * admits cells by them; the cell process builds only what passed.
 */
public final class PciAdmission {
    /** Peers per link (upstream's implementation limit). */
    public static final int MAX_PEERS = PciDevice.IVSHMEM_MAX_PEERS;
    /** MSI-X vectors an ivshmem device can have. */
    public static final int MAX_VECTORS = PciDevice.IVSHMEM_MAX_MSIX_VECTORS;
    /** Bytes of an ivshmem device's MSI-X region (BAR1): table and pending bits. */
    public static final int MSIX_REGION_SIZE = 0x200;
    static final long PAGE = MemoryRegion.PAGE_SIZE;

    private PciAdmission() {
    }

    /**
     * Checks the PCI devices of a cell config before anything is built: BDFs
     * unique, types known, capability slices inside {@code pci_caps}, every
     * ivshmem device consistent on its own ({@link #validateLink}
     * checks it against its peers), and no physical device (type
     * {@code DEVICE} or {@code BRIDGE}) unless one of {@code emulations}
     * serves it: cells are KVM VMs without pass-through.
     *
     * @throws PciConfigException naming cell, device index, BDF and the problem
     */
    public static void checkCell(CellConfig cell, DeviceEmulations emulations) throws PciConfigException {
        List<PciDevice> devices = cell.pciDevices();
        for (int i = 0; i < devices.size(); i++) {
            PciDevice d = devices.get(i);
            String where = describe(cell, i);
            for (int j = 0; j < i; j++) {
                if (devices.get(j).bdf() == d.bdf()) {
                    throw new PciConfigException(where + " has the BDF of PCI device " + j
                            + "; each BDF may appear once in a cell");
                }
            }
            if ((d.bdf() & ~0xffff) != 0) {
                throw new PciConfigException(where + ": BDF 0x" + Integer.toHexString(d.bdf()) + " exceeds 16 bits");
            }
            long capsEnd = (long) d.capsStart() + d.numCaps();
            if (d.numCaps() > 0 && capsEnd > cell.pciCaps().size()) {
                throw new PciConfigException(where + ": its capabilities " + d.capsStart() + ".." + (capsEnd - 1)
                        + " lie outside the cell's " + cell.pciCaps().size() + " PCI capabilities");
            }
            switch (d.type()) {
                case PciDevice.TYPE_IVSHMEM -> validateLink(List.of(new Member(cell, i)));
                case PciDevice.TYPE_DEVICE, PciDevice.TYPE_BRIDGE -> {
                    if (emulations.modelFor(d) == null) {
                        throw new PciConfigException(where + " is a physical "
                                + (d.type() == PciDevice.TYPE_BRIDGE ? "PCI bridge" : "device")
                                + "; this hypervisor has no pass-through (cells are KVM VMs with emulated devices"
                                + " only, and nothing emulates this one)" + (d.type() == PciDevice.TYPE_BRIDGE ? ""
                                        : ": choose a model for it at enable (jailhouse enable SYSCONFIG "
                                                + DeviceEmulations.OPTION + " " + PciDevice.formatBdf(d.bdf()) + "=MODEL; "
                                                + "models: " + String.join(", ", EmulatedModel.labels()) + ")"));
                    }
                }
                default -> throw new PciConfigException(where + " has unknown type " + d.type()
                        + " (1 device, 2 bridge, 3 ivshmem)");
            }
        }
    }

    /** {@code cell "NAME": PCI device I (BB:DD.F)}. */
    public static String describe(CellConfig cell, int index) {
        return "cell \"" + cell.name() + "\": PCI device " + index + " ("
                + PciDevice.formatBdf(cell.pciDevices().get(index).bdf()) + ")";
    }

    /** PCI device {@code deviceIndex} of {@code cell}, an ivshmem peer. */
    public record Member(CellConfig cell, int deviceIndex) {
        public Member {
            Objects.requireNonNull(cell, "cell");
        }

        PciDevice device() {
            return cell.pciDevices().get(deviceIndex);
        }
    }

    // ---- validation

    /**
     * The ivshmem entries with BDF {@code bdf} in {@code cells}, in the
     * order given: what {@link #validateLink} wants for one link (pass the root
     * cell, the cells that exist and the new one).
     */
    public static List<Member> members(int bdf, List<CellConfig> cells) {
        List<Member> out = new ArrayList<>();
        for (CellConfig c : cells) {
            List<PciDevice> devices = c.pciDevices();
            for (int i = 0; i < devices.size(); i++) {
                if (devices.get(i).isIvshmem() && devices.get(i).bdf() == bdf) {
                    out.add(new Member(c, i));
                }
            }
        }
        return out;
    }

    /**
     * Checks the configs of the peers of one link (spec 6.4/6.5), each on its
     * own and against each other; pass every cell that has the link's BDF,
     * the new one included (and the root cell's entry). Rules:
     * <ul>
     * <li>the entry is an ivshmem device; all have the same BDF;
     * <li>{@code shmem_dev_id < shmem_peers <= 12}, ids unique on the link,
     *     {@code shmem_peers} and {@code num_msix_vectors} (at most 16) equal
     *     on all peers;
     * <li>BAR0's mask gives a memory BAR of at least 0x20 bytes; with MSI-X,
     *     BAR1's at least 0x200;
     * <li>{@code shmem_regions_start + 2 + shmem_peers} regions exist: the
     *     state table (one page, page aligned, readable, <em>not</em>
     *     writable), the R/W section (may be empty), the output sections
     *     (equal sizes, possibly all empty); sizes and addresses page
     *     multiples; non-empty sections contiguous in the cell's
     *     guest-physical space from the state table on; no peer may write
     *     another peer's output section;
     * <li>every section is the same memory (phys_start, size) in all peers.
     * </ul>
     *
     * @throws PciConfigException with the first problem, naming cell, device
     *         index, BDF and region; {@link PciConfigException#busy()} for a
     *         peer id another cell holds
     */
    public static void validateLink(List<Member> members) throws PciConfigException {
        for (Member m : members) {
            validateOne(m);
        }
        for (int i = 1; i < members.size(); i++) {
            Member a = members.get(0);
            Member b = members.get(i);
            PciDevice da = a.device();
            PciDevice db = b.device();
            String where = where(b);
            String other = "cell \"" + a.cell().name() + "\"'s PCI device " + a.deviceIndex();
            if (db.bdf() != da.bdf()) {
                throw new PciConfigException(where + " is not on ivshmem link " + PciDevice.formatBdf(da.bdf()));
            }
            for (int j = 0; j < i; j++) {
                Member c = members.get(j);
                if (c.device().shmemDevId() == db.shmemDevId()) {
                    throw new PciConfigException(where + ": shmem_dev_id " + db.shmemDevId() + " is also the peer id"
                            + " of cell \"" + c.cell().name() + "\"'s PCI device " + c.deviceIndex()
                            + " on this link", true);
                }
            }
            if (db.shmemPeers() != da.shmemPeers()) {
                throw new PciConfigException(where + ": shmem_peers " + db.shmemPeers() + " differs from "
                        + da.shmemPeers() + " of " + other);
            }
            if (db.numMsixVectors() != da.numMsixVectors()) {
                throw new PciConfigException(where + ": num_msix_vectors " + db.numMsixVectors() + " differs from "
                        + da.numMsixVectors() + " of " + other + " (all peers of a link need the same count)");
            }
            for (int k = 0; k < 2 + da.shmemPeers(); k++) {
                int ia = (int) da.shmemRegionsStart() + k;
                int ib = (int) db.shmemRegionsStart() + k;
                MemoryRegion ra = a.cell().memoryRegions().get(ia);
                MemoryRegion rb = b.cell().memoryRegions().get(ib);
                if (ra.physStart() != rb.physStart() || ra.size() != rb.size()) {
                    throw new PciConfigException(where + ": memory region " + ib + " (" + section(k)
                            + ", phys 0x" + Long.toHexString(rb.physStart()) + ", size 0x" + Long.toHexString(rb.size())
                            + ") is not the same memory as " + other + "'s memory region " + ia + " (phys 0x"
                            + Long.toHexString(ra.physStart()) + ", size 0x" + Long.toHexString(ra.size()) + ")");
                }
            }
        }
    }

    private static String where(Member m) {
        return describe(m.cell(), m.deviceIndex()) + ", ivshmem";
    }

    private static String section(int k) {
        return k == 0 ? "state table" : k == 1 ? "R/W section" : "output section of peer " + (k - 2);
    }

    private static void validateOne(Member m) throws PciConfigException {
        CellConfig cell = m.cell();
        if (m.deviceIndex() < 0 || m.deviceIndex() >= cell.pciDevices().size()) {
            throw new PciConfigException("cell \"" + cell.name() + "\" has no PCI device " + m.deviceIndex());
        }
        PciDevice d = m.device();
        String where = where(m);
        if (!d.isIvshmem()) {
            throw new PciConfigException(describe(cell, m.deviceIndex()) + " is not an ivshmem device");
        }
        if (d.shmemPeers() < 1 || d.shmemPeers() > MAX_PEERS) {
            throw new PciConfigException(where + ": shmem_peers " + d.shmemPeers() + " is not between 1 and "
                    + MAX_PEERS);
        }
        if (d.shmemDevId() >= d.shmemPeers()) {
            throw new PciConfigException(where + ": shmem_dev_id " + d.shmemDevId() + " is not below shmem_peers "
                    + d.shmemPeers());
        }
        if (d.numMsixVectors() > MAX_VECTORS) {
            throw new PciConfigException(where + ": num_msix_vectors " + d.numMsixVectors() + " exceeds "
                    + MAX_VECTORS);
        }
        checkBarMask(where, d, 0, 0x20, "register region");
        if (d.numMsixVectors() > 0) {
            checkBarMask(where, d, 1, MSIX_REGION_SIZE, "MSI-X region");
        }
        List<MemoryRegion> regions = cell.memoryRegions();
        long start = d.shmemRegionsStart();
        if (start + 2 + d.shmemPeers() > regions.size()) {
            throw new PciConfigException(where + ": shmem_regions_start " + start + " + 2 + shmem_peers "
                    + d.shmemPeers() + " exceeds the cell's " + regions.size() + " memory regions");
        }
        int s = (int) start;
        MemoryRegion table = regions.get(s);
        if (table.size() != PAGE || !aligned(table)) {
            throw new PciConfigException(where + ": memory region " + s + " (state table) must be one page at a page "
                    + "boundary, not " + describe(table));
        }
        if (!table.has(MemoryRegion.READ) || table.has(MemoryRegion.WRITE)) {
            throw new PciConfigException(where + ": memory region " + s + " (state table) must be read-only for the "
                    + "cell (the hypervisor writes it), not " + describe(table));
        }
        long next = table.virtStart() + table.size();
        long outSize = regions.get(s + 2).size();
        for (int k = 1; k < 2 + d.shmemPeers(); k++) {
            MemoryRegion r = regions.get(s + k);
            String name = "memory region " + (s + k) + " (" + section(k) + ")";
            if (r.size() != 0 && !aligned(r)) {
                throw new PciConfigException(where + ": " + name + " must be whole pages at a page boundary, not "
                        + describe(r));
            }
            if (k >= 2 && r.size() != outSize) {
                throw new PciConfigException(where + ": " + name + " has size 0x" + Long.toHexString(r.size())
                        + ", the output section of peer 0 0x" + Long.toHexString(outSize)
                        + "; output sections must have equal sizes");
            }
            if (k >= 2 && k - 2 != d.shmemDevId() && r.has(MemoryRegion.WRITE)) {
                throw new PciConfigException(where + ": " + name + " is writable, but only peer " + (k - 2)
                        + " may write its output section (this cell is peer " + d.shmemDevId() + ")");
            }
            if (r.size() != 0) {
                if (r.virtStart() != next) {
                    throw new PciConfigException(where + ": " + name + " must start at 0x" + Long.toHexString(next)
                            + ", right after the previous section, to keep the shared memory contiguous, not at "
                            + "0x" + Long.toHexString(r.virtStart()));
                }
                next = r.virtStart() + r.size();
            }
        }
    }

    private static void checkBarMask(String where, PciDevice d, int bar, long minimum, String what)
            throws PciConfigException {
        long mask = d.barMask().get(bar) & 0xffff_ffffL;
        long size = (~mask + 1) & 0xffff_ffffL;
        boolean valid = (mask & 0xf) == 0 && mask != 0 && Long.bitCount(size) == 1;
        if (!valid || size < minimum) {
            throw new PciConfigException(String.format("%s: bar_mask[%d] 0x%08x does not describe a memory BAR of at"
                    + " least 0x%x bytes for the %s", where, bar, mask, minimum, what));
        }
    }

    private static boolean aligned(MemoryRegion r) {
        return ((r.virtStart() | r.physStart() | r.size()) & (PAGE - 1)) == 0;
    }

    private static String describe(MemoryRegion r) {
        return "virt 0x" + Long.toHexString(r.virtStart()) + ", size 0x" + Long.toHexString(r.size()) + ", "
                + MemoryRegion.FLAG_NAMES.describe(r.flags());
    }
}
