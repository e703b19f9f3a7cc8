package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.device.FaultReporter;
import io.jailhouse.hypervisor.device.PioDevice;

/**
 * Configuration mechanism #1 for one cell (spec 7): the address latch at
 * 0xcf8 and the data window 0xcfc-0xcff, as upstream's
 * {@code x86_pci_config_handler}.
 *
 * <ul>
 * <li>0xcf8: 4-byte accesses only; reads return the latch, writes set it.
 *     The latch is per cell (shared by its CPUs, as upstream); the enable
 *     bit and bits 24-30 are ignored: BDF = latch bits 8-23, register =
 *     {@code latch & 0xfc} plus the data port's offset.
 * <li>0xcfc-0xcff: 1, 2 or 4 bytes not crossing 0xcff. Reads of a BDF the
 *     cell does not have return all ones; writes to it, and writes the
 *     function's policy refuses, are invalid.
 * <li>0xcf9-0xcfb on their own (e.g. the reset control register 0xcf9):
 *     invalid, reported with the generic {@code Invalid PIO} line as upstream.
 * </ul>
 *
 * <p>Invalid accesses make {@link #accepts}/{@link #acceptsWrite} return
 * false (the vCPU fails the cell) and are recorded for
 * {@link #lastFaultLine()}, which gives upstream's lines:
 * {@code FATAL: Invalid PCI config write, device 00:1b.0, reg: 0x44, size: 2}
 * for a refused register and
 * {@code FATAL: Invalid PCI config read, port: 0xcf8, size: 2} for a bad
 * use of the ports.
 */
public final class PciConfigPorts implements PioDevice, FaultReporter {
    public static final int BASE = 0xcf8;
    public static final int COUNT = 8;
    public static final int ADDRESS_PORT = 0xcf8;
    public static final int DATA_PORT = 0xcfc;

    private static final long KIND_GENERIC = 1;
    private static final long KIND_PORT = 2;
    private static final long KIND_DEVICE = 3;

    private final PciConfigSpace space;
    private volatile int latch;
    /** What was refused last: kind << 60 | write << 56 | size << 48 | bdf << 32 | reg << 16 | port; 0 = nothing. */
    private volatile long lastFault;

    PciConfigPorts(PciConfigSpace space) {
        this.space = space;
    }

    /** The address latch as the cell last wrote it. */
    public int latch() {
        return latch;
    }

    void resetLatch() {
        latch = 0;
    }

    @Override
    public boolean accepts(int port, int size, boolean write) {
        return check(port, size, write, false, 0);
    }

    @Override
    public boolean acceptsWrite(int port, int size, int value) {
        return check(port, size, true, true, value);
    }

    private boolean check(int port, int size, boolean write, boolean withValue, int value) {
        if (port == ADDRESS_PORT) {
            if (size == 4) {
                return true;
            }
            return refuse(KIND_PORT, write, size, 0, 0, port);
        }
        if (port < DATA_PORT || port >= DATA_PORT + 4) {
            return refuse(KIND_GENERIC, write, size, 0, 0, port);
        }
        if (port + size > DATA_PORT + 4 || (size != 1 && size != 2 && size != 4)) {
            return refuse(KIND_PORT, write, size, 0, 0, port);
        }
        if (!write) {
            return true;
        }
        int a = latch;
        int bdf = bdf(a);
        int reg = register(a, port);
        boolean ok = withValue ? space.acceptsWrite(bdf, reg, size, value) : space.acceptsWrite(bdf, reg, size);
        return ok || refuse(KIND_DEVICE, true, size, bdf, reg, port);
    }

    private boolean refuse(long kind, boolean write, int size, int bdf, int reg, int port) {
        lastFault = kind << 60 | (write ? 1L : 0L) << 56 | (long) (size & 0xff) << 48 | (long) (bdf & 0xffff) << 32
                | (long) (reg & 0xffff) << 16 | (port & 0xffff);
        return false;
    }

    private static int bdf(int latch) {
        return (latch >>> 8) & 0xffff;
    }

    private static int register(int latch, int port) {
        return (latch & 0xfc) + (port - DATA_PORT);
    }

    @Override
    public int read(int port, int size) {
        if (port == ADDRESS_PORT) {
            return latch;
        }
        int a = latch;
        return space.read(bdf(a), register(a, port), size);
    }

    @Override
    public void write(int port, int size, int value) {
        if (port == ADDRESS_PORT) {
            if (size == 4) {
                latch = value;
            }
            return;
        }
        if (port >= DATA_PORT && port + size <= DATA_PORT + 4) {
            int a = latch;
            space.write(bdf(a), register(a, port), size, value & Pci.sizeMask(size));
        }
    }

    @Override
    public String lastFaultLine() {
        long f = lastFault;
        int kind = (int) (f >>> 60);
        String dir = ((f >>> 56) & 1) != 0 ? "write" : "read";
        int size = (int) (f >>> 48) & 0xff;
        int bdf = (int) (f >>> 32) & 0xffff;
        int reg = (int) (f >>> 16) & 0xffff;
        int port = (int) f & 0xffff;
        if (kind == KIND_PORT) {
            return portFaultLine(port, size, dir.equals("write"));
        }
        if (kind == KIND_DEVICE) {
            String line = String.format("FATAL: Invalid PCI config %s, device %s, reg: 0x%x, size: %d", dir,
                    PciDevice.formatBdf(bdf), reg, size);
            return withCause(space.function(bdf), line);
        }
        return null;
    }

    /**
     * Upstream's line for a malformed use of the config ports (0xcf8 not
     * with 4 bytes, a data access crossing 0xcff), also for an access the
     * PIO bus never handed to this device because it runs past 0xcff; null
     * for a port outside 0xcf8/0xcfc-0xcff.
     */
    public static String portFaultLine(int port, int size, boolean write) {
        if (port != ADDRESS_PORT && (port < DATA_PORT || port >= DATA_PORT + 4)) {
            return null;
        }
        return String.format("FATAL: Invalid PCI config %s, port: 0x%x, size: %d", write ? "write" : "read", port,
                size);
    }

    /** Puts the function's own FATAL line (e.g. ivshmem's MSI-X target check) before {@code line}, as upstream prints both. */
    static String withCause(VirtualPciFunction f, String line) {
        String cause = f instanceof FaultReporter r ? r.lastFaultLine() : null;
        return cause == null ? line : cause + "\n" + line;
    }
}
