package io.jailhouse.config;

/**
 * {@code struct jailhouse_memory} (32 bytes): a range of physical memory
 * ({@code phys_start}, an offset into the reserved memory for cell RAM) mapped
 * at {@code virt_start} in the cell's guest-physical space.
 */
public record MemoryRegion(long physStart, long virtStart, long size, long flags) {
    public static final int BYTES = 32;

    public static final long READ = 0x0001;
    public static final long WRITE = 0x0002;
    public static final long EXECUTE = 0x0004;
    public static final long DMA = 0x0008;
    public static final long IO = 0x0010;
    public static final long COMM_REGION = 0x0020;
    public static final long LOADABLE = 0x0040;
    public static final long ROOTSHARED = 0x0080;
    public static final long NO_HUGEPAGES = 0x0100;
    public static final long IO_UNALIGNED = 0x8000;
    public static final int IO_WIDTH_SHIFT = 16;
    public static final long IO_8 = 0x10000;
    public static final long IO_16 = 0x20000;
    public static final long IO_32 = 0x40000;
    public static final long IO_64 = 0x80000;

    public static final long PAGE_SIZE = 0x1000;

    public static final FlagNames FLAG_NAMES = FlagNames.of("memory",
            "read", READ, "write", WRITE, "execute", EXECUTE, "dma", DMA, "io", IO,
            "comm-region", COMM_REGION, "loadable", LOADABLE, "rootshared", ROOTSHARED,
            "no-hugepages", NO_HUGEPAGES, "io-unaligned", IO_UNALIGNED,
            "io-8", IO_8, "io-16", IO_16, "io-32", IO_32, "io-64", IO_64);

    public static final MemoryRegion EMPTY = new MemoryRegion(0, 0, 0, 0);

    public boolean has(long flag) {
        return (flags & flag) == flag;
    }

    /**
     * RAM: memory a cell executes from, loads images into or lets devices DMA
     * into. Device windows (x86 configs give them READ|WRITE only, ARM ones
     * IO too) and the comm region are not.
     */
    public boolean isRam() {
        return (flags & (EXECUTE | DMA | LOADABLE)) != 0 && !has(COMM_REGION) && size != 0;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Last byte address (inclusive) of the physical range; callers check size first. */
    public long physEnd() {
        return physStart + size - 1;
    }

    public long virtEnd() {
        return virtStart + size - 1;
    }

    /** Sub-page regions are trapped and checked per access instead of mapped (spec 1.5). */
    public boolean isSubPage() {
        return (virtStart & (PAGE_SIZE - 1)) != 0 || (size & (PAGE_SIZE - 1)) != 0;
    }

    public boolean containsVirt(long address) {
        return size != 0 && Long.compareUnsigned(address, virtStart) >= 0
                && Long.compareUnsigned(address - virtStart, size) < 0;
    }

    public boolean overlapsPhys(MemoryRegion o) {
        return overlaps(physStart, size, o.physStart, o.size);
    }

    public boolean overlapsVirt(MemoryRegion o) {
        return overlaps(virtStart, size, o.virtStart, o.size);
    }

    /** Whether [a, a+as) and [b, b+bs) overlap, without overflow; empty ranges never overlap. */
    public static boolean overlaps(long a, long as, long b, long bs) {
        if (as == 0 || bs == 0) {
            return false;
        }
        // a <= b+bs-1 && b <= a+as-1, computed on unsigned distances.
        return Long.compareUnsigned(a, b) <= 0
                ? Long.compareUnsigned(b - a, as) < 0
                : Long.compareUnsigned(a - b, bs) < 0;
    }
}
