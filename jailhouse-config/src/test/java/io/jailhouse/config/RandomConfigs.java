package io.jailhouse.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Configs with every field and array filled with random values, names and
 * unknown type codes included, that the binary codec can hold; for the
 * round-trip tests of every writer.
 */
final class RandomConfigs {
    private RandomConfigs() {
    }

    static JailhouseConfig config(Random rnd) {
        Architecture arch = Architecture.values()[rnd.nextInt(3)];
        CellConfig cell = cell(rnd, arch);
        if (rnd.nextBoolean()) {
            return cell;
        }
        List<IommuUnit> iommus = new ArrayList<>();
        for (int i = 0; i < IommuUnit.SLOTS; i++) {
            iommus.add(switch (rnd.nextInt(4)) {
                case 0 -> IommuUnit.UNUSED;
                // The AMD shape upstream's AMD boards use: a BDF, two capability offsets and features.
                case 1 -> IommuUnit.amd(wild(rnd, -1L), wild(rnd, 0xffffffffL), (int) wild(rnd, 0xffff),
                        (int) wild(rnd, 0xff), (int) wild(rnd, 0xff), wild(rnd, 0xffffffffL));
                default -> new IommuUnit(rnd.nextInt(8), wild(rnd, -1L), wild(rnd, 0xffffffffL), wild(rnd, -1L),
                        wild(rnd, 0xffffffffL));
            });
        }
        ArchPlatform ap = arch == Architecture.X86
                ? new X86Platform((int) wild(rnd, 0xffff), (int) wild(rnd, 0xff), (int) wild(rnd, 0xff),
                        wild(rnd, 0xffffffffL), wild(rnd, 0xffffffffL), wild(rnd, 0xffffffffL))
                : new ArmPlatform((int) wild(rnd, 0xff), (int) wild(rnd, 0xff), (int) wild(rnd, 0xffff),
                        wild(rnd, -1L), wild(rnd, -1L), wild(rnd, -1L), wild(rnd, -1L), wild(rnd, -1L));
        PlatformInfo p = new PlatformInfo(wild(rnd, -1L), (int) wild(rnd, 0xff), (int) wild(rnd, 0xff),
                (int) wild(rnd, 0xffff), iommus, ap);
        return new SystemConfig(arch, wild(rnd, 0xffffffffL), memory(rnd), console(rnd), p, cell,
                rnd.nextBoolean() ? 0 : rnd.nextLong());
    }

    static CellConfig cell(Random rnd, Architecture arch) {
        int nameLength = rnd.nextInt(CellConfig.NAME_MAXLEN + 1);
        StringBuilder name = new StringBuilder();
        int kind = rnd.nextInt(3);
        if (kind == 0) {
            // Names a YAML reader would take for something else unless quoted.
            String[] tricky = {"null", "yes", "No", "~", "0x10", "12", "1e3", " lead", "trail ", "#x", "a: b", "- x",
                "[1]", "{a}", "'q'", "\"d\"", "back\\slash", "!tag", "&anchor", "*ref", "%x", "@x", "`x", ""};
            name.append(tricky[rnd.nextInt(tricky.length)]);
        }
        for (int i = name.length(); i < nameLength; i++) {
            // Printable ASCII, or any byte but NUL.
            name.append((char) (kind == 1 ? 0x20 + rnd.nextInt(0x5f) : 1 + rnd.nextInt(255)));
        }
        int[] cpuSizes = {0, 1, 3, 8, 16, 20, 64};
        byte[] cpus = new byte[cpuSizes[rnd.nextInt(cpuSizes.length)]];
        rnd.nextBytes(cpus);
        List<MemoryRegion> mem = new ArrayList<>();
        for (int i = rnd.nextInt(6); i > 0; i--) {
            mem.add(rnd.nextInt(4) == 0 ? MemoryRegion.EMPTY : memory(rnd));
        }
        List<CacheRegion> caches = new ArrayList<>();
        for (int i = rnd.nextInt(3); i > 0; i--) {
            caches.add(new CacheRegion(wild(rnd, 0xffffffffL), wild(rnd, 0xffffffffL), (int) wild(rnd, 0xff),
                    (int) wild(rnd, 0xff), (int) wild(rnd, 0xffff)));
        }
        List<Irqchip> irqchips = new ArrayList<>();
        for (int i = rnd.nextInt(3); i > 0; i--) {
            byte[] pins = new byte[Irqchip.PIN_BITMAP_BYTES];
            rnd.nextBytes(pins);
            irqchips.add(new Irqchip(wild(rnd, -1L), wild(rnd, 0xffffffffL), wild(rnd, 0xffffffffL),
                    Bitmap.ofBytes(pins)));
        }
        List<PioRange> pio = new ArrayList<>();
        for (int i = rnd.nextInt(5); i > 0; i--) {
            pio.add(new PioRange((int) wild(rnd, 0xffff), (int) wild(rnd, 0xffff)));
        }
        List<PciDevice> pci = new ArrayList<>();
        for (int i = rnd.nextInt(4); i > 0; i--) {
            List<Long> bars = new ArrayList<>();
            for (int b = 0; b < 6; b++) {
                bars.add(wild(rnd, 0xffffffffL));
            }
            pci.add(new PciDevice((int) wild(rnd, 0xff), (int) wild(rnd, 0xff), (int) wild(rnd, 0xffff),
                    (int) wild(rnd, 0xffff), rnd.nextBoolean() ? PciDevice.IVSHMEM_BAR_MASK_MSIX : bars,
                    (int) wild(rnd, 0xffff), (int) wild(rnd, 0xffff), (int) wild(rnd, 0xff),
                    rnd.nextInt(4) == 0 ? rnd.nextInt(256) : rnd.nextInt(4), (int) wild(rnd, 0xffff),
                    (int) wild(rnd, 0xffff), wild(rnd, -1L), wild(rnd, 0xffffffffL), (int) wild(rnd, 0xff),
                    (int) wild(rnd, 0xff), (int) wild(rnd, 0xffff)));
        }
        List<PciCapability> caps = new ArrayList<>();
        for (int i = rnd.nextInt(5); i > 0; i--) {
            caps.add(new PciCapability((int) wild(rnd, 0xffff), (int) wild(rnd, 0xffff), (int) wild(rnd, 0xffff),
                    (int) wild(rnd, 0xffff)));
        }
        List<Long> streams = new ArrayList<>();
        for (int i = rnd.nextInt(3); i > 0; i--) {
            streams.add(wild(rnd, 0xffffffffL));
        }
        return new CellConfig(arch, name.toString(), wild(rnd, 0xffffffffL), wild(rnd, 0xffffffffL),
                Bitmap.ofBytes(cpus), mem, caches, irqchips, pio, pci, caps, streams, wild(rnd, 0xffffffffL),
                wild(rnd, -1L), wild(rnd, -1L), console(rnd));
    }

    static MemoryRegion memory(Random rnd) {
        return new MemoryRegion(wild(rnd, -1L), wild(rnd, -1L), wild(rnd, -1L), wild(rnd, -1L));
    }

    static Console console(Random rnd) {
        if (rnd.nextInt(3) == 0) {
            return Console.NONE;
        }
        return new Console(wild(rnd, -1L), wild(rnd, 0xffffffffL), (int) wild(rnd, 0xffff), (int) wild(rnd, 0xffff),
                wild(rnd, 0xffffffffL), wild(rnd, 0xffffffffL), wild(rnd, -1L));
    }

    /** Zero, a small number or all bits random, within the field's mask. */
    static long wild(Random rnd, long mask) {
        return switch (rnd.nextInt(4)) {
            case 0 -> 0;
            case 1 -> rnd.nextInt(16) & mask;
            default -> rnd.nextLong() & mask;
        };
    }
}
