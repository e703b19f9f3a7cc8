package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.PciCapability;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.util.Arrays;
import java.util.List;

/**
 * A type-0 PCI endpoint emulated by the daemon, with the header policy
 * upstream applies to every endpoint it gives a cell (spec 7):
 *
 * <ul>
 * <li>BARs are shadows: a write changes only the bits of the config's
 *     {@code bar_mask} (so writing all ones reads back the mask: BAR
 *     sizing), the other bits keep their reset value (the BAR type); a
 *     64-bit BAR is two dwords, each with its own mask.
 * <li>The ROM BAR (0x30) reads 0; writes are accepted and ignored.
 * <li>Writable: 0x04 (command/status; which command bits stick is up to the
 *     function, status writes are ignored), 0x0C except the header-type
 *     byte, and the interrupt-line byte 0x3C. Any other write below 0x40 is
 *     refused (fatal for the cell).
 * <li>From 0x40 on, writes are accepted only inside a capability of the
 *     config with {@code JAILHOUSE_PCICAPS_WRITE} (the whole access inside
 *     it), unless a subclass decides otherwise.
 * </ul>
 *
 * <p>BAR decoding: while COMMAND.MEM is set, each memory BAR for which the
 * subclass names a device ({@link #barDevice}) is a window of the cell's
 * {@link MmioWindowTable} at the BAR's programmed address; re-programming
 * the BAR moves it, clearing MEM removes it. I/O BARs are not decoded.
 *
 * <p>Config accesses come from the cell's vCPU threads; the guest
 * serializes its config accesses to one function (every OS does), so the
 * shadows are plain fields; the command word is volatile because other
 * threads read it (ivshmem delivery checks bus mastering).
 */
public abstract class EmulatedEndpoint implements VirtualPciFunction {
    /** Number of BARs of a type-0 header. */
    public static final int BARS = 6;

    private final int bdf;
    private final int[] barMask = new int[BARS];
    private final int[] barReset = new int[BARS];
    private final int[] bars = new int[BARS];
    /** Where each BAR's window is now (-1: nowhere), and its size. */
    private final long[] windowBase = new long[BARS];
    private final long[] windowSize = new long[BARS];
    private final int[] capStart;
    private final int[] capEnd;
    private final boolean[] capWritable;
    private final MmioWindowTable windows;
    private volatile int command;

    /**
     * @param barMask the config's six {@code bar_mask} words
     * @param barReset the six BAR values at reset: the type bits (bit 0 I/O,
     *        bits 2:1 = 10 for the lower half of a 64-bit memory BAR)
     * @param caps the config's capabilities of this device (its slice of {@code pci_caps})
     * @param windows the cell's table of movable MMIO windows
     */
    protected EmulatedEndpoint(int bdf, List<Long> barMask, int[] barReset, List<PciCapability> caps,
            MmioWindowTable windows) {
        if (barMask.size() != BARS || barReset.length != BARS) {
            throw new IllegalArgumentException("a PCI endpoint has " + BARS + " BARs");
        }
        this.bdf = bdf;
        for (int i = 0; i < BARS; i++) {
            this.barMask[i] = (int) (long) barMask.get(i);
            this.barReset[i] = barReset[i];
            this.bars[i] = barReset[i];
        }
        Arrays.fill(windowBase, -1);
        this.capStart = new int[caps.size()];
        this.capEnd = new int[caps.size()];
        this.capWritable = new boolean[caps.size()];
        for (int i = 0; i < caps.size(); i++) {
            PciCapability c = caps.get(i);
            capStart[i] = c.start();
            capEnd[i] = c.start() + c.len();
            capWritable[i] = (c.flags() & PciCapability.WRITE) != 0;
        }
        this.windows = windows;
    }

    @Override
    public final int bdf() {
        return bdf;
    }

    /** The command register as the guest last wrote it (only the function's writable bits). */
    public final int command() {
        return command;
    }

    /** The shadow of BAR {@code n}. */
    public final int bar(int n) {
        return bars[n];
    }

    /** The memory address BAR {@code n} is programmed to (both halves of a 64-bit BAR), type bits cleared. */
    public final long barAddress(int n) {
        if (is64(n)) {
            return (((long) bars[n + 1]) << 32 | (bars[n] & 0xffff_ffffL)) & ~0xfL;
        }
        return bars[n] & 0xffff_fff0L;
    }

    /** The size of memory BAR {@code n} from its mask; 0 if it has none (or is I/O or an upper half). */
    public final long barSize(int n) {
        if ((barReset[n] & Pci.BAR_IO_SPACE) != 0 || (n > 0 && is64(n - 1))) {
            return 0;
        }
        long mask = barMask[n] & 0xffff_ffffL;
        if (is64(n)) {
            mask |= ((long) barMask[n + 1]) << 32;
        } else if (mask != 0) {
            mask |= 0xffff_ffff_0000_0000L;
        }
        return Long.lowestOneBit(mask & ~0xfL);
    }

    private boolean is64(int n) {
        return n + 1 < BARS && (barReset[n] & 0x7) == Pci.BAR_MEM_TYPE_64;
    }

    @Override
    public final int readConfig(int reg, int size) {
        return (readDword(reg & ~3) >>> ((reg & 3) * 8)) & Pci.sizeMask(size);
    }

    private int readDword(int dword) {
        if (dword >= Pci.BAR0 && dword < Pci.BAR0 + 4 * BARS) {
            return bars[(dword - Pci.BAR0) >> 2];
        }
        if (dword == Pci.COMMAND) {
            return statusRegister() << 16 | (command & 0xffff);
        }
        if (dword == Pci.ROM_BAR) {
            return 0; // no ROMs are exposed
        }
        return readRegister(dword);
    }

    /**
     * Every dword the header policy does not answer itself (it answers the
     * BARs, the ROM BAR and command/status): ids, class, header type,
     * subsystem, capability pointer, interrupt line/pin and everything from
     * 0x40 on (all ones where the function has nothing).
     */
    protected abstract int readRegister(int dword);

    /** The status register (upper half of dword 0x04); writes to it are ignored. */
    protected int statusRegister() {
        return capStart.length > 0 ? Pci.STS_CAPS : 0;
    }

    /** The command bits a write changes; the others stay 0. */
    protected int writableCommandBits() {
        return Pci.CMD_MEM | Pci.CMD_MASTER | Pci.CMD_INTX_OFF;
    }

    @Override
    public boolean acceptsConfigWrite(int reg, int size) {
        if (reg < 0 || reg >= Pci.CONFIG_SIZE || !Pci.withinDword(reg, size)) {
            return false;
        }
        if (reg >= Pci.HEADER_SIZE) {
            return acceptsCapabilityWrite(reg, size);
        }
        int dword = reg & ~3;
        int bits = Pci.accessMask(reg, size);
        if (dword == Pci.COMMAND || dword == Pci.ROM_BAR || (dword >= Pci.BAR0 && dword <= Pci.BAR_END)) {
            return true;
        }
        if (dword == Pci.CACHE_LINE) {
            return (bits & ~0xff00_ffff) == 0; // cache line, latency timer, BIST; not the header type
        }
        if (dword == Pci.INTERRUPT_LINE) {
            return (bits & ~0xff) == 0; // the interrupt line only
        }
        return false;
    }

    /**
     * Whether a write from 0x40 on is allowed: by default only inside a
     * capability of the config that is marked writable.
     */
    protected boolean acceptsCapabilityWrite(int reg, int size) {
        for (int i = 0; i < capStart.length; i++) {
            if (capWritable[i] && reg >= capStart[i] && reg + size <= capEnd[i]) {
                return true;
            }
        }
        return false;
    }

    @Override
    public final void writeConfig(int reg, int size, int value) {
        if (!acceptsConfigWrite(reg, size)) {
            return;
        }
        int dword = reg & ~3;
        int bits = Pci.accessMask(reg, size);
        int shifted = (value & Pci.sizeMask(size)) << ((reg & 3) * 8);
        if (dword >= Pci.BAR0 && dword <= Pci.BAR_END) {
            int n = (dword - Pci.BAR0) >> 2;
            int m = bits & barMask[n];
            int v = (bars[n] & ~m) | (shifted & m);
            if (v != bars[n]) {
                bars[n] = v;
                if ((command & Pci.CMD_MEM) != 0) {
                    updateWindows();
                }
            }
        } else if (dword == Pci.COMMAND) {
            int m = bits & writableCommandBits() & 0xffff;
            int old = command;
            int now = (old & ~m) | (shifted & m);
            if (now != old) {
                command = now;
                commandChanged(old, now);
            }
        } else if (dword == Pci.CACHE_LINE || dword == Pci.INTERRUPT_LINE) {
            writeHeaderByte(dword, bits, shifted);
        } else if (dword != Pci.ROM_BAR) {
            writeCapability(reg, size, value & Pci.sizeMask(size));
        }
    }

    /**
     * The command register changed from {@code old} to {@code now}. The
     * default moves the BAR windows when MEM changed; overriders call it.
     */
    protected void commandChanged(int old, int now) {
        if (((old ^ now) & Pci.CMD_MEM) != 0) {
            updateWindows();
        }
    }

    /** A write to 0x0C (not the header type) or to the interrupt line; ignored by default. */
    protected void writeHeaderByte(int dword, int bits, int shifted) {
    }

    /** An accepted write from 0x40 on; ignored by default. */
    protected void writeCapability(int reg, int size, int value) {
    }

    /**
     * The device serving BAR {@code n}'s window while MEM is set, or null
     * for a BAR that is not decoded (the default).
     */
    protected MmioDevice barDevice(int n) {
        return null;
    }

    /** How many bytes of BAR {@code n} the device decodes (at most the BAR's size); default: all. */
    protected long barDecodedSize(int n) {
        return barSize(n);
    }

    /** BAR {@code n}'s window is now at {@code base}, or gone ({@code base} -1). Called only on change. */
    protected void barWindowChanged(int n, long base) {
    }

    /** Puts each decoded BAR's window where COMMAND and the BAR say, telling the table only what changed. */
    private void updateWindows() {
        boolean decode = (command & Pci.CMD_MEM) != 0;
        for (int n = 0; n < BARS; n++) {
            MmioDevice d = barDevice(n);
            long size = barSize(n) == 0 ? 0 : Math.min(barDecodedSize(n), barSize(n));
            long base = -1;
            if (decode && d != null && size > 0) {
                long a = barAddress(n);
                if (a >= 0 && a <= Long.MAX_VALUE - (size - 1)) {
                    base = a;
                }
            }
            if (base == windowBase[n] && (base < 0 || size == windowSize[n])) {
                continue;
            }
            if (base < 0) {
                windows.remove(this, n);
            } else {
                windows.put(this, n, base, size, d);
            }
            windowBase[n] = base;
            windowSize[n] = size;
            barWindowChanged(n, base);
        }
    }

    /**
     * Resets the header: BARs to their reset values, command 0, so every
     * window disappears. Subclasses' {@link #reset()} calls it.
     */
    protected final void resetHeader() {
        System.arraycopy(barReset, 0, bars, 0, BARS);
        command = 0;
        updateWindows();
    }

    /** Where BAR {@code n}'s window is (-1: not decoded). */
    public final long windowBase(int n) {
        return windowBase[n];
    }

    @Override
    public void reset() {
        resetHeader();
    }
}
