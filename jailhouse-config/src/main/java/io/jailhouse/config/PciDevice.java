package io.jailhouse.config;

import java.util.List;

/**
 * {@code struct jailhouse_pci_device} (56 bytes): a PCI device, bridge or
 * ivshmem endpoint given to a cell.
 *
 * @param bdf bus << 8 | device << 3 | function
 * @param barMask six u32 writable-bit masks
 * @param msiBits the bit-field byte: bit 0 {@code msi_64bits}, bit 1 {@code msi_maskable}
 */
public record PciDevice(int type, int iommu, int domain, int bdf, List<Long> barMask, int capsStart,
        int numCaps, int numMsiVectors, int msiBits, int numMsixVectors, int msixRegionSize,
        long msixAddress, long shmemRegionsStart, int shmemDevId, int shmemPeers, int shmemProtocol) {
    public static final int BYTES = 56;

    public static final int TYPE_DEVICE = 0x01;
    public static final int TYPE_BRIDGE = 0x02;
    public static final int TYPE_IVSHMEM = 0x03;
    public static final String[] TYPE_NAMES = {null, "device", "bridge", "ivshmem"};

    public static final int MSI_64BITS = 0x1;
    public static final int MSI_MASKABLE = 0x2;

    public static final int SHMEM_PROTO_UNDEFINED = 0x0000;
    public static final int SHMEM_PROTO_VETH = 0x0001;

    /**
     * This project's extension: a {@link #TYPE_DEVICE} entry whose
     * {@code shmem_protocol} field (which upstream uses only for ivshmem and
     * ignores for devices) holds one of these asks the hypervisor to emulate
     * that device, since KVM cells get no physical PCI devices here. The value
     * is the emulated device's PCI device id. In YAML: {@code emulation: intel-hda};
     * in C: {@code .shmem_protocol = JAILHOUSE_PCI_EMULATE_INTEL_HDA}.
     */
    public static final int EMULATE_INTEL_HDA = 0x2668;
    public static final FlagNames EMULATIONS = FlagNames.of("emulation", "intel-hda", EMULATE_INTEL_HDA);

    /** Upstream limits checked at cell creation (spec 1.8). */
    public static final int IVSHMEM_MAX_MSIX_VECTORS = 16;
    public static final int IVSHMEM_MAX_PEERS = 12;

    public static final List<Long> BAR_MASK_NONE = List.of(0L, 0L, 0L, 0L, 0L, 0L);
    public static final List<Long> IVSHMEM_BAR_MASK_INTX = List.of(0xfffff000L, 0L, 0L, 0L, 0L, 0L);
    public static final List<Long> IVSHMEM_BAR_MASK_MSIX = List.of(0xfffff000L, 0xfffff000L, 0L, 0L, 0L, 0L);

    public PciDevice {
        barMask = List.copyOf(barMask);
        if (barMask.size() != 6) {
            throw new IllegalArgumentException("a PCI device has 6 BAR masks, not " + barMask.size());
        }
    }

    /** The emulation this device entry asks for ({@link #EMULATE_INTEL_HDA}), or 0 for a physical device. */
    public int emulation() {
        return type == TYPE_DEVICE ? shmemProtocol : 0;
    }

    public boolean isIvshmem() {
        return type == TYPE_IVSHMEM;
    }

    public boolean msi64Bits() {
        return (msiBits & MSI_64BITS) != 0;
    }

    public boolean msiMaskable() {
        return (msiBits & MSI_MASKABLE) != 0;
    }

    public static String typeName(int type) {
        return type > 0 && type < TYPE_NAMES.length ? TYPE_NAMES[type] : Integer.toString(type);
    }

    /** {@code BB:DD.F}, as lspci and upstream messages write it. */
    public static String formatBdf(int bdf) {
        return String.format("%02x:%02x.%x", (bdf >> 8) & 0xff, (bdf >> 3) & 0x1f, bdf & 7);
    }

    /**
     * Parses {@code BB:DD.F} (or a plain number).
     *
     * @throws IllegalArgumentException naming the text
     */
    public static int parseBdf(String text) {
        String s = text.trim();
        var m = java.util.regex.Pattern.compile("(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\\.([0-7])")
                .matcher(s);
        if (m.matches()) {
            int bus = Integer.parseInt(m.group(2), 16);
            int dev = Integer.parseInt(m.group(3), 16);
            int fn = Integer.parseInt(m.group(4));
            if (dev > 0x1f) {
                throw new IllegalArgumentException("PCI device number in '" + text + "' exceeds 1f");
            }
            return bus << 8 | dev << 3 | fn;
        }
        long v;
        try {
            v = Numbers.parseUnsigned(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not a PCI address like 01:0c.0");
        }
        if (v > 0xffff) {
            throw new IllegalArgumentException("BDF " + text + " does not fit 16 bits");
        }
        return (int) v;
    }
}
