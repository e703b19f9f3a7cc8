package io.jailhouse.config.host;

import io.jailhouse.config.Architecture;
import io.jailhouse.config.Bitmap;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.Console;
import io.jailhouse.config.IommuUnit;
import io.jailhouse.config.Irqchip;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciCapability;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.PioRange;
import io.jailhouse.config.PlatformInfo;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.config.X86Platform;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Turns a {@link HostInventory} into the system configuration of that host:
 * all its CPUs, memory and devices in the root cell, plus the hypervisor memory
 * and the window cells' memory comes from.
 *
 * <p>Follows upstream's rules for what of {@code /proc/iomem} and
 * {@code /proc/ioports} the root cell gets, with one difference of design:
 * cell memory here is a backing file whose offsets are the configs'
 * {@code phys_start} values, so no host RAM has to be reserved with
 * {@code memmap=}. Without a reservation the hypervisor memory and the inmate
 * window go where the bundled cell configs expect them, 0x3a000000.
 */
public final class SystemConfigDerivation {
    public static final String ROOT_CELL_NAME = "RootCell";
    public static final String INMATE_MEMORY_NAME = "JAILHOUSE Inmate Memory";
    /** Where hypervisor memory starts when the kernel has no {@code memmap=} reservation. */
    public static final long DEFAULT_HYPERVISOR_START = 0x3a000000L;
    /** The memory the bundled demo cells use: inmate RAM from 0x3a600000, ivshmem up to 0x3f200000. */
    public static final long DEMO_CELLS_START = 0x3a600000L;
    public static final long DEMO_CELLS_END = 0x3f1fffffL;

    static final long ROM_START = 0xc0000;
    static final long ROM_END = 0xdffff;
    static final long VGA_WINDOW = 0xa0000;
    /** Ports from here up belong to PCI devices or nothing; below are the legacy ones. */
    static final int LEGACY_PORTS_END = 0xd00;
    static final int PCI_CONF1 = 0xcf8;
    /** Legacy ports the root cell keeps (PIT, keyboard, NMI status, i8042, RTC, serial ports). */
    static final Set<Integer> ROOT_LEGACY_PORTS = Set.of(0x40, 0x60, 0x61, 0x64, 0x70, 0x2f8, 0x3f8);
    static final long RAM_FLAGS = MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.EXECUTE | MemoryRegion.DMA;
    static final long DEVICE_FLAGS = MemoryRegion.READ | MemoryRegion.WRITE;
    /** Interrupt remapping entries upstream keeps for non-MSI sources; MSI vectors come on top. */
    static final int BASE_INTERRUPTS = 120;

    /**
     * The derived config with what the user should know about it.
     *
     * @param regionNames the iomem name each memory region came from, by index
     * @param notes decisions taken and things left out
     */
    public record Result(SystemConfig config, List<String> regionNames, List<String> notes) {
        public Result {
            regionNames = List.copyOf(regionNames);
            notes = List.copyOf(notes);
        }
    }

    /** An inclusive address range with the name /proc/iomem gave it. */
    private record Span(long start, long end, String name) {
        boolean isRam() {
            return isRamName(name);
        }

        boolean overlaps(long s, long e) {
            return Long.compareUnsigned(start, e) <= 0 && Long.compareUnsigned(s, end) <= 0;
        }

        String describe() {
            return String.format("0x%x-0x%x %s", start, end, name);
        }
    }

    private SystemConfigDerivation() {
    }

    public static Result derive(HostInventory host, DerivationOptions options) throws HostDataException {
        if (!host.cpuInfo().isX86()) {
            throw new HostDataException(host.root().describe(CpuInfo.PATH),
                    "vendor '" + host.cpuInfo().vendor() + "' is not x86; config create supports x86 hosts");
        }
        List<String> notes = new ArrayList<>(host.notes());

        List<Span> spans = memorySpans(host);
        long hvStart = placeHypervisor(host, options, spans, notes);
        long inmateStart = hvStart + options.hypervisorMemory();
        spans.add(new Span(inmateStart, inmateStart + options.inmateMemory() - 1, INMATE_MEMORY_NAME));
        List<String> names = new ArrayList<>();
        List<MemoryRegion> regions = toRegions(spans, names, notes);

        List<PioRange> pio = new ArrayList<>();
        int pmTimer = rootPorts(host, pio, notes);

        List<PciCapability> caps = new ArrayList<>();
        List<PciDevice> devices = pciDevices(host, caps);
        long vtdLimit = interruptLimit(host);

        List<Irqchip> irqchips = new ArrayList<>();
        Bitmap allPins = Bitmap.of(Irqchip.PIN_BITMAP_BYTES, IntStream.range(0, Irqchip.PIN_BITMAP_BYTES * 8).toArray());
        for (AcpiTable.IoApic a : host.ioApics()) {
            // No IOMMU scope here, so no source BDF: id 0 (iommu 0, bdf 0).
            irqchips.add(new Irqchip(a.address(), 0, 0, allPins));
        }

        long mmcfgBase = 0;
        int mmcfgEndBus = 0;
        if (host.mmconfig().size() > 1) {
            throw new HostDataException(host.root().describe(AcpiTable.DIR + "MCFG"),
                    "lists " + host.mmconfig().size() + " MMCONFIG windows; a config describes one (segment 0)");
        }
        if (host.mmconfig().size() == 1) {
            AcpiTable.McfgAllocation a = host.mmconfig().getFirst();
            if (a.segment() != 0 || a.startBus() != 0) {
                throw new HostDataException(host.root().describe(AcpiTable.DIR + "MCFG"), String.format(
                        "MMCONFIG window for segment %d from bus %d; a config describes segment 0 from bus 0",
                        a.segment(), a.startBus()));
            }
            mmcfgBase = a.base();
            mmcfgEndBus = a.endBus();
        }

        int[] cpuBits = host.cpus().stream().mapToInt(Integer::intValue).toArray();
        CellConfig root = new CellConfig(Architecture.X86, ROOT_CELL_NAME, 0, 0, Bitmap.ofWords(cpuBits), regions,
                List.of(), irqchips, pio, devices, caps, List.of(), 0, 0, 0, Console.NONE);
        PlatformInfo platform = new PlatformInfo(mmcfgBase, mmcfgEndBus, 0, 0,
                Collections.nCopies(IommuUnit.SLOTS, IommuUnit.UNUSED),
                new X86Platform(pmTimer, X86Platform.APIC_MODE_AUTO, 0, vtdLimit, 0, 0));
        SystemConfig config = new SystemConfig(Architecture.X86, SystemConfig.VIRTUAL_DEBUG_CONSOLE,
                new MemoryRegion(hvStart, 0, options.hypervisorMemory(), 0), host.console(), platform, root, 0);
        return new Result(config, names, notes);
    }

    static boolean isRamName(String name) {
        return name.equals("System RAM") || name.startsWith("Kernel") || name.equals("RAM buffer")
                || name.equals("ACPI DMAR RMRR") || name.equals("ACPI IVRS");
    }

    /** The parts of /proc/iomem the root cell gets, before the hypervisor window is cut out. */
    private static List<Span> memorySpans(HostInventory host) {
        List<Span> raw = new ArrayList<>();
        collect(host.iomem().top(), raw);
        List<Span> spans = new ArrayList<>();
        boolean roms = false;
        for (Span s : raw) {
            // Empty PCI bus windows are left out so that a device appearing later is not
            // silently mapped; the legacy VGA window is the exception.
            if (s.name.startsWith("PCI Bus") && s.start != VGA_WINDOW) {
                continue;
            }
            // Option ROMs come and go with devices: one region covers their whole window.
            if (Long.compareUnsigned(s.start, ROM_START) >= 0 && Long.compareUnsigned(s.end, ROM_END) <= 0) {
                roms = true;
                continue;
            }
            // IOMMU registers belong to the hypervisor.
            if (s.name.contains("dmar")) {
                continue;
            }
            spans.add(s);
        }
        if (roms) {
            spans.add(new Span(ROM_START, ROM_END, "ROMs"));
        }
        // Each device's MSI-X table stays with the hypervisor, which checks every vector write.
        for (HostPciDevice d : host.pciDevices()) {
            if (d.msixAddress() != 0) {
                cut(spans, d.msixAddress(), d.msixAddress() + d.msixRegionSize() - 1);
            }
        }
        spans.sort(Comparator.comparing(Span::start, Long::compareUnsigned));
        // Linux reports the first page as reserved, but CPUs need it to start.
        if (!spans.isEmpty() && spans.getFirst().isRam() && spans.getFirst().start == 0x1000) {
            Span first = spans.removeFirst();
            spans.addFirst(new Span(0, first.end, first.name));
        }
        return spans;
    }

    private static void collect(List<Resource> level, List<Span> out) {
        for (Resource r : level) {
            String name = r.name();
            if (r.depth() == 0 && name.equals("System RAM")) {
                out.add(new Span(r.start(), r.end(), name));
                continue;
            }
            // MMCONFIG/ECAM and the APICs are the hypervisor's to intercept.
            if (name.contains("PCI MMCONFIG") || name.contains("PCI ECAM") || name.contains("APIC")) {
                continue;
            }
            if (name.equalsIgnoreCase("reserved")) {
                // Firmware-reserved: only an HPET inside is of use to the root cell.
                for (Resource c : r.children()) {
                    collectHpet(c, out);
                }
                continue;
            }
            if (!r.isLeaf()) {
                collect(r.children(), out);
                continue;
            }
            out.add(new Span(r.start(), r.end(), name));
        }
    }

    private static void collectHpet(Resource r, List<Span> out) {
        if (r.name().contains("HPET")) {
            out.add(new Span(r.start(), r.end(), r.name()));
            return;
        }
        for (Resource c : r.children()) {
            collectHpet(c, out);
        }
    }

    /** Removes {@code [start, end]} from every span, keeping what lies on either side. */
    private static void cut(List<Span> spans, long start, long end) {
        List<Span> out = new ArrayList<>(spans.size() + 2);
        for (Span s : spans) {
            if (!s.overlaps(start, end)) {
                out.add(s);
                continue;
            }
            if (Long.compareUnsigned(s.start, start) < 0) {
                out.add(new Span(s.start, start - 1, s.name));
            }
            if (Long.compareUnsigned(s.end, end) > 0) {
                out.add(new Span(end + 1, s.end, s.name));
            }
        }
        spans.clear();
        spans.addAll(out);
    }

    /**
     * Chooses where hypervisor memory and the inmate window lie, cuts them out
     * of the root cell's RAM and returns the hypervisor memory's start.
     */
    private static long placeHypervisor(HostInventory host, DerivationOptions options, List<Span> spans,
            List<String> notes) throws HostDataException {
        long total = options.hypervisorMemory() + options.inmateMemory();
        List<MemmapReservation> reservations = host.commandLine().memmapReservations();
        long start;
        if (!reservations.isEmpty()) {
            MemmapReservation r = reservations.getFirst();
            String what = String.format("memmap=0x%x$0x%x", r.size(), r.start());
            if (Long.compareUnsigned(r.size(), total) < 0) {
                throw new HostDataException(host.commandLine().source() + ": " + what, String.format(
                        "reserves 0x%x bytes; hypervisor (0x%x) and inmate memory (0x%x) need 0x%x",
                        r.size(), options.hypervisorMemory(), options.inmateMemory(), total));
            }
            if ((r.start() & (MemoryRegion.PAGE_SIZE - 1)) != 0) {
                throw new HostDataException(host.commandLine().source() + ": " + what, "start is not 4 KiB aligned");
            }
            start = r.start();
            notes.add(String.format("hypervisor and inmate memory placed in the kernel's %s reservation", what)
                    + (reservations.size() > 1 ? " (the first of " + reservations.size() + ")" : ""));
        } else {
            start = DEFAULT_HYPERVISOR_START;
            notes.add(String.format("no memmap= reservation on the kernel command line: hypervisor memory placed at "
                    + "0x%x and inmate memory at 0x%x, where the bundled cells expect them; cell memory is a "
                    + "backing file here, so no host RAM is reserved", start, start + options.hypervisorMemory()));
        }
        long end = start + total - 1;
        if (Long.compareUnsigned(end, start) < 0) {
            throw new HostDataException("hypervisor memory", String.format(
                    "0x%x bytes from 0x%x run past the end of the address space", total, start));
        }
        for (Span s : spans) {
            if (!s.isRam() && s.overlaps(start, end)) {
                throw new HostDataException(host.iomem().source(), String.format(
                        "hypervisor and inmate memory 0x%x-0x%x would overlap %s; reserve RAM elsewhere with "
                                + "memmap=SIZE$START", start, end, s.describe()));
            }
        }
        for (Resource r : reservations.isEmpty() ? host.iomem().top() : List.<Resource>of()) {
            if (r.overlaps(start, end) && !r.name().equals("System RAM")) {
                notes.add(String.format("hypervisor and inmate memory 0x%x-0x%x overlap %s of /proc/iomem, which "
                        + "the root cell does not get", start, end, r.describe()));
            }
        }
        cut(spans, start, end);
        long inmateStart = start + options.hypervisorMemory();
        if (Long.compareUnsigned(inmateStart, DEMO_CELLS_START) > 0 || Long.compareUnsigned(end, DEMO_CELLS_END) < 0) {
            notes.add(String.format("inmate memory 0x%x-0x%x does not cover 0x%x-0x%x, where the bundled demo cells "
                    + "place their memory", inmateStart, end, DEMO_CELLS_START, DEMO_CELLS_END));
        }
        return start;
    }

    /** Page-aligns the spans into regions, merging adjacent RAM. */
    private static List<MemoryRegion> toRegions(List<Span> spans, List<String> names, List<String> notes) {
        spans.sort(Comparator.comparing(Span::start, Long::compareUnsigned));
        List<MemoryRegion> regions = new ArrayList<>();
        long mask = MemoryRegion.PAGE_SIZE - 1;
        for (Span s : spans) {
            long start = s.start & ~mask;
            long end = (s.end | mask); // inclusive, last byte of its page
            long flags = s.isRam() ? RAM_FLAGS : DEVICE_FLAGS;
            if (!regions.isEmpty()) {
                MemoryRegion prev = regions.getLast();
                long prevEnd = prev.physStart() + prev.size();
                if (prev.flags() == RAM_FLAGS && flags == RAM_FLAGS && Long.compareUnsigned(start, prevEnd) <= 0) {
                    long newEnd = Long.compareUnsigned(end + 1, prevEnd) > 0 ? end + 1 : prevEnd;
                    regions.set(regions.size() - 1,
                            new MemoryRegion(prev.physStart(), prev.virtStart(), newEnd - prev.physStart(), RAM_FLAGS));
                    continue;
                }
                if (Long.compareUnsigned(start, prevEnd) < 0) {
                    notes.add(String.format("memory regions '%s' and '%s' overlap at 0x%x once rounded to pages",
                            names.getLast(), s.name, start));
                }
            }
            regions.add(new MemoryRegion(start, start, end - start + 1, flags));
            names.add(s.name);
        }
        return regions;
    }

    /** Fills the root cell's port whitelist; returns the PM timer port (0 if none). */
    private static int rootPorts(HostInventory host, List<PioRange> pio, List<String> notes) throws HostDataException {
        ResourceTree ports = host.ioports();
        List<Resource> pmTimers = ports.findAll(r -> r.name().equals("ACPI PM_TMR"));
        int pmTimer = 0;
        if (pmTimers.size() > 1) {
            throw new HostDataException(ports.source(), pmTimers.size() + " 'ACPI PM_TMR' entries ("
                    + String.join(", ", pmTimers.stream().map(Resource::describe).toList()) + "); expected one");
        } else if (pmTimers.isEmpty()) {
            notes.add("no 'ACPI PM_TMR' in " + ports.source() + ": pm_timer_address left 0, so inmates that "
                    + "calibrate with the PM timer cannot run");
        } else {
            pmTimer = (int) pmTimers.getFirst().start();
        }

        List<String> withheld = new ArrayList<>();
        List<Resource> granted = new ArrayList<>();
        for (Resource r : ports.leaves()) {
            // PCI config ports are emulated by the hypervisor; ports above the legacy range are
            // only granted where a PCI device owns them (below).
            if (r.start() == PCI_CONF1 || r.start() >= LEGACY_PORTS_END) {
                continue;
            }
            String lower = r.name().toLowerCase(Locale.ROOT);
            if (ROOT_LEGACY_PORTS.contains((int) r.start()) || lower.contains("vga") || lower.contains("vesa")) {
                granted.add(r);
            } else {
                withheld.add(String.format("0x%x-0x%x %s", r.start(), r.end(), r.name()));
            }
        }
        granted.addAll(ports.findAll(r -> r.start() >= LEGACY_PORTS_END && isPciAddress(r.name())));
        granted.sort(Comparator.comparingLong(Resource::start));
        for (Resource r : granted) {
            if (r.end() > 0xffff) {
                throw new HostDataException(ports.source(), r.describe() + " lies beyond port 0xffff");
            }
            pio.add(new PioRange((int) r.start(), (int) r.size()));
        }
        if (!withheld.isEmpty()) {
            notes.add("legacy ports not granted to the root cell (upstream's default; add them if needed): "
                    + String.join(", ", withheld));
        }
        return pmTimer;
    }

    private static boolean isPciAddress(String name) {
        return name.matches("[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");
    }

    /** The root cell's PCI devices; devices with identical capability lists share one copy. */
    private static List<PciDevice> pciDevices(HostInventory host, List<PciCapability> caps) throws HostDataException {
        List<PciDevice> out = new ArrayList<>();
        List<List<PciCapability>> lists = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        for (HostPciDevice d : host.pciDevices()) {
            int capsStart = 0;
            if (!d.caps().isEmpty()) {
                int known = lists.indexOf(d.caps());
                if (known >= 0) {
                    capsStart = starts.get(known);
                } else {
                    capsStart = caps.size();
                    lists.add(d.caps());
                    starts.add(capsStart);
                    caps.addAll(d.caps());
                }
            }
            if (caps.size() > 0xffff || d.numMsiVectors() > 0xff) {
                throw new HostDataException(host.root().describe(HostPciDevice.DIR + "/" + d.address()),
                        "too many capabilities or MSI vectors for the config's fields");
            }
            out.add(new PciDevice(d.type(), 0, d.domain(), d.bdf(), d.barMasks(), capsStart, d.caps().size(),
                    d.numMsiVectors(), d.msiBits(), d.numMsixVectors(), d.msixRegionSize(), d.msixAddress(),
                    0, 0, 0, 0));
        }
        return out;
    }

    /** Room for every device's vectors on top of the base interrupts, as a power of two. */
    private static long interruptLimit(HostInventory host) {
        long n = BASE_INTERRUPTS;
        for (HostPciDevice d : host.pciDevices()) {
            n += Math.max(d.numMsiVectors(), d.numMsixVectors());
        }
        return Long.highestOneBit(n - 1) << 1;
    }
}
