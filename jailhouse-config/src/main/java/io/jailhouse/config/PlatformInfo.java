package io.jailhouse.config;

import java.util.List;

/** {@code platform_info} of the system config (280 bytes at offset 76). */
public record PlatformInfo(long pciMmconfigBase, int pciMmconfigEndBus, int pciIsVirtual, int pciDomain,
        List<IommuUnit> iommuUnits, ArchPlatform arch) {
    public static final int BYTES = 280;

    public PlatformInfo {
        iommuUnits = List.copyOf(iommuUnits);
        if (iommuUnits.size() != IommuUnit.SLOTS) {
            throw new IllegalArgumentException("platform info has " + IommuUnit.SLOTS + " IOMMU slots, not "
                    + iommuUnits.size());
        }
    }

    /** Size of the MMCONFIG window: one MiB per bus. */
    public long mmconfigSize() {
        return pciMmconfigBase == 0 ? 0 : (long) (pciMmconfigEndBus + 1) << 20;
    }

    public List<IommuUnit> usedIommuUnits() {
        return iommuUnits.stream().filter(u -> u.type() != 0).toList();
    }
}
