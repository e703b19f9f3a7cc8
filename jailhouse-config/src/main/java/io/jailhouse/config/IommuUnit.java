package io.jailhouse.config;

/**
 * {@code struct jailhouse_iommu} (28 bytes). The 12-byte union at offset 16 is
 * kept as its raw words so that any file reproduces exactly; the AMD and TI PVU
 * views are derived from them.
 *
 * @param unionLow bytes 16..23 (amd: bdf, base_cap, msi_cap, features; pvu: tlb_base)
 * @param unionHigh bytes 24..27 (pvu: tlb_size)
 */
public record IommuUnit(long type, long base, long size, long unionLow, long unionHigh) {
    public static final int BYTES = 28;
    public static final int SLOTS = 8;

    public static final int TYPE_AMD = 1;
    public static final int TYPE_INTEL = 2;
    public static final int TYPE_SMMUV3 = 3;
    public static final int TYPE_PVU = 4;
    public static final int TYPE_ARM_MMU500 = 5;
    public static final String[] TYPE_NAMES = {"none", "amd", "intel", "smmuv3", "pvu", "arm-mmu500"};

    public static final IommuUnit UNUSED = new IommuUnit(0, 0, 0, 0, 0);

    public static IommuUnit amd(long base, long size, int bdf, int baseCap, int msiCap, long features) {
        long low = (bdf & 0xffffL) | (baseCap & 0xffL) << 16 | (msiCap & 0xffL) << 24 | (features & 0xffffffffL) << 32;
        return new IommuUnit(TYPE_AMD, base, size, low, 0);
    }

    public static IommuUnit pvu(long base, long size, long tlbBase, long tlbSize) {
        return new IommuUnit(TYPE_PVU, base, size, tlbBase, tlbSize);
    }

    public boolean isUnused() {
        return equals(UNUSED);
    }

    public int amdBdf() {
        return (int) (unionLow & 0xffff);
    }

    public int amdBaseCap() {
        return (int) (unionLow >>> 16 & 0xff);
    }

    public int amdMsiCap() {
        return (int) (unionLow >>> 24 & 0xff);
    }

    public long amdFeatures() {
        return unionLow >>> 32;
    }

    public static String typeName(long type) {
        return type >= 0 && type < TYPE_NAMES.length ? TYPE_NAMES[(int) type] : Long.toString(type);
    }
}
