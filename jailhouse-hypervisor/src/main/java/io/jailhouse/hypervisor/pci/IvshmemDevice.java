package io.jailhouse.hypervisor.pci;

import io.jailhouse.boundary.PciAdmission;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.device.FaultReporter;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One peer of an ivshmem v2 link: the virtual PCI function a cell sees at
 * the link's BDF (spec 6), with upstream's config space, register region
 * (BAR0) and MSI-X region (BAR1).
 *
 * <p>Config space (0x80 bytes, all ones beyond): vendor 110a, device 4106,
 * class ff with the protocol as sub-class/prog-if, a vendor capability at
 * 0x40 (sizes of the state table, R/W and output sections, the shared
 * memory's address, and the one-shot bit, its only writable bit) and, with
 * MSI-X vectors, an MSI-X capability at 0x60 (enable and function mask
 * writable). Writable command bits: MEM, MASTER, INTX_DISABLE. Writes from
 * 0x40 to 0x7f are accepted and only those bits take effect; writes from
 * 0x80 on are refused.
 *
 * <p>BAR0 registers: ID, MAX_PEERS (read only), INT_CONTROL (bit 0),
 * DOORBELL (write only: vector in bits 0-15, target peer in 16-31), STATE
 * (the peer's state: a write stores it in the state table slot of this peer
 * and, if it changed, raises vector 0 on every other peer); other offsets
 * read 0 and ignore writes; any width is accepted. BAR1: the MSI-X table at
 * 0x000 (16 bytes per vector) and the PBA at 0x100 (reads 0); only aligned
 * 32-bit accesses, no entries beyond the vector count, no PBA writes, else
 * {@code FATAL: Invalid PCI MSI-X table/PBA access, device BB:DD.F}.
 *
 * <p>Delivery (spec 6.2): a doorbell is ignored if its vector is not below
 * this device's vector count (1 for INTx) or its target is 12 or more; an
 * absent target ignores it. A target takes it only with INT_CONTROL bit 0
 * set; in one-shot mode that bit is then cleared (atomically, so exactly one
 * of concurrent doorbells gets through); the MSI is sent when MSI-X is
 * enabled, not function-masked, the vector's entry unmasked and bus
 * mastering on. An INTx-only device (no MSI-X vectors) receives nothing, as
 * on upstream x86. An MSI-X entry that would be enabled with a physical
 * destination that is no CPU of the cell is refused
 * ({@code FATAL: ivshmem MSI-X target outside of cell "NAME" device BB:DD.F}).
 *
 * <p>Threads: the cell's vCPUs access the config space and the regions;
 * other peers' vCPUs ring this device's doorbell and read its MSI-X state;
 * the management thread resets it. The state other threads read is in
 * volatile fields and an {@link AtomicIntegerArray}; nothing on these paths
 * allocates, locks or throws. Routing changes are reported to the link's
 * {@link DoorbellRouting}.
 */
public final class IvshmemDevice extends EmulatedEndpoint implements FaultReporter {
    public static final int VENDOR_ID = 0x110a;
    public static final int DEVICE_ID = 0x4106;
    public static final int MAX_VECTORS = PciDevice.IVSHMEM_MAX_MSIX_VECTORS;
    /** Config space bytes the device emulates; all ones beyond. */
    public static final int CONFIG_BYTES = 0x80;
    public static final int VENDOR_CAP = 0x40;
    public static final int VENDOR_CAP_LENGTH = 0x20;
    public static final int MSIX_CAP = 0x60;
    public static final int ONE_SHOT = 1 << 24;

    public static final int REG_ID = 0x00;
    public static final int REG_MAX_PEERS = 0x04;
    public static final int REG_INT_CONTROL = 0x08;
    public static final int REG_DOORBELL = 0x0c;
    public static final int REG_STATE = 0x10;

    /** MSI-X region: table at 0, PBA at 0x100, 0x200 bytes decoded. */
    public static final int MSIX_PBA = 0x10 * MAX_VECTORS;
    public static final int MSIX_REGION_SIZE = 2 * MSIX_PBA;

    private static final int ID_DWORD = DEVICE_ID << 16 | VENDOR_ID;
    private static final VarHandle INT_CONTROL;
    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            INT_CONTROL = l.findVarHandle(IvshmemDevice.class, "intControl", int.class);
            STATE = l.findVarHandle(IvshmemDevice.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String cellName;
    private final IvshmemLink link;
    private final int peerId;
    private final int maxPeers;
    private final int vectors;
    private final int protocol;
    private final long stateTableSize;
    private final long rwSize;
    private final long outputSize;
    private final long shmemBase;
    private final long registerRegionSize;
    private final MemorySegment stateTable;
    private final MsiSink sink;
    private final BitSet cpus;
    private final Registers registers = new Registers();
    private final MsixRegion msixRegion = new MsixRegion();

    /** INT_CONTROL: 0 or 1. Cleared by other peers' threads in one-shot mode. */
    @SuppressWarnings("unused") // through INT_CONTROL as well
    private volatile int intControl;
    private volatile boolean oneShot;
    /** The writable MSI-X control bits (enable, function mask). */
    private volatile int msixControl;
    @SuppressWarnings("unused") // through STATE as well
    private volatile int state;
    /** The MSI-X table: per vector address low, address high, data, vector control. */
    private final AtomicIntegerArray msix = new AtomicIntegerArray(4 * MAX_VECTORS);

    /** What the routing heard last, per vector; touched by this cell's vCPUs and the management thread. */
    private final boolean[] routed = new boolean[MAX_VECTORS];
    private final long[] routedAddress = new long[MAX_VECTORS];
    private final int[] routedData = new int[MAX_VECTORS];

    /** A config write was refused for its MSI-X target (for the FATAL line). */
    private volatile boolean targetRefused;

    /**
     * The peer of PCI device {@code index} (type ivshmem) of {@code cell},
     * which {@link io.jailhouse.boundary.PciAdmission#validateLink} accepted.
     *
     * @param link the link of the device's BDF; {@link IvshmemLink#attach} joins it later
     * @param stateTable this cell's view of the state table page (the first
     *        shared-memory region): the hypervisor writes it, the guest only reads it
     * @param sink delivers MSIs into this cell
     * @param cellCpus the cell's CPU numbers, which are its APIC ids: a
     *        physical MSI destination outside them is refused
     * @param windows the cell's movable MMIO windows, for BAR0 and BAR1
     * @throws IllegalArgumentException if the entry is not an ivshmem device
     *         of the link's BDF, breaks the limits, or the state table view is too small
     */
    public IvshmemDevice(CellConfig cell, int index, IvshmemLink link, MemorySegment stateTable, MsiSink sink,
            BitSet cellCpus, MmioWindowTable windows) {
        super(device(cell, index).bdf(), device(cell, index).barMask(), new int[BARS], List.of(), windows);
        PciDevice d = device(cell, index);
        if (!d.isIvshmem() || d.bdf() != link.bdf()) {
            throw new IllegalArgumentException(PciAdmission.describe(cell, index) + " is not an ivshmem device of "
                    + "link " + PciDevice.formatBdf(link.bdf()));
        }
        if (d.shmemDevId() >= IvshmemLink.MAX_PEERS || d.shmemPeers() > IvshmemLink.MAX_PEERS
                || d.numMsixVectors() > MAX_VECTORS
                || d.shmemRegionsStart() + 2 + d.shmemPeers() > cell.memoryRegions().size()) {
            throw new IllegalArgumentException(PciAdmission.describe(cell, index)
                    + " breaks the ivshmem limits: validate it with IvshmemLink.validate first");
        }
        if (stateTable.byteSize() < 4L * d.shmemPeers() || stateTable.maxByteAlignment() < Integer.BYTES) {
            throw new IllegalArgumentException("the state table view of " + PciAdmission.describe(cell, index)
                    + " has " + stateTable.byteSize() + " bytes or is misaligned");
        }
        List<MemoryRegion> regions = cell.memoryRegions();
        int start = (int) d.shmemRegionsStart();
        this.cellName = cell.name();
        this.link = link;
        this.peerId = d.shmemDevId();
        this.maxPeers = d.shmemPeers();
        this.vectors = d.numMsixVectors();
        this.protocol = d.shmemProtocol() & 0xffff;
        this.stateTableSize = regions.get(start).size();
        this.rwSize = regions.get(start + 1).size();
        this.outputSize = regions.get(start + 2).size();
        this.shmemBase = regions.get(start).virtStart();
        this.registerRegionSize = barSize(0);
        this.stateTable = stateTable;
        this.sink = sink;
        this.cpus = (BitSet) cellCpus.clone();
        for (int v = 0; v < MAX_VECTORS; v++) {
            msix.set(4 * v + 3, 1); // masked until the guest unmasks it
        }
    }

    private static PciDevice device(CellConfig cell, int index) {
        return cell.pciDevices().get(index);
    }

    public String cellName() {
        return cellName;
    }

    public IvshmemLink link() {
        return link;
    }

    public int peerId() {
        return peerId;
    }

    public int maxPeers() {
        return maxPeers;
    }

    public int vectors() {
        return vectors;
    }

    /** INT_CONTROL bit 0. */
    public boolean interruptsEnabled() {
        return intControl != 0;
    }

    public boolean oneShot() {
        return oneShot;
    }

    public int state() {
        return state;
    }

    /** The register region (BAR0's window device). */
    public MmioDevice registers() {
        return registers;
    }

    /** The MSI-X region (BAR1's window device). */
    public MmioDevice msixRegion() {
        return msixRegion;
    }

    public MemorySegment stateTable() {
        return stateTable;
    }

    // ---- config space

    @Override
    protected int readRegister(int dword) {
        return switch (dword) {
            case Pci.VENDOR_ID, Pci.SUBSYSTEM -> ID_DWORD;
            case Pci.CLASS_REVISION -> 0xff00_0000 | protocol << 8;
            case Pci.CAPABILITY_POINTER -> VENDOR_CAP;
            case Pci.INTERRUPT_LINE -> vectors == 0 ? (((bdf() >> 3) & 3) + 1) << 8 : 0;
            case VENDOR_CAP -> (oneShot ? ONE_SHOT : 0) | VENDOR_CAP_LENGTH << 16
                    | (vectors > 0 ? MSIX_CAP : 0) << 8 | Pci.CAP_ID_VNDR;
            case VENDOR_CAP + 0x04 -> (int) stateTableSize;
            case VENDOR_CAP + 0x08 -> (int) rwSize;
            case VENDOR_CAP + 0x0c -> (int) (rwSize >>> 32);
            case VENDOR_CAP + 0x10 -> (int) outputSize;
            case VENDOR_CAP + 0x14 -> (int) (outputSize >>> 32);
            case VENDOR_CAP + 0x18 -> (int) shmemBase;
            case VENDOR_CAP + 0x1c -> (int) (shmemBase >>> 32);
            case MSIX_CAP -> ((vectors > 0 ? vectors - 1 : 0) | msixControl) << 16 | Pci.CAP_ID_MSIX;
            case MSIX_CAP + 0x04 -> 1; // table: BIR 1, offset 0
            case MSIX_CAP + 0x08 -> MSIX_PBA | 1; // PBA: BIR 1, offset 0x100
            default -> dword < CONFIG_BYTES ? 0 : -1;
        };
    }

    @Override
    protected int statusRegister() {
        return Pci.STS_CAPS;
    }

    @Override
    protected boolean acceptsCapabilityWrite(int reg, int size) {
        return reg < CONFIG_BYTES;
    }

    @Override
    public boolean acceptsConfigWrite(int reg, int size, int value) {
        if (!acceptsConfigWrite(reg, size)) {
            noteTargetRefused(false);
            return false;
        }
        int dword = reg & ~3;
        if (dword != Pci.COMMAND && dword != MSIX_CAP) {
            noteTargetRefused(false);
            return true;
        }
        int bits = Pci.accessMask(reg, size);
        int shifted = (value & Pci.sizeMask(size)) << ((reg & 3) * 8);
        int cmd = command();
        int ctl = msixControl;
        if (dword == Pci.COMMAND) {
            int m = bits & writableCommandBits() & 0xffff;
            cmd = (cmd & ~m) | (shifted & m);
        } else {
            int m = (bits >>> 16) & (Pci.MSIX_CTRL_ENABLE | Pci.MSIX_CTRL_FMASK);
            ctl = (ctl & ~m) | ((shifted >>> 16) & m);
        }
        boolean ok = targetsInCell(cmd, ctl, -1, 0, 0);
        noteTargetRefused(!ok);
        return ok;
    }

    private void noteTargetRefused(boolean refused) {
        if (targetRefused != refused) {
            targetRefused = refused;
        }
    }

    @Override
    protected void commandChanged(int old, int now) {
        super.commandChanged(old, now);
        if (((old ^ now) & Pci.CMD_MASTER) != 0) {
            updateRoutes();
        }
    }

    @Override
    protected void writeCapability(int reg, int size, int value) {
        int dword = reg & ~3;
        int bits = Pci.accessMask(reg, size);
        int shifted = value << ((reg & 3) * 8);
        if (dword == VENDOR_CAP && (bits & ONE_SHOT) != 0) {
            boolean now = (shifted & ONE_SHOT) != 0;
            if (now != oneShot) {
                oneShot = now;
                updateRoutes();
            }
        } else if (dword == MSIX_CAP) {
            int m = (bits >>> 16) & (Pci.MSIX_CTRL_ENABLE | Pci.MSIX_CTRL_FMASK);
            int now = (msixControl & ~m) | ((shifted >>> 16) & m);
            if (now != msixControl) {
                msixControl = now;
                updateRoutes();
            }
        }
    }

    @Override
    protected MmioDevice barDevice(int n) {
        return n == 0 ? registers : n == 1 && vectors > 0 ? msixRegion : null;
    }

    @Override
    protected long barDecodedSize(int n) {
        return n == 0 ? registerRegionSize : MSIX_REGION_SIZE;
    }

    @Override
    protected void barWindowChanged(int n, long base) {
        if (n == 0) {
            link.routing().doorbellMoved(this, base < 0 ? -1 : base + REG_DOORBELL);
        }
    }

    // ---- delivery

    private long entryAddress(int v) {
        return (msix.get(4 * v) & 0xffff_ffffL) | ((long) msix.get(4 * v + 1)) << 32;
    }

    private boolean functionEnabled(int cmd, int ctl) {
        return (ctl & (Pci.MSIX_CTRL_ENABLE | Pci.MSIX_CTRL_FMASK)) == Pci.MSIX_CTRL_ENABLE
                && (cmd & Pci.CMD_MASTER) != 0;
    }

    private boolean deliverable(int v) {
        return v < vectors && functionEnabled(command(), msixControl) && (msix.get(4 * v + 3) & 1) == 0;
    }

    /**
     * Whether every vector that would be enabled under {@code cmd} and
     * {@code ctl} targets the cell, with entry {@code entry} (-1: none)
     * taking {@code address} and the mask bit {@code masked}.
     */
    private boolean targetsInCell(int cmd, int ctl, int entry, long address, int masked) {
        if (!functionEnabled(cmd, ctl)) {
            return true;
        }
        for (int v = 0; v < vectors; v++) {
            boolean unmasked = v == entry ? masked == 0 : (msix.get(4 * v + 3) & 1) == 0;
            if (unmasked && !targetsCell(v == entry ? address : entryAddress(v))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether an MSI address stays in the cell: logical destinations and the
     * broadcast id are confined to the VM by KVM; a physical destination
     * must be one of the cell's APIC ids.
     */
    private boolean targetsCell(long address) {
        if ((address & 0x4) != 0) {
            return true;
        }
        int dest = (int) (address >>> 12) & 0xff;
        return dest == 0xff || cpus.get(dest);
    }

    public void trigger(int vector) {
        if (intControl == 0) {
            return;
        }
        if (oneShot && !INT_CONTROL.compareAndSet(this, 1, 0)) {
            return; // another doorbell took the one shot
        }
        if (deliverable(vector)) {
            sink.deliver(entryAddress(vector), msix.get(4 * vector + 2));
        }
    }

    private void writeState(int value) {
        link.publishState(this, (int) STATE.getAndSet(this, value), value);
    }

    private void updateRoutes() {
        for (int v = 0; v < vectors; v++) {
            updateRoute(v);
        }
    }

    private void updateRoute(int v) {
        boolean wired = link.peer(peerId) == this && !oneShot && intControl != 0 && deliverable(v);
        long address = wired ? entryAddress(v) : 0;
        int data = wired ? msix.get(4 * v + 2) : 0;
        if (wired == routed[v] && address == routedAddress[v] && data == routedData[v]) {
            return;
        }
        routed[v] = wired;
        routedAddress[v] = address;
        routedData[v] = data;
        link.routing().update(this, v, wired, address, data);
    }

    /** Whether vector {@code v} is reported wired to the routing now. */
    public boolean wired(int v) {
        return routed[v];
    }

    // ---- life cycle

    /**
     * Power-on state (spec 6.1): interrupts off first (deliveries in flight
     * from other peers stop), windows gone, BARs 0, command 0, one-shot off,
     * MSI-X disabled with every vector masked and zeroed, routes unwired,
     * and this peer's state 0 (which raises vector 0 on the others if it was
     * not 0 already).
     */
    @Override
    public void reset() {
        intControl = 0;
        resetHeader();
        oneShot = false;
        msixControl = 0;
        for (int v = 0; v < MAX_VECTORS; v++) {
            msix.set(4 * v, 0);
            msix.set(4 * v + 1, 0);
            msix.set(4 * v + 2, 0);
            msix.set(4 * v + 3, 1);
        }
        targetRefused = false;
        msixRegion.lastFault = 0;
        updateRoutes();
        writeState(0);
    }

    public void disconnected() {
        intControl = 0;
        resetHeader();
        updateRoutes();
        writeState(0);
    }

    @Override
    public String lastFaultLine() {
        return targetRefused ? targetLine() : null;
    }

    private String targetLine() {
        return String.format("FATAL: ivshmem MSI-X target outside of cell \"%s\" device %s", cellName,
                PciDevice.formatBdf(bdf()));
    }

    @Override
    public String toString() {
        return "ivshmem " + PciDevice.formatBdf(bdf()) + " peer " + peerId + " of cell \"" + cellName + "\"";
    }

    /** BAR0: the registers. Any width; unknown offsets read 0 and ignore writes. */
    private final class Registers implements MmioDevice {
        @Override
        public boolean accepts(long offset, int size, boolean write) {
            return size == 1 || size == 2 || size == 4 || size == 8;
        }

        @Override
        public long read(long offset, int size) {
            long v = switch ((int) offset) {
                case REG_ID -> peerId;
                case REG_MAX_PEERS -> maxPeers;
                case REG_INT_CONTROL -> intControl;
                case REG_STATE -> state & 0xffff_ffffL;
                default -> 0; // DOORBELL is write-only
            };
            return offset > REG_STATE ? 0 : size >= 8 ? v : v & ((1L << (size * 8)) - 1);
        }

        @Override
        public void write(long offset, int size, long value) {
            int v = (int) (size >= 4 ? value : value & ((1L << (size * 8)) - 1));
            switch ((int) offset) {
                case REG_INT_CONTROL -> {
                    intControl = v & 1;
                    updateRoutes();
                }
                case REG_DOORBELL -> link.ring(IvshmemDevice.this, v);
                case REG_STATE -> writeState(v);
                default -> {
                    // read-only or unused: ignored
                }
            }
        }
    }

    /** BAR1: the MSI-X table and PBA. Aligned 32-bit accesses only. */
    private final class MsixRegion implements MmioDevice, FaultReporter {
        private static final int TABLE = 1;
        private static final int TARGET = 2;
        /** 0, TABLE or TARGET. */
        private volatile int lastFault;

        @Override
        public boolean accepts(long offset, int size, boolean write) {
            if (size == 4 && (offset & 3) == 0 && offset >= 0
                    && (offset < MSIX_PBA ? (offset >> 4) < vectors : offset < MSIX_REGION_SIZE && !write)) {
                return true;
            }
            lastFault = TABLE;
            return false;
        }

        @Override
        public boolean acceptsWrite(long offset, int size, long value) {
            if (!accepts(offset, size, true)) {
                return false;
            }
            int v = (int) (offset >> 4);
            int dword = (int) (offset >> 2) & 3;
            long address = entryAddress(v);
            int masked = msix.get(4 * v + 3) & 1;
            if (dword == 0) {
                address = (address & 0xffff_ffff_0000_0000L) | (value & 0xffff_ffffL);
            } else if (dword == 1) {
                address = (address & 0xffff_ffffL) | value << 32;
            } else if (dword == 3) {
                masked = (int) value & 1;
            }
            if (targetsInCell(command(), msixControl, v, address, masked)) {
                return true;
            }
            lastFault = TARGET;
            return false;
        }

        @Override
        public long read(long offset, int size) {
            return offset < MSIX_PBA ? msix.get((int) offset >> 2) & 0xffff_ffffL : 0;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset >= 0 && offset < MSIX_PBA && size == 4 && (offset & 3) == 0 && (offset >> 4) < vectors) {
                msix.set((int) offset >> 2, (int) value);
                updateRoute((int) offset >> 4);
            }
        }

        @Override
        public String lastFaultLine() {
            return switch (lastFault) {
                case TABLE -> "FATAL: Invalid PCI MSI-X table/PBA access, device " + PciDevice.formatBdf(bdf());
                case TARGET -> targetLine();
                default -> null;
            };
        }
    }
}
