package io.jailhouse.config.host;

import io.jailhouse.config.PciCapability;
import io.jailhouse.config.PciDevice;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PCI function of the host as sysfs shows it ({@code /sys/bus/pci/devices/
 * DOMAIN:BB:DD.F/config} and {@code resource}), reduced to what a Jailhouse
 * config says about it: type, BAR masks, the capabilities a cell may see
 * (with how many bytes of each and whether it may write them), and its
 * MSI/MSI-X resources.
 */
public record HostPciDevice(String address, int domain, int bdf, int vendorId, int deviceId, int classCode,
        int type, List<Long> barMasks, List<PciCapability> caps, int numMsiVectors, int msiBits,
        int numMsixVectors, int msixRegionSize, long msixAddress) {

    public static final String DIR = "/sys/bus/pci/devices";
    private static final Pattern ADDRESS = Pattern.compile("([0-9a-fA-F]{4,8}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\\.([0-7])");

    static final int CLASS_PCI_BRIDGE = 0x0604;
    static final int CAP_PM = 0x01;
    static final int CAP_MSI = 0x05;
    static final int CAP_EXP = 0x10;
    static final int CAP_MSIX = 0x11;

    // sysfs "resource" flag bits (include/linux/ioport.h)
    static final long IORESOURCE_IO = 0x100;
    static final long IORESOURCE_MEM = 0x200;
    static final long IORESOURCE_MEM_64 = 0x100000;

    private static final int MAX_CAPS = 48; // (256 - 64) / 4: more would mean a looping list

    public HostPciDevice {
        barMasks = List.copyOf(barMasks);
        caps = List.copyOf(caps);
    }

    /**
     * Reads one device directory.
     *
     * @param notes receives remarks about things skipped (unsupported capabilities)
     * @return empty if the device answers config reads with all ones (disabled or gone)
     */
    public static Optional<HostPciDevice> read(HostRoot root, String name, Consumer<String> notes)
            throws HostDataException {
        Matcher m = ADDRESS.matcher(name);
        String dir = DIR + "/" + name;
        if (!m.matches()) {
            throw new HostDataException(root.describe(dir), "'" + name + "' is not a PCI address DOMAIN:BB:DD.F");
        }
        int domain = Integer.parseInt(m.group(1), 16);
        int bus = Integer.parseInt(m.group(2), 16);
        int dev = Integer.parseInt(m.group(3), 16);
        int fn = Integer.parseInt(m.group(4));
        if (dev > 0x1f || domain > 0xffff) {
            throw new HostDataException(root.describe(dir), "'" + name + "' is not a valid PCI address");
        }
        int bdf = bus << 8 | dev << 3 | fn;

        PciConfigSpace cfg = new PciConfigSpace(root.readBytes(dir + "/config"), root.describe(dir + "/config"));
        if (cfg.u32(0) == 0xffffffffL) {
            notes.accept("PCI device " + name + " answers with all ones (disabled?): left out");
            return Optional.empty();
        }
        int classCode = cfg.u16(0x0a);
        int type = classCode == CLASS_PCI_BRIDGE ? PciDevice.TYPE_BRIDGE : PciDevice.TYPE_DEVICE;
        List<Long> masks = barMasks(root.readText(dir + "/resource"), root.describe(dir + "/resource"));

        List<PciCapability> caps = new ArrayList<>();
        long[] msix = {0};
        boolean express = readCapabilities(cfg, caps, msix);
        if (express && cfg.size() > PciConfigSpace.CONVENTIONAL_BYTES) {
            readExtendedCapabilities(cfg, caps, name, notes);
        }

        int msiVectors = 0;
        int msiBits = 0;
        int msixVectors = 0;
        int msixSize = 0;
        long msixAddress = 0;
        for (PciCapability c : caps) {
            if (c.id() == CAP_MSI) {
                int ctl = cfg.u16(c.start() + 2);
                msiVectors = 1 << ((ctl >> 1) & 7);
                msiBits = ((ctl >> 7) & 1) * PciDevice.MSI_64BITS | ((ctl >> 8) & 1) * PciDevice.MSI_MASKABLE;
            } else if (c.id() == CAP_MSIX) {
                if (msix[0] == 0) {
                    notes.accept("PCI device " + name + ": MSI-X table BAR is not assigned: MSI-X left out");
                    continue;
                }
                int ctl = cfg.u16(c.start() + 2);
                msixVectors = (ctl & 0x7ff) + 1;
                msixSize = (msixVectors * 16 + 0xfff) & ~0xfff; // the table, in whole pages
                msixAddress = msix[0];
            }
        }
        return Optional.of(new HostPciDevice(name, domain, bdf, cfg.u16(0), cfg.u16(2), classCode, type, masks,
                caps, msiVectors, msiBits, msixVectors, msixSize, msixAddress));
    }

    /**
     * The writable bits of each BAR, from the sizes of the resources sysfs lists
     * for BARs 0-5. A 64-bit memory BAR takes two slots: its mask's low word,
     * then its high word.
     */
    static List<Long> barMasks(String resourceText, String source) throws HostDataException {
        String[] lines = resourceText.split("\n");
        if (lines.length < 6) {
            throw new HostDataException(source, lines.length + " lines; expected at least 6 (one per BAR)");
        }
        List<Long> masks = new ArrayList<>(6);
        for (int n = 0; n < 6; n++) {
            String[] f = lines[n].trim().split("\\s+");
            if (f.length != 3) {
                throw new HostDataException(source + " line " + (n + 1), "'" + lines[n].trim() + "' is not 'START END FLAGS'");
            }
            long start;
            long end;
            long flags;
            try {
                start = Long.decode(f[0]);
                end = Long.decode(f[1]);
                flags = Long.decode(f[2]);
            } catch (NumberFormatException e) {
                throw new HostDataException(source + " line " + (n + 1), "'" + lines[n].trim() + "' has a field that is not a number");
            }
            long size = end - start; // size - 1, the bits the BAR decodes
            if ((flags & IORESOURCE_IO) != 0) {
                masks.add(~size & 0xffffffffL);
            } else if ((flags & IORESOURCE_MEM) != 0) {
                masks.add(~size & 0xffffffffL);
                if ((flags & IORESOURCE_MEM_64) != 0 && n < 5) {
                    masks.add(~size >>> 32);
                    n++;
                }
            } else {
                masks.add(0L);
            }
        }
        return masks;
    }

    /** Walks the standard list; returns whether a PCI Express capability is present. */
    private static boolean readCapabilities(PciConfigSpace cfg, List<PciCapability> caps, long[] msixAddress)
            throws HostDataException {
        if ((cfg.u16(0x06) & 0x10) == 0) { // status: no capability list
            return false;
        }
        boolean express = false;
        Set<Integer> seen = new HashSet<>();
        int ptr = cfg.u8(0x34) & 0xfc;
        while (ptr != 0) {
            if (ptr < PciConfigSpace.HEADER_BYTES) {
                throw new HostDataException(cfg.source(), String.format("capability pointer 0x%x points into the header", ptr));
            }
            if (!seen.add(ptr) || seen.size() > MAX_CAPS) {
                throw new HostDataException(cfg.source(), String.format("capability list loops at 0x%x", ptr));
            }
            int id = cfg.u8(ptr);
            int next = cfg.u8(ptr + 1) & 0xfc;
            int len;
            int flags;
            switch (id) {
                case CAP_PM -> { // nothing in it that could harm another cell
                    len = 8;
                    flags = PciCapability.WRITE;
                }
                case CAP_MSI -> { // writes are checked by the hypervisor
                    int ctl = cfg.u16(ptr + 2);
                    len = 10 + ((ctl & 0x80) != 0 ? 4 : 0) + ((ctl & 0x100) != 0 ? 10 : 0);
                    flags = PciCapability.WRITE;
                }
                case CAP_EXP -> { // side effects of writes not analysed: read-only
                    len = (cfg.u16(ptr + 2) & 0xf) >= 2 ? 60 : 20;
                    flags = 0;
                    express = true;
                }
                case CAP_MSIX -> { // writes are checked by the hypervisor
                    len = 12;
                    flags = PciCapability.WRITE;
                    msixAddress[0] = msixTableAddress(cfg, ptr);
                }
                default -> { // unknown to the hypervisor: let the cell see that it exists
                    len = 2;
                    flags = 0;
                }
            }
            caps.add(new PciCapability(id, ptr, len, flags));
            ptr = next;
        }
        return express;
    }

    private static long msixTableAddress(PciConfigSpace cfg, int cap) throws HostDataException {
        long table = cfg.u32(cap + 4);
        int bir = (int) (table & 7);
        if (bir > 5) {
            throw new HostDataException(cfg.source(), String.format(
                    "MSI-X capability at 0x%x names BAR %d; there are only 6", cap, bir));
        }
        long bar = cfg.u32(0x10 + bir * 4);
        if ((bar & 0x3) != 0) {
            throw new HostDataException(cfg.source(), String.format(
                    "MSI-X table is in BAR %d, which is not a memory BAR (0x%08x)", bir, bar));
        }
        if ((bar & 0x6) == 0x4) { // 64-bit memory BAR: the next BAR holds the high word
            if (bir == 5) {
                throw new HostDataException(cfg.source(), "MSI-X table BAR 5 claims to be 64-bit");
            }
            bar |= cfg.u32(0x14 + bir * 4) << 32;
        }
        long base = bar & ~0xfL;
        return base == 0 ? 0 : base + (table & ~7L);
    }

    private static void readExtendedCapabilities(PciConfigSpace cfg, List<PciCapability> caps, String name,
            Consumer<String> notes) throws HostDataException {
        Set<Integer> seen = new HashSet<>();
        int off = PciConfigSpace.CONVENTIONAL_BYTES;
        while (off != 0) {
            if (!seen.add(off) || seen.size() > (cfg.size() - PciConfigSpace.CONVENTIONAL_BYTES) / 4) {
                throw new HostDataException(cfg.source(), String.format("extended capability list loops at 0x%x", off));
            }
            long header = cfg.u32(off);
            if (header == 0 || header == 0xffffffffL) {
                break; // no (more) extended capabilities
            }
            int id = (int) (header & 0xffff);
            int next = (int) (header >>> 20) & 0xffc;
            if (next != 0 && next < PciConfigSpace.CONVENTIONAL_BYTES) {
                throw new HostDataException(cfg.source(), String.format(
                        "extended capability at 0x%x points to 0x%x, below 0x100", off, next));
            }
            if ((id & PciCapability.EXT_CAP) != 0) {
                // The config format marks extended ids with this bit; such an id cannot be expressed.
                notes.accept(String.format("PCI device %s: extended capability id 0x%x at 0x%x left out", name, id, off));
            } else {
                caps.add(new PciCapability(id | PciCapability.EXT_CAP, off, extendedLength(cfg, id, off), 0));
            }
            off = next;
        }
    }

    /** How many bytes of an extended capability a cell sees (all read-only). */
    private static int extendedLength(PciConfigSpace cfg, int id, int off) throws HostDataException {
        return switch (id) {
            case 0x01, 0x10 -> 64; // AER, SR-IOV
            case 0x02, 0x09 -> 16; // virtual channel: at least its first four dwords
            case 0x03, 0x1f -> 12; // serial number, PTM
            case 0x04, 0x19 -> 16; // power budgeting, secondary PCIe
            case 0x08 -> 4; // multi-function VC
            case 0x0e, 0x18, 0x1b -> 8; // ARI, LTR, PASID
            case 0x12 -> 48; // multicast
            case 0x0b -> { // vendor-specific: the VSEC header says the whole structure's length
                int len = (int) (cfg.u32(off + 4) >>> 20);
                yield Math.max(len, 8);
            }
            case 0x0d -> { // ACS, plus its egress control vector when that is implemented and enabled
                int acsCap = cfg.u16(off + 4);
                int acsCtl = cfg.u16(off + 6);
                int len = 8;
                if ((acsCap & 0x20) != 0 && (acsCtl & 0x20) != 0) {
                    int bits = acsCap >>> 8 == 0 ? 256 : acsCap >>> 8;
                    len += (bits + 31) / 32 * 4;
                }
                yield len;
            }
            default -> 4; // unknown: the header only, so the cell sees it exists
        };
    }

    /** {@code 00:1f.2}. */
    public String shortAddress() {
        return PciDevice.formatBdf(bdf);
    }
}
