package io.jailhouse.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code jailhouse config check}: every check upstream's tool performs on a
 * configuration set (spec 9.1), plus the checks it lacks and that this
 * hypervisor relies on (partitioning of CPUs, memory and ports between
 * cells, comm regions, ivshmem links, page alignment, create-time limits).
 * Each finding names the file, the cell, the region or device index and the
 * addresses involved.
 */
public final class ConfigCheck {
    /** xAPIC page, intercepted by the hypervisor (spec 9.1 check 5). */
    private static final long XAPIC_BASE = 0xfee00000L;
    /** Upstream copies a cell config into 16 temporary pages at creation (spec 1.8). */
    private static final long MAX_CELL_CONFIG_BYTES = 16 * 4096;

    /** A configuration file of the set, with the name it was given on the command line. */
    public record Source<T extends JailhouseConfig>(String file, T config) {
    }

    /** One problem, located. */
    public record Finding(String check, String file, String cell, String where, String message) {
        public String render() {
            if (file == null) {
                return message; // a check's closing count of findings beyond its cap
            }
            StringBuilder sb = new StringBuilder(file).append(", cell \"").append(cell).append('"');
            if (where != null && !where.isEmpty()) {
                sb.append(", ").append(where);
            }
            return sb.append(": ").append(message).toString();
        }
    }

    /**
     * The result: findings grouped by check, in the order the checks ran
     * (checks without findings included), and notes: what is worth knowing
     * but legal, as upstream accepts it (never a finding, never a refusal).
     */
    public record Report(Source<SystemConfig> system, List<Source<CellConfig>> cells,
            Map<String, List<Finding>> byCheck, List<Finding> notes, long uncounted) {
        /** Every finding, those beyond a check's cap included (each check lists at most the cap and a summary). */
        public long findingCount() {
            return byCheck.values().stream().mapToInt(List::size).sum() + uncounted;
        }

        public boolean clean() {
            return findingCount() == 0;
        }
    }

    /** Findings a check lists; the rest are counted in one closing "... and N more". */
    public static final int MAX_FINDINGS_PER_CHECK = 100;

    public static final String INSIDE_CELL = "Overlapping memory regions inside cell";
    public static final String WITH_HYPERVISOR = "Overlapping memory regions with hypervisor";
    public static final String MMCONFIG = "Missing PCI MMCONFIG interceptions";
    public static final String IOMMU = "Missing IOMMU interceptions";
    /** Upstream's check 5, titled with the architecture: {@code ... for architecture x86}, {@code arm64}, ... */
    public static final String RESOURCES = "Missing resource interceptions for architecture ";
    public static final String X86_RESOURCES = RESOURCES + "x86";
    public static final String ARCHITECTURE = "Architecture of the configuration set";
    public static final String BETWEEN_CELLS = "Overlapping memory regions between cells";
    public static final String CPUS = "CPU assignment";
    public static final String CELL_MEMORY_IN_ROOT = "Cell memory outside the root cell's memory";
    public static final String ALIGNMENT = "Page alignment of memory regions";
    public static final String COMM_REGION = "Communication region";
    /** A note, not a check: upstream grants a cell ports the root does not list (spec 9.1). */
    public static final String PIO = "Port I/O ranges outside the root cell's";
    public static final String IVSHMEM = "ivshmem links";
    public static final String LIMITS = "Cell creation limits";
    /** Upstream's hypervisor copies a cell config into 16 temporary pages and refuses a larger one (E2BIG). */
    public static final String SIZE = "Cell configuration size";

    private final Source<SystemConfig> system;
    private final List<Source<CellConfig>> cells;
    private final Map<String, List<Finding>> findings = new LinkedHashMap<>();
    private final List<Finding> notes = new ArrayList<>();
    /** Findings beyond the cap, by check: counted, not kept (a config can have millions). */
    private final Map<String, Long> omitted = new LinkedHashMap<>();
    private final Set<String> inexact = new java.util.HashSet<>();

    private ConfigCheck(Source<SystemConfig> system, List<Source<CellConfig>> cells) {
        this.system = system;
        this.cells = List.copyOf(cells);
    }

    public static Report run(Source<SystemConfig> system, List<Source<CellConfig>> cells) {
        return new ConfigCheck(system, cells).runAll();
    }

    private Report runAll() {
        SystemConfig sys = system.config();
        for (String title : new String[] {INSIDE_CELL, WITH_HYPERVISOR}) {
            findings.put(title, new ArrayList<>());
        }
        checkInsideCells();
        checkHypervisorOverlap();
        if (sys.platform().pciMmconfigBase() != 0) {
            findings.put(MMCONFIG, new ArrayList<>());
            checkMmconfig();
        }
        if (!sys.platform().usedIommuUnits().isEmpty()) {
            findings.put(IOMMU, new ArrayList<>());
            checkIommu();
        }
        findings.put(RESOURCES + sys.architecture().label(), new ArrayList<>());
        if (sys.architecture() == Architecture.X86) {
            checkX86Resources();
        } else {
            checkGicResources();
        }
        for (String title : new String[] {ARCHITECTURE, BETWEEN_CELLS, CPUS, CELL_MEMORY_IN_ROOT, ALIGNMENT,
            COMM_REGION, IVSHMEM, SIZE, LIMITS}) {
            findings.put(title, new ArrayList<>());
        }
        checkArchitecture();
        checkBetweenCells();
        checkCpus();
        checkCellMemoryInRoot();
        checkAlignment();
        checkCommRegions();
        checkPio();
        checkIvshmem();
        checkLimits();
        summarizeOmitted();
        long more = omitted.values().stream().mapToLong(Long::longValue).sum();
        return new Report(system, cells, findings, notes, more - omitted.size());
    }

    private void add(String check, String file, CellConfig cell, String where, String message) {
        List<Finding> list = findings.get(check);
        if (list.size() >= MAX_FINDINGS_PER_CHECK) {
            omitted.merge(check, 1L, Long::sum);
            return;
        }
        list.add(new Finding(check, file, cell.name(), where, message));
    }

    /** {@code n} more findings of {@code check} exist beyond those added. */
    private void omitExactly(String check, long n) {
        if (n > 0) {
            omitted.merge(check, n, Long::sum);
        }
    }

    /** At least {@code n} more findings of {@code check} exist beyond those added. */
    private void omitAtLeast(String check, long n) {
        if (n > 0) {
            omitted.merge(check, n, Long::sum);
            inexact.add(check);
        }
    }

    /** Each check with findings beyond the cap ends with one saying how many more there are. */
    private void summarizeOmitted() {
        omitted.forEach((check, n) -> findings.get(check).add(new Finding(check, null, null, null,
                String.format(java.util.Locale.ROOT, "... and %s%,d more", inexact.contains(check) ? "at least " : "", n))));
    }

    private void note(String check, Source<CellConfig> s, String where, String message) {
        notes.add(new Finding(check, s.file(), s.config().name(), where, message));
    }

    /** The root first, then the non-root cells, each with its file. */
    private List<Source<CellConfig>> allCells() {
        List<Source<CellConfig>> all = new ArrayList<>();
        all.add(new Source<>(system.file(), system.config().rootCell()));
        all.addAll(cells);
        return all;
    }

    public static String describe(int index, MemoryRegion r) {
        return "region " + index + " " + summary(r);
    }

    /** {@code (phys A-B, virt C-D, FLAGS)} */
    public static String summary(MemoryRegion r) {
        return "(phys " + range(r.physStart(), r.size()) + ", virt " + range(r.virtStart(), r.size()) + ", "
                + MemoryRegion.FLAG_NAMES.describe(r.flags()) + ")";
    }

    static String range(long start, long size) {
        return size == 0 ? Numbers.hex(start) + " (empty)"
                : String.format("0x%x-0x%x", start, start + size - 1);
    }

    /** Comm regions have no physical address of their own (the hypervisor supplies the page). */
    private static boolean hasPhys(MemoryRegion r) {
        return !r.has(MemoryRegion.COMM_REGION) && r.size() != 0;
    }

    /**
     * Overlaps inside each cell, physical and virtual, found by a sweep
     * ({@link RangeOverlaps}): counted in full, reported up to the cap.
     */
    private void checkInsideCells() {
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            int n = regs.size();
            long[] phys = new long[n];
            long[] physSize = new long[n];
            long[] virt = new long[n];
            long[] size = new long[n];
            for (int i = 0; i < n; i++) {
                MemoryRegion r = regs.get(i);
                phys[i] = r.physStart();
                physSize[i] = hasPhys(r) ? r.size() : 0;
                virt[i] = r.virtStart();
                size[i] = r.size();
            }
            // pair (low index, high index) -> 1 physical, 2 virtual
            java.util.Map<Long, Integer> kinds = new java.util.TreeMap<>();
            long physPairs = RangeOverlaps.find(phys, physSize, MAX_FINDINGS_PER_CHECK,
                    (a, b) -> kinds.merge(pairKey(a, b), 1, (x, y) -> x | y));
            long virtPairs = RangeOverlaps.find(virt, size, MAX_FINDINGS_PER_CHECK,
                    (a, b) -> kinds.merge(pairKey(a, b), 2, (x, y) -> x | y));
            for (java.util.Map.Entry<Long, Integer> e : kinds.entrySet()) {
                int i = (int) (e.getKey() >>> 32);
                int j = (int) (long) e.getKey();
                int k = e.getValue();
                add(INSIDE_CELL, s.file(), s.config(), "regions " + i + " and " + j,
                        (k == 3 ? "overlap physically and virtually" : k == 1 ? "overlap physically"
                                : "overlap virtually") + ": " + describe(i, regs.get(i)) + ", " + describe(j, regs.get(j)));
            }
            // pairs both sweeps found once each are one finding: beyond the enumerated ones, at least the larger count
            omitAtLeast(INSIDE_CELL, Math.max(physPairs, virtPairs) - kinds.size());
        }
    }

    /** Pair (a, b) as one key, the lower index in the high half: TreeMap order is the report order. */
    private static long pairKey(int a, int b) {
        return ((long) Math.min(a, b) << 32) | Math.max(a, b);
    }

    private void checkHypervisorOverlap() {
        MemoryRegion hv = system.config().hypervisorMemory();
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                if (hasPhys(r) && MemoryRegion.overlaps(r.physStart(), r.size(), hv.physStart(), hv.size())) {
                    add(WITH_HYPERVISOR, s.file(), s.config(), "region " + i, summary(r)
                            + " overlaps the hypervisor memory " + range(hv.physStart(), hv.size()));
                }
            }
        }
    }

    private void checkMmconfig() {
        PlatformInfo p = system.config().platform();
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                if (MemoryRegion.overlaps(r.virtStart(), r.size(), p.pciMmconfigBase(), p.mmconfigSize())) {
                    add(MMCONFIG, s.file(), s.config(), "region " + i, summary(r)
                            + " maps into the PCI MMCONFIG window " + range(p.pciMmconfigBase(), p.mmconfigSize())
                            + ", which must stay intercepted");
                }
            }
        }
    }

    private void checkIommu() {
        List<IommuUnit> units = system.config().platform().iommuUnits();
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                for (int u = 0; u < units.size(); u++) {
                    IommuUnit unit = units.get(u);
                    if (unit.type() != 0 && MemoryRegion.overlaps(r.virtStart(), r.size(), unit.base(), unit.size())) {
                        add(IOMMU, s.file(), s.config(), "region " + i, summary(r) + " maps the registers of IOMMU "
                                + u + " at " + range(unit.base(), unit.size()));
                    }
                }
            }
        }
    }

    private void checkX86Resources() {
        List<Irqchip> chips = system.config().rootCell().irqchips();
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                if (MemoryRegion.overlaps(r.virtStart(), r.size(), XAPIC_BASE, MemoryRegion.PAGE_SIZE)) {
                    add(X86_RESOURCES, s.file(), s.config(), "region " + i, summary(r)
                            + " maps the xAPIC page " + range(XAPIC_BASE, MemoryRegion.PAGE_SIZE));
                }
                for (int c = 0; c < chips.size(); c++) {
                    long a = chips.get(c).address();
                    if (MemoryRegion.overlaps(r.virtStart(), r.size(), a, MemoryRegion.PAGE_SIZE)) {
                        add(X86_RESOURCES, s.file(), s.config(), "region " + i, summary(r)
                                + " maps the page of irqchip " + c + " at " + range(a, MemoryRegion.PAGE_SIZE));
                    }
                }
            }
        }
    }

    /**
     * ARM and ARM64: no cell may map the GIC's distributor, CPU interface,
     * hypervisor and virtual CPU interfaces (GICv2) or distributor and the
     * redistributor frame at gicr_base (GICv3), as upstream checks.
     */
    private void checkGicResources() {
        String title = RESOURCES + system.config().architecture().label();
        if (!(system.config().platform().arch() instanceof ArmPlatform gic)) {
            return;
        }
        String[] names;
        long[][] ranges;
        if (gic.gicVersion() == 2) {
            names = new String[] {"GICD", "GICC", "GICH", "GICV"};
            ranges = new long[][] {{gic.gicdBase(), 0x1000}, {gic.giccBase(), 0x2000}, {gic.gichBase(), 0x2000},
                {gic.gicvBase(), 0x2000}};
        } else if (gic.gicVersion() == 3) {
            names = new String[] {"GICD", "GICR"};
            ranges = new long[][] {{gic.gicdBase(), 0x10000}, {gic.gicrBase(), 0x20000}};
        } else {
            findings.get(title).add(new Finding(title, system.file(), system.config().rootCell().name(),
                    "platform_info", "unknown GIC version " + gic.gicVersion() + " (2 or 3): the GIC's registers "
                            + "cannot be checked"));
            return;
        }
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                for (int g = 0; g < names.length; g++) {
                    if (MemoryRegion.overlaps(r.virtStart(), r.size(), ranges[g][0], ranges[g][1])) {
                        add(title, s.file(), s.config(), "region " + i, summary(r) + " maps the " + names[g]
                                + " registers at " + range(ranges[g][0], ranges[g][1]));
                    }
                }
            }
        }
    }

    private void checkArchitecture() {
        Architecture arch = system.config().architecture();
        for (Source<CellConfig> s : cells) {
            if (s.config().architecture() != arch) {
                add(ARCHITECTURE, s.file(), s.config(), null, "cell is for " + s.config().architecture().label()
                        + ", the system for " + arch.label());
            }
        }
        Map<String, String> names = new TreeMap<>();
        names.put(system.config().rootCell().name(), system.file());
        for (Source<CellConfig> s : cells) {
            String other = names.putIfAbsent(s.config().name(), s.file());
            if (other != null) {
                add(ARCHITECTURE, s.file(), s.config(), null, "the name is already used by " + other
                        + "; cell names must be unique");
            }
        }
    }

    /** Regions two cells may both hold: shared memory of an ivshmem link, or regions flagged ROOTSHARED. */
    private static boolean isShared(CellConfig cell, int index) {
        return cell.memoryRegions().get(index).has(MemoryRegion.ROOTSHARED) || cell.isIvshmemSection(index);
    }

    /**
     * Physical overlaps between regions of different cells, unless both
     * sides mark them shared: one sweep over every cell's regions.
     */
    private void checkBetweenCells() {
        List<int[]> owners = new ArrayList<>(); // {cell, region}
        for (int x = 0; x < cells.size(); x++) {
            for (int i = 0; i < cells.get(x).config().memoryRegions().size(); i++) {
                owners.add(new int[] {x, i});
            }
        }
        int n = owners.size();
        long[] start = new long[n];
        long[] size = new long[n];
        int[] group = new int[n];
        for (int k = 0; k < n; k++) {
            CellConfig c = cells.get(owners.get(k)[0]).config();
            MemoryRegion r = c.memoryRegions().get(owners.get(k)[1]);
            start[k] = r.physStart();
            size[k] = hasPhys(r) ? r.size() : 0;
            group[k] = isShared(c, owners.get(k)[1]) ? -owners.get(k)[0] - 1 : owners.get(k)[0];
        }
        List<int[]> found = new ArrayList<>();
        long total = RangeOverlaps.findBetweenGroups(start, size, group, MAX_FINDINGS_PER_CHECK,
                (a, b) -> found.add(owners.get(a)[0] < owners.get(b)[0]
                        || (owners.get(a)[0] == owners.get(b)[0] && a < b) ? new int[] {a, b} : new int[] {b, a}));
        found.sort(java.util.Comparator.<int[]>comparingInt(p -> owners.get(p[0])[0])
                .thenComparingInt(p -> owners.get(p[1])[0]).thenComparingInt(p -> owners.get(p[0])[1])
                .thenComparingInt(p -> owners.get(p[1])[1]));
        for (int[] p : found) {
            int x = owners.get(p[0])[0];
            int i = owners.get(p[0])[1];
            int y = owners.get(p[1])[0];
            int j = owners.get(p[1])[1];
            CellConfig a = cells.get(x).config();
            CellConfig b = cells.get(y).config();
            add(BETWEEN_CELLS, cells.get(x).file(), a, "region " + i, summary(a.memoryRegions().get(i))
                    + " overlaps " + describe(j, b.memoryRegions().get(j)) + " of cell \"" + b.name() + "\" ("
                    + cells.get(y).file() + "); only memory both sides mark shared may overlap");
        }
        omitExactly(BETWEEN_CELLS, total - found.size());
    }

    private void checkCpus() {
        Bitmap root = system.config().rootCell().cpus();
        if (root.isEmpty()) {
            add(CPUS, system.file(), system.config().rootCell(), null, "the root cell has no CPU");
        }
        List<CellConfig> earlier = new ArrayList<>();
        for (Source<CellConfig> s : cells) {
            CellConfig c = s.config();
            for (CpuAssignment.Conflict k : CpuAssignment.conflicts(system.config(), c, earlier)) {
                String cpu = "CPU " + k.cpu();
                switch (k.kind()) {
                    case NO_CPU -> add(CPUS, s.file(), c, null, "the cell has no CPU");
                    case CPU_0 -> add(CPUS, s.file(), c, cpu, "CPU 0 cannot be assigned to other cells; it stays with the root");
                    case NOT_ROOTS -> add(CPUS, s.file(), c, cpu, cpu + " is not a CPU of the root cell \""
                            + system.config().rootCell().name() + "\" (" + root.toRangeList() + ")");
                    case TAKEN -> {
                        Source<CellConfig> other = cells.get(k.otherIndex());
                        add(CPUS, s.file(), c, cpu, cpu + " is also given to cell \"" + other.config().name() + "\" ("
                                + other.file() + ")");
                    }
                }
            }
            earlier.add(c);
        }
    }

    /** RAM ({@link MemoryRegion#isRam}) and shared memory: what the reserved memory must hold. */
    private static boolean isRam(CellConfig c, int i) {
        MemoryRegion r = c.memoryRegions().get(i);
        return r.isRam() || hasPhys(r) && isShared(c, i);
    }

    private void checkCellMemoryInRoot() {
        List<MemoryRegion> root = system.config().rootCell().memoryRegions();
        for (Source<CellConfig> s : cells) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                if (isRam(s.config(), i) && !coveredBy(r.physStart(), r.size(), root)) {
                    add(CELL_MEMORY_IN_ROOT, s.file(), s.config(), "region " + i, summary(r)
                            + " is not inside the memory of the root cell; a cell's RAM is taken from the root's");
                }
            }
        }
    }

    /** Whether [start, start+size) is covered by the union of the regions' physical ranges. */
    static boolean coveredBy(long start, long size, List<MemoryRegion> regions) {
        long pos = start;
        long end = start + size;
        boolean progress = true;
        while (Long.compareUnsigned(pos, end) < 0 && progress) {
            progress = false;
            for (MemoryRegion r : regions) {
                if (hasPhys(r) && Long.compareUnsigned(pos, r.physStart()) >= 0
                        && Long.compareUnsigned(pos - r.physStart(), r.size()) < 0) {
                    pos = r.physStart() + r.size();
                    progress = true;
                }
            }
        }
        return Long.compareUnsigned(pos, end) >= 0;
    }

    private void checkAlignment() {
        for (Source<CellConfig> s : allCells()) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                if (r.size() == 0) {
                    continue;
                }
                long mask = MemoryRegion.PAGE_SIZE - 1;
                boolean mustBePages = isRam(s.config(), i) || r.has(MemoryRegion.COMM_REGION);
                if (r.isSubPage() && mustBePages) {
                    add(ALIGNMENT, s.file(), s.config(), "region " + i, summary(r)
                            + " must start and end on 4 KiB pages: only device (MMIO) regions may be sub-page");
                } else if (!r.isSubPage() && hasPhys(r) && (r.physStart() & mask) != 0) {
                    add(ALIGNMENT, s.file(), s.config(), "region " + i, summary(r)
                            + " is mapped in pages, but its phys_start is not 4 KiB aligned");
                }
            }
        }
    }

    private void checkCommRegions() {
        for (Source<CellConfig> s : cells) {
            List<MemoryRegion> regs = s.config().memoryRegions();
            List<Integer> comm = new ArrayList<>();
            for (int i = 0; i < regs.size(); i++) {
                if (regs.get(i).has(MemoryRegion.COMM_REGION)) {
                    comm.add(i);
                }
            }
            // Upstream creates both (a cell without one cannot answer requests unless passive): notes only.
            if (comm.isEmpty()) {
                note(COMM_REGION, s, null, "no memory region has COMM_REGION: the inmate cannot find its "
                        + "communication region (x86 inmates expect it at 0x100000)"
                        + (s.config().hasFlag(CellConfig.PASSIVE_COMMREG) ? ""
                                : ", nor answer shutdown requests, which then time out"));
            } else if (comm.size() > 1) {
                note(COMM_REGION, s, "regions " + comm, "more than one COMM_REGION region: each maps the same page");
            }
            for (int i : comm) {
                MemoryRegion r = regs.get(i);
                if (Long.compareUnsigned(r.size(), MemoryRegion.PAGE_SIZE) > 0) {
                    add(COMM_REGION, s.file(), s.config(), "region " + i, summary(r)
                            + " is larger than the one 4 KiB page the communication region has");
                }
            }
        }
    }

    /**
     * Ports a cell lists that the root cell does not: upstream creates such
     * cells (its QEMU root leaves 0x3f8 to the hypervisor's console while
     * every demo cell lists it), so this is a note only.
     */
    private void checkPio() {
        List<PioRange> root = system.config().rootCell().pioRegions();
        for (Source<CellConfig> s : cells) {
            List<PioRange> pio = s.config().pioRegions();
            for (int i = 0; i < pio.size(); i++) {
                PioRange p = pio.get(i);
                if (p.length() == 0) {
                    continue;
                }
                int port = p.base();
                boolean progress = true;
                while (port < p.base() + p.length() && progress) {
                    progress = false;
                    for (PioRange r : root) {
                        if (port >= r.base() && port < r.base() + r.length()) {
                            port = r.base() + r.length();
                            progress = true;
                        }
                    }
                }
                if (port < p.base() + p.length()) {
                    note(PIO, s, "PIO range " + i, "ports " + p + " are not all in the root cell's PIO ranges "
                            + "(first missing: 0x" + Integer.toHexString(port) + "); the cell gets them all the same, "
                            + "as upstream");
                }
            }
        }
    }

    private record Peer(Source<CellConfig> source, int deviceIndex, PciDevice device) {
    }

    private void checkIvshmem() {
        Map<Integer, List<Peer>> links = new TreeMap<>();
        for (Source<CellConfig> s : allCells()) {
            List<PciDevice> devs = s.config().pciDevices();
            for (int i = 0; i < devs.size(); i++) {
                if (devs.get(i).isIvshmem()) {
                    links.computeIfAbsent(devs.get(i).bdf(), k -> new ArrayList<>()).add(new Peer(s, i, devs.get(i)));
                }
            }
        }
        for (Map.Entry<Integer, List<Peer>> link : links.entrySet()) {
            String bdf = PciDevice.formatBdf(link.getKey());
            List<Peer> peers = link.getValue();
            Map<Integer, Peer> ids = new TreeMap<>();
            for (Peer p : peers) {
                checkIvshmemDevice(p, bdf);
                Peer other = ids.putIfAbsent(p.device().shmemDevId(), p);
                if (other != null) {
                    addDevice(p, bdf, "peer id " + p.device().shmemDevId() + " is also used by cell \""
                            + other.source().config().name() + "\" (" + other.source().file() + ")");
                }
                Peer first = peers.get(0);
                if (p.device().shmemPeers() != first.device().shmemPeers()) {
                    addDevice(p, bdf, "shmem_peers " + p.device().shmemPeers() + " differs from "
                            + first.device().shmemPeers() + " in cell \"" + first.source().config().name() + "\"");
                } else if (p != first && wellFormed(p) && wellFormed(first)) {
                    comparePeerRegions(first, p, bdf);
                }
            }
            if (peers.size() > peers.get(0).device().shmemPeers()) {
                addDevice(peers.get(0), bdf, peers.size() + " cells are on the link, more than its shmem_peers "
                        + peers.get(0).device().shmemPeers());
            }
            checkNonPeersOf(bdf, peers);
        }
    }

    /**
     * A non-root cell that is not a peer of a link must not map its shared
     * memory: whatever its flags say, the link's peers write there (the
     * root's memory holds every cell's and is not asked).
     */
    private void checkNonPeersOf(String bdf, List<Peer> peers) {
        List<MemoryRegion> sections = new ArrayList<>();
        java.util.Set<Source<CellConfig>> members = new java.util.HashSet<>();
        for (Peer p : peers) {
            members.add(p.source());
            if (wellFormed(p)) {
                int start = (int) p.device().shmemRegionsStart();
                sections.addAll(p.source().config().memoryRegions().subList(start, start + 2 + p.device().shmemPeers()));
            }
        }
        for (Source<CellConfig> s : cells) {
            if (members.contains(s)) {
                continue;
            }
            List<MemoryRegion> regs = s.config().memoryRegions();
            for (int i = 0; i < regs.size(); i++) {
                MemoryRegion r = regs.get(i);
                for (MemoryRegion section : sections) {
                    if (hasPhys(r) && hasPhys(section) && r.overlapsPhys(section)) {
                        add(IVSHMEM, s.file(), s.config(), "region " + i, summary(r) + " maps shared memory of"
                                + " ivshmem link " + bdf + " (phys " + range(section.physStart(), section.size())
                                + "), of which this cell is not a peer");
                        break;
                    }
                }
            }
        }
    }

    private void addDevice(Peer p, String bdf, String message) {
        add(IVSHMEM, p.source().file(), p.source().config(), "PCI device " + p.deviceIndex() + " (" + bdf + ")", message);
    }

    private static boolean wellFormed(Peer p) {
        PciDevice d = p.device();
        return d.shmemRegionsStart() + 2 + d.shmemPeers() <= p.source().config().memoryRegions().size();
    }

    private void checkIvshmemDevice(Peer p, String bdf) {
        PciDevice d = p.device();
        CellConfig c = p.source().config();
        if (!wellFormed(p)) {
            addDevice(p, bdf, "shmem_regions_start " + d.shmemRegionsStart() + " + 2 + shmem_peers " + d.shmemPeers()
                    + " exceeds the cell's " + c.memoryRegions().size() + " memory regions");
            return;
        }
        if (d.shmemPeers() == 0 || d.shmemDevId() >= d.shmemPeers()) {
            addDevice(p, bdf, "shmem_dev_id " + d.shmemDevId() + " is not below shmem_peers " + d.shmemPeers());
        }
        if (d.shmemDevId() >= PciDevice.IVSHMEM_MAX_PEERS || d.shmemPeers() > PciDevice.IVSHMEM_MAX_PEERS) {
            addDevice(p, bdf, "at most " + PciDevice.IVSHMEM_MAX_PEERS + " peers per link are supported");
        }
        if (d.numMsixVectors() > PciDevice.IVSHMEM_MAX_MSIX_VECTORS) {
            addDevice(p, bdf, "num_msix_vectors " + d.numMsixVectors() + " exceeds "
                    + PciDevice.IVSHMEM_MAX_MSIX_VECTORS);
        }
        int start = (int) d.shmemRegionsStart();
        List<MemoryRegion> regs = c.memoryRegions();
        MemoryRegion state = regs.get(start);
        if (state.size() == 0) {
            addDevice(p, bdf, "the state table (region " + start + ") is empty");
        }
        if (state.has(MemoryRegion.WRITE)) {
            addDevice(p, bdf, "the state table (region " + start + ") must be read-only: " + describe(start, state));
        }
        long expect = state.virtStart() + state.size();
        long outSize = -1;
        for (int k = 1; k < 2 + d.shmemPeers(); k++) {
            MemoryRegion r = regs.get(start + k);
            if (r.size() == 0) {
                continue;
            }
            if (r.virtStart() != expect) {
                addDevice(p, bdf, "region " + (start + k) + " must follow the previous section contiguously at "
                        + Numbers.hex(expect) + ": " + describe(start + k, r));
            }
            expect = r.virtStart() + r.size();
            if (k >= 2) {
                int peer = k - 2;
                if (outSize >= 0 && r.size() != outSize) {
                    addDevice(p, bdf, "output sections differ in size (region " + (start + k) + ")");
                }
                outSize = r.size();
                boolean own = peer == d.shmemDevId();
                if (own != r.has(MemoryRegion.WRITE)) {
                    addDevice(p, bdf, "output section of peer " + peer + " (region " + (start + k) + ") must be "
                            + (own ? "writable: it is this peer's own" : "read-only: it belongs to peer " + peer));
                }
            }
        }
    }

    private void comparePeerRegions(Peer a, Peer b, String bdf) {
        int n = 2 + a.device().shmemPeers();
        for (int k = 0; k < n; k++) {
            MemoryRegion ra = a.source().config().memoryRegions().get((int) a.device().shmemRegionsStart() + k);
            MemoryRegion rb = b.source().config().memoryRegions().get((int) b.device().shmemRegionsStart() + k);
            if (ra.physStart() != rb.physStart() || ra.size() != rb.size()) {
                String what = k == 0 ? "state table" : k == 1 ? "R/W section" : "output section of peer " + (k - 2);
                addDevice(b, bdf, "its " + what + " " + range(rb.physStart(), rb.size()) + " is not the same memory as "
                        + "cell \"" + a.source().config().name() + "\"'s " + range(ra.physStart(), ra.size()));
            }
        }
    }

    private void checkLimits() {
        for (Source<CellConfig> s : cells) {
            CellConfig c = s.config();
            if (c.encodedSize() > MAX_CELL_CONFIG_BYTES) {
                add(SIZE, s.file(), c, null, "the configuration has " + c.encodedSize() + " bytes; a cell config "
                        + "must fit " + MAX_CELL_CONFIG_BYTES + " bytes");
            }
            long l3 = c.cacheRegions().stream().filter(x -> x.type() == CacheRegion.L3).count();
            if (l3 > 1) {
                add(LIMITS, s.file(), c, null, l3 + " L3 cache regions; x86 supports one");
            }
        }
        if (system.config().architecture() != Architecture.X86) {
            return; // GIC irqchips start at SPI 32 and up; the rule is the IOAPIC's
        }
        for (Source<CellConfig> s : allCells()) {
            List<Irqchip> chips = s.config().irqchips();
            for (int i = 0; i < chips.size(); i++) {
                if (chips.get(i).pinBase() != 0) {
                    add(LIMITS, s.file(), s.config(), "irqchip " + i, "pin_base must be 0 on x86, not "
                            + chips.get(i).pinBase());
                }
            }
        }
    }
}
