package io.jailhouse.cli.linux;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.Irqchip;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PioRange;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Where Linux and what it boots with go in a cell's memory (spec 14): the
 * loader at 0, the boot parameters at 0x1000, the whole bzImage so that
 * its protected-mode part starts at {@code pref_address}, the initrd
 * page-aligned after the kernel's decompression space; and what the cell
 * config tells the kernel (memory map, IOAPIC, UARTs).
 *
 * @param kernelAddress where the bzImage file is loaded
 * @param initrdAddress where the initrd is loaded (0 without one)
 * @param initrdSize its bytes (0 without one)
 * @param memoryMap the e820 map: the cell's RAM and its comm region
 * @param standardIoapic whether the cell has an IOAPIC at the standard address
 * @param uartFlags bit n: the cell has exactly the 8-port range of {@link #UART_PORTS}[n]
 */
public record LinuxBootLayout(long kernelAddress, long initrdAddress, long initrdSize, List<E820Entry> memoryMap,
        boolean standardIoapic, int uartFlags) {

    public static final long LOADER_ADDRESS = 0;
    /** The loader is one 64 KiB inmate image. */
    public static final long LOADER_SIZE = 0x10000;
    public static final long PARAMS_ADDRESS = 0x1000;
    public static final long SETUP_DATA_ADDRESS = 0x2000;
    public static final long CMDLINE_ADDRESS = SETUP_DATA_ADDRESS + LinuxBootParams.SETUP_DATA_BYTES;
    /** The loader keeps [0x1000, 0x3000) free for the parameters (inmates/Makefile). */
    public static final long PARAMS_END = 0x3000;
    public static final long STANDARD_IOAPIC_ADDRESS = 0xfec00000L;
    /** COM1 to COM4, in the order of setup_data's flags. */
    public static final int[] UART_PORTS = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
    public static final int UART_PORT_COUNT = 8;
    public static final int MAX_E820_ENTRIES = 128;
    static final long PAGE = 0x1000;
    /** ramdisk_image is 32 bits wide. */
    static final long INITRD_LIMIT = 1L << 32;

    public static final int E820_RAM = 1;
    public static final int E820_RESERVED = 2;

    /** One e820 entry: {@code addr} u64, {@code size} u64, {@code type} u32. */
    public record E820Entry(long address, long size, int type) {
    }

    public LinuxBootLayout {
        memoryMap = List.copyOf(memoryMap);
    }

    /**
     * The layout for booting {@code kernel} in {@code cell} with an initrd of
     * {@code initrdSize} bytes (0: none) and a command line of
     * {@code cmdlineBytes} bytes without its NUL; {@code sizeFactor} is
     * upstream's {@code -k}. Says what does not fit, and where.
     */
    public static LinuxBootLayout of(CellConfig cell, BzImage kernel, long initrdSize, OptionalInt sizeFactor,
            int cmdlineBytes) throws LinuxBootException {
        String name = "cell \"" + cell.name() + "\"";
        if (cell.cpuResetAddress() != LOADER_ADDRESS) {
            throw new LinuxBootException(String.format(
                    "%s: cpu_reset_address is 0x%x; Linux boots in a cell whose CPUs start at 0, where the loader goes",
                    name, cell.cpuResetAddress()));
        }
        List<MemoryRegion> ram = cell.memoryRegions().stream().filter(LinuxBootLayout::isLinuxRam).toList();
        requireLoadable(name, ram, LOADER_ADDRESS, LOADER_SIZE, "the loader and the boot parameters");

        long kernelEnd = Math.max(kernel.loadAddress() + kernel.bytes().length, kernel.initEnd());
        requireLoadable(name, ram, kernel.loadAddress(), kernelEnd - kernel.loadAddress(),
                "the kernel and its decompression space (pref_address + init_size)");

        long initrdAddress = 0;
        if (initrdSize > 0) {
            int factor = sizeFactor.orElse(kernel.compression().sizeFactor);
            long upstreamPlace = kernel.loadAddress() + (long) factor * kernel.bytes().length;
            // Upstream's place can fall inside the decompression window of a small kernel: never below its end.
            initrdAddress = pageAlign(Math.max(upstreamPlace, kernel.initEnd()));
            requireLoadable(name, ram, initrdAddress, initrdSize, "the initrd (" + initrdSize + " bytes)");
            if (initrdAddress + initrdSize > INITRD_LIMIT) {
                throw new LinuxBootException(String.format("%s: the initrd would end at 0x%x, above 4 GiB",
                        name, initrdAddress + initrdSize));
            }
        }

        long longest = Math.min(kernel.cmdlineSize(), PARAMS_END - CMDLINE_ADDRESS - 1);
        if (cmdlineBytes > longest) {
            throw new LinuxBootException("the command line has " + cmdlineBytes + " bytes; at most " + longest
                    + " fit (the kernel's cmdline_size and the space before 0x" + Long.toHexString(PARAMS_END) + ")");
        }

        List<E820Entry> map = new ArrayList<>();
        for (MemoryRegion r : cell.memoryRegions()) {
            boolean comm = r.has(MemoryRegion.COMM_REGION);
            if (r.size() != 0 && (isLinuxRam(r) || comm)) {
                map.add(new E820Entry(r.virtStart(), r.size(), comm ? E820_RESERVED : E820_RAM));
            }
        }
        if (map.size() > MAX_E820_ENTRIES) {
            throw new LinuxBootException(name + ": " + map.size() + " RAM and comm regions; the e820 map holds "
                    + MAX_E820_ENTRIES);
        }

        boolean ioapic = false;
        for (Irqchip chip : cell.irqchips()) {
            ioapic |= chip.address() == STANDARD_IOAPIC_ADDRESS;
        }
        int uarts = 0;
        for (int n = 0; n < UART_PORTS.length; n++) {
            for (PioRange p : cell.pioRegions()) {
                if (p.base() == UART_PORTS[n] && p.length() == UART_PORT_COUNT) {
                    uarts |= 1 << n;
                }
            }
        }
        return new LinuxBootLayout(kernel.loadAddress(), initrdAddress, initrdSize, map, ioapic, uarts);
    }

    /**
     * RAM to Linux, by upstream's tool's rule: readable, writable,
     * executable and DMA-capable, and neither I/O, comm region nor shared
     * with the root cell.
     */
    public static boolean isLinuxRam(MemoryRegion r) {
        long considered = MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.EXECUTE | MemoryRegion.DMA
                | MemoryRegion.IO | MemoryRegion.COMM_REGION | MemoryRegion.ROOTSHARED;
        long wanted = MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.EXECUTE | MemoryRegion.DMA;
        return r.size() != 0 && (r.flags() & considered) == wanted;
    }

    private static void requireLoadable(String name, List<MemoryRegion> ram, long start, long size, String what)
            throws LinuxBootException {
        for (MemoryRegion r : ram) {
            if (r.has(MemoryRegion.LOADABLE) && start >= r.virtStart() && size <= r.size()
                    && start - r.virtStart() <= r.size() - size) {
                return;
            }
        }
        throw new LinuxBootException(String.format(
                "%s: %s need 0x%x-0x%x inside one loadable RAM region (read, write, execute, dma, loadable)", name,
                what, start, start + size - 1));
    }

    static long pageAlign(long a) {
        return (a + PAGE - 1) & -PAGE;
    }
}
