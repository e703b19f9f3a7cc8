package io.jailhouse.config;

/**
 * {@code struct jailhouse_pci_capability} (8 bytes).
 *
 * @param id standard capability id, or extended id | {@link #EXT_CAP}
 */
public record PciCapability(int id, int start, int len, int flags) {
    public static final int BYTES = 8;
    public static final int EXT_CAP = 0x8000;
    public static final int WRITE = 0x0001;
    public static final FlagNames FLAG_NAMES = FlagNames.of("PCI capability", "write", WRITE);

    public boolean isExtended() {
        return (id & EXT_CAP) != 0;
    }
}
