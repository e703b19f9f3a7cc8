package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.device.FaultReporter;
import io.jailhouse.hypervisor.device.MmioDevice;

/**
 * The MMCONFIG (ECAM) window of one cell, {@code [pci_mmconfig_base,
 * +(end_bus+1) MiB)}, trapped in every cell (spec 7): offset bits 12-27 are
 * the BDF, bits 0-11 the register. Accesses are 1, 2 or 4 bytes inside one
 * dword; reads of a BDF the cell does not have return all ones; writes to
 * it, writes the function refuses and malformed accesses are invalid, with
 * upstream's line {@code FATAL: Invalid PCI MMCONFIG write, device 00:1b.0,
 * reg: 0x44, size: 4} (for a malformed read, which upstream does not
 * distinguish, the same line says {@code read}).
 */
public final class PciMmconfig implements MmioDevice, FaultReporter {
    private final PciConfigSpace space;
    private final long base;
    private final long size;
    /** What was refused last: 1 << 60 | write << 56 | size << 48 | offset (28 bits); 0 = nothing. */
    private volatile long lastFault;

    PciMmconfig(PciConfigSpace space, long base, long size) {
        this.space = space;
        this.base = base;
        this.size = size;
    }

    /** Guest-physical base: give the MMIO bus {@code base(), size()}. */
    public long base() {
        return base;
    }

    public long size() {
        return size;
    }

    @Override
    public boolean accepts(long offset, int size, boolean write) {
        return check(offset, size, write, false, 0);
    }

    @Override
    public boolean acceptsWrite(long offset, int size, long value) {
        return check(offset, size, true, true, (int) value);
    }

    private boolean check(long offset, int size, boolean write, boolean withValue, int value) {
        if (offset < 0 || offset >= this.size || !Pci.withinDword((int) offset & 0xfff, size)) {
            return refuse(write, size, offset);
        }
        if (!write) {
            return true;
        }
        int bdf = (int) (offset >>> 12) & 0xffff;
        int reg = (int) offset & 0xfff;
        boolean ok = withValue ? space.acceptsWrite(bdf, reg, size, value) : space.acceptsWrite(bdf, reg, size);
        return ok || refuse(true, size, offset);
    }

    private boolean refuse(boolean write, int size, long offset) {
        lastFault = 1L << 60 | (write ? 1L : 0L) << 56 | (long) (size & 0xff) << 48 | (offset & 0x0fff_ffffL);
        return false;
    }

    @Override
    public long read(long offset, int size) {
        return space.read((int) (offset >>> 12) & 0xffff, (int) offset & 0xfff, size) & 0xffff_ffffL;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset >= 0 && offset < this.size && Pci.withinDword((int) offset & 0xfff, size)) {
            space.write((int) (offset >>> 12) & 0xffff, (int) offset & 0xfff, size, (int) value & Pci.sizeMask(size));
        }
    }

    @Override
    public String lastFaultLine() {
        long f = lastFault;
        if (f == 0) {
            return null;
        }
        boolean write = ((f >>> 56) & 1) != 0;
        int bdf = (int) (f >>> 12) & 0xffff;
        String line = String.format("FATAL: Invalid PCI MMCONFIG %s, device %s, reg: 0x%x, size: %d",
                write ? "write" : "read", PciDevice.formatBdf(bdf), (int) f & 0xfff, (int) (f >>> 48) & 0xff);
        return write ? PciConfigPorts.withCause(space.function(bdf), line) : line;
    }
}
