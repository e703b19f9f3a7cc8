package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciCapability;
import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.util.List;

/**
 * A minimal Intel HDA controller (8086:2668, as QEMU's intel-hda) for cells
 * whose config asks for one ({@code emulation: intel-hda}): the PCI header
 * with the config's BAR masks, an MSI capability where the config puts it,
 * and in BAR0 the registers a driver touches to reset the link and learn
 * that a codec is there: GCTL (controller reset), WAKEEN, STATESTS (codec 0
 * present after reset, write 1 to clear) and INTCTL. When a codec status bit
 * is set that WAKEEN and INTCTL (global and controller enable) let through,
 * the controller raises its MSI once, as the hardware raises its interrupt
 * on the status change. No streams, no codec verbs.
 */
public final class IntelHdaController extends EmulatedEndpoint implements MmioDevice {
    public static final int VENDOR = 0x8086;
    public static final int DEVICE = PciDevice.EMULATE_INTEL_HDA;
    /** Multimedia, HD audio (class 04, sub-class 03). */
    static final int CLASS_REVISION = 0x04030001;
    static final int GCTL = 0x08;
    static final int WAKEEN = 0x0c;
    static final int STATESTS = 0x0e;
    static final int INTCTL = 0x20;
    static final int GCTL_CRST = 0x1;
    static final int INTCTL_GIE = 1 << 31;
    static final int INTCTL_CIE = 1 << 30;
    static final int MSI_CTRL_ENABLE = 0x1;
    static final int MSI_CTRL_64BIT = 0x80;
    /**
     * The controller's own BARs (QEMU's intel-hda: 16 KiB of 32-bit memory in
     * BAR0), for configs that leave {@code bar_mask} zero, as upstream's
     * configs do for physical devices, whose BARs the hardware sizes.
     */
    static final List<Long> OWN_BAR_MASK = List.of(0xffffc000L, 0L, 0L, 0L, 0L, 0L);

    private final MsiSink msi;
    private final int msiCap;
    // registers, written by the cell's vCPU threads (a driver serializes its own accesses)
    private int gctl;
    private int wakeen;
    private int statests;
    private int intctl;
    private boolean raised;
    private int msiControl;
    private int msiAddressLow;
    private int msiAddressHigh;
    private int msiData;

    /**
     * @param barReset the BAR values at reset (BAR0 at the cell's device memory region, as firmware leaves it)
     * @param msiCap config-space offset of the MSI capability (0 for none)
     */
    IntelHdaController(int bdf, List<Long> barMask, int[] barReset, List<PciCapability> caps, int msiCap,
            MsiSink msi, MmioWindowTable windows) {
        super(bdf, barMask, barReset, caps, windows);
        this.msi = msi;
        this.msiCap = msiCap;
    }

    /**
     * The controller for PCI device {@code index} of {@code cell}: BAR0 placed
     * at the cell's memory region of BAR0's size outside RAM (the BAR the
     * config maps, as firmware programmed it), MSI where the config's
     * capability list has it.
     */
    public static IntelHdaController create(CellConfig cell, int index, MsiSink msi, MmioWindowTable windows) {
        PciDevice d = cell.pciDevices().get(index);
        List<PciCapability> caps = cell.pciCaps().subList(d.capsStart(), d.capsStart() + d.numCaps());
        int msiCap = 0;
        for (PciCapability c : caps) {
            if (c.id() == Pci.CAP_ID_MSI) {
                msiCap = c.start();
            }
        }
        int[] reset = new int[BARS];
        List<Long> barMask = d.barMask().stream().allMatch(m -> m == 0) ? OWN_BAR_MASK : d.barMask();
        long mask0 = barMask.get(0);
        boolean bar64 = barMask.get(1) == 0xffffffffL;
        long size = (~mask0 & 0xffffffffL) + 1;
        long base = 0;
        for (MemoryRegion r : cell.memoryRegions()) {
            if (r.size() == size && !r.has(MemoryRegion.COMM_REGION) && !r.has(MemoryRegion.LOADABLE)
                    && r.physStart() == r.virtStart()) {
                base = r.virtStart();
                break;
            }
        }
        reset[0] = (int) (base & 0xfffffff0L) | (bar64 ? Pci.BAR_MEM_TYPE_64 : 0);
        reset[1] = bar64 ? (int) (base >>> 32) : 0;
        return new IntelHdaController(d.bdf(), barMask, reset, caps, msiCap, msi, windows);
    }

    @Override
    protected int readRegister(int dword) {
        switch (dword) {
            case Pci.VENDOR_ID -> {
                return DEVICE << 16 | VENDOR;
            }
            case Pci.CLASS_REVISION -> {
                return CLASS_REVISION;
            }
            case Pci.SUBSYSTEM -> {
                return DEVICE << 16 | VENDOR;
            }
            case Pci.CAPABILITY_POINTER -> {
                return msiCap;
            }
            case Pci.INTERRUPT_LINE -> {
                return 1 << 8; // INTA
            }
            default -> {
                if (msiCap != 0 && dword >= msiCap && dword < msiCap + 16) {
                    return switch (dword - msiCap) {
                        case 0 -> (msiControl | MSI_CTRL_64BIT) << 16 | Pci.CAP_ID_MSI;
                        case 4 -> msiAddressLow;
                        case 8 -> msiAddressHigh;
                        default -> msiData & 0xffff;
                    };
                }
                return dword < Pci.HEADER_SIZE ? 0 : -1;
            }
        }
    }

    @Override
    protected void writeCapability(int reg, int size, int value) {
        if (msiCap == 0 || reg < msiCap || reg >= msiCap + 16) {
            return;
        }
        int dword = (reg - msiCap) & ~3;
        int shift = (reg & 3) * 8;
        int mask = Pci.sizeMask(size) << shift;
        int v = value << shift;
        switch (dword) {
            case 0 -> msiControl = ((msiControl << 16 & ~mask | v & mask) >>> 16) & 0x71; // enable and MME
            case 4 -> msiAddressLow = (msiAddressLow & ~mask | v & mask) & ~3;
            case 8 -> msiAddressHigh = msiAddressHigh & ~mask | v & mask;
            default -> msiData = (msiData & ~mask | v & mask) & 0xffff;
        }
        raiseIfDue();
    }

    @Override
    protected void commandChanged(int old, int now) {
        super.commandChanged(old, now);
        raiseIfDue();
    }

    @Override
    protected MmioDevice barDevice(int n) {
        return n == 0 ? this : null;
    }

    // ---- BAR0 registers

    @Override
    public boolean accepts(long offset, int size, boolean write) {
        return offset >= 0 && size >= 1 && size <= 4 && (offset & (size - 1)) == 0;
    }

    @Override
    public long read(long offset, int size) {
        long dword = switch ((int) (offset & ~3)) {
            case GCTL -> gctl;
            case WAKEEN -> (statests & 0xffffL) << 16 | (wakeen & 0xffff);
            case INTCTL -> intctl & 0xffffffffL;
            default -> 0;
        };
        int shift = (int) (offset & 3) * 8;
        return dword >>> shift & (size == 4 ? 0xffffffffL : (1L << (size * 8)) - 1);
    }

    @Override
    public void write(long offset, int size, long value) {
        int shift = (int) (offset & 3) * 8;
        int mask = (int) ((size == 4 ? 0xffffffffL : (1L << (size * 8)) - 1) << shift);
        int v = (int) (value << shift);
        switch ((int) (offset & ~3)) {
            case GCTL -> {
                int old = gctl;
                gctl = (gctl & ~mask | v & mask) & GCTL_CRST;
                if ((old & GCTL_CRST) == 0 && (gctl & GCTL_CRST) != 0) {
                    statests |= 0x1; // leaving reset, codec 0 announces itself
                } else if ((gctl & GCTL_CRST) == 0) {
                    wakeen = 0;
                    statests = 0;
                    intctl = 0;
                }
            }
            case WAKEEN -> {
                if ((mask & 0xffff) != 0) {
                    wakeen = (wakeen & ~mask | v & mask) & 0x7fff;
                }
                if ((mask & 0xffff0000) != 0) {
                    statests &= ~((v & mask) >>> 16); // write 1 to clear
                }
            }
            case INTCTL -> intctl = intctl & ~mask | v & mask;
            default -> {
            }
        }
        raiseIfDue();
    }

    /** Raises the MSI when an enabled codec status becomes pending; once per pending edge. */
    private void raiseIfDue() {
        boolean due = (statests & wakeen) != 0 && (intctl & (INTCTL_GIE | INTCTL_CIE)) == (INTCTL_GIE | INTCTL_CIE)
                && (msiControl & MSI_CTRL_ENABLE) != 0 && (command() & Pci.CMD_MASTER) != 0;
        if (due && !raised) {
            msi.deliver((long) msiAddressHigh << 32 | (msiAddressLow & 0xffffffffL), msiData);
        }
        raised = due;
    }

    @Override
    public void reset() {
        resetHeader();
        gctl = 0;
        wakeen = 0;
        statests = 0;
        intctl = 0;
        raised = false;
        msiControl = 0;
        msiAddressLow = 0;
        msiAddressHigh = 0;
        msiData = 0;
    }
}
