package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.PlatformInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The PCI configuration space one cell sees (spec 7): its own functions at
 * their BDFs and nothing else. Reads of any other BDF return all ones;
 * writes to them are refused (fatal for the cell). The cell reaches it
 * through {@link #ports()} (0xcf8/0xcfc, with a per-cell address latch) and,
 * when the system config has an MMCONFIG window, through {@link #mmconfig()}.
 *
 * <p>A function is found by binary search over the cell's few BDFs: no
 * allocation, no lock. Built when the cell is created, immutable afterwards.
 */
public final class PciConfigSpace {
    private final String cellName;
    private final int[] bdfs;
    private final VirtualPciFunction[] functions;
    private final PciConfigPorts ports;
    private final PciMmconfig mmconfig;

    /**
     * @param functions the cell's emulated functions, each BDF at most once
     * @param platform the system config's platform info: MMCONFIG base and end bus (base 0: no MMCONFIG)
     * @throws IllegalArgumentException if two functions share a BDF
     */
    public PciConfigSpace(String cellName, List<? extends VirtualPciFunction> functions, PlatformInfo platform) {
        this(cellName, functions, platform.pciMmconfigBase(), platform.pciMmconfigEndBus());
    }

    /** As {@link #PciConfigSpace(String, List, PlatformInfo)}, with the MMCONFIG window given directly. */
    public PciConfigSpace(String cellName, List<? extends VirtualPciFunction> functions, long mmconfigBase,
            int mmconfigEndBus) {
        this.cellName = cellName;
        List<VirtualPciFunction> sorted = new ArrayList<>(functions);
        sorted.sort((a, b) -> Integer.compare(a.bdf(), b.bdf()));
        this.bdfs = new int[sorted.size()];
        this.functions = sorted.toArray(new VirtualPciFunction[0]);
        for (int i = 0; i < bdfs.length; i++) {
            bdfs[i] = this.functions[i].bdf();
            if (i > 0 && bdfs[i] == bdfs[i - 1]) {
                throw new IllegalArgumentException("cell \"" + cellName + "\": two PCI functions at "
                        + PciDevice.formatBdf(bdfs[i]));
            }
        }
        this.ports = new PciConfigPorts(this);
        this.mmconfig = mmconfigBase == 0 ? null
                : new PciMmconfig(this, mmconfigBase, (long) ((mmconfigEndBus & 0xff) + 1) << 20);
    }

    public String cellName() {
        return cellName;
    }

    /** The cell's function at {@code bdf}, or null. */
    public VirtualPciFunction function(int bdf) {
        int i = Arrays.binarySearch(bdfs, bdf);
        return i < 0 ? null : functions[i];
    }

    /** The cell's functions in BDF order. */
    public List<VirtualPciFunction> functions() {
        return List.of(functions);
    }

    /** The value at {@code reg} of {@code bdf}: all ones (in the low size*8 bits) where the cell has no function. */
    public int read(int bdf, int reg, int size) {
        VirtualPciFunction f = function(bdf);
        return f == null ? Pci.sizeMask(size) : f.readConfig(reg, size);
    }

    /** Whether writing {@code size} bytes at {@code reg} of {@code bdf} is allowed, whatever the value. */
    public boolean acceptsWrite(int bdf, int reg, int size) {
        VirtualPciFunction f = function(bdf);
        return f != null && f.acceptsConfigWrite(reg, size);
    }

    /** Whether writing {@code value} there is allowed. */
    public boolean acceptsWrite(int bdf, int reg, int size, int value) {
        VirtualPciFunction f = function(bdf);
        return f != null && f.acceptsConfigWrite(reg, size, value);
    }

    /** Performs an accepted write (a refused one is ignored). */
    public void write(int bdf, int reg, int size, int value) {
        VirtualPciFunction f = function(bdf);
        if (f != null && f.acceptsConfigWrite(reg, size, value)) {
            f.writeConfig(reg, size, value);
        }
    }

    /** The 0xcf8-0xcff ports: give the PIO bus ports {@link PciConfigPorts#BASE}, {@link PciConfigPorts#COUNT}. */
    public PciConfigPorts ports() {
        return ports;
    }

    /** The MMCONFIG window, or null when the system config has none (pci_mmconfig_base 0). */
    public PciMmconfig mmconfig() {
        return mmconfig;
    }

    /**
     * Resets every function and the address latch (cell creation, start,
     * load/shutdown), on the management thread with the cell's CPUs parked.
     */
    public void reset() {
        ports.resetLatch();
        for (VirtualPciFunction f : functions) {
            f.reset();
        }
    }
}
