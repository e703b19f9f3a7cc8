package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.ConfigCheck.Finding;
import io.jailhouse.config.ConfigCheck.Source;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigCheckTest {
    private static final String ROOT = """
            system:
              hypervisor_memory: {phys_start: 0x3a000000, size: 6M}
              platform:
                pci_mmconfig_base: 0xb0000000
                pci_mmconfig_end_bus: 0
                x86: {pm_timer_address: 0x608}
              root_cell:
                name: root
                cpus: [0-3]
                memory_regions:
                  - {phys_start: 0, virt_start: 0, size: 0x3a000000, flags: [read, write, execute, dma]}
                  - {phys_start: 0x3a600000, virt_start: 0x3a600000, size: 0x4a00000, flags: [read, write, execute, dma]}
                irqchips:
                  - {address: 0xfec00000, id: 0xff00, pins: [0-23]}
                pio_regions:
                  - {base: 0x2f8, length: 8}
                  - {base: 0x3f8, length: 8}
            """;

    private static String cell(String name, String cpus, long ramPhys, String extra) {
        return """
                cell:
                  name: %s
                  cpus: [%s]
                  memory_regions:
                    - {phys_start: 0x%x, virt_start: 0, size: 1M, flags: [read, write, execute, loadable]}
                    - {virt_start: 0x100000, size: 4K, flags: [read, write, comm-region]}
                %s
                """.formatted(name, cpus, ramPhys, extra.indent(2).stripTrailing());
    }

    private static <T extends JailhouseConfig> Source<T> src(String file, String yaml, Class<T> kind) {
        try {
            return new Source<>(file, kind.cast(TextConfigCodec.decode(yaml.getBytes(StandardCharsets.UTF_8), file,
                    TextConfigCodec.Format.YAML)));
        } catch (ConfigFormatException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    private static ConfigCheck.Report check(String root, String... cells) {
        List<Source<CellConfig>> list = new ArrayList<>();
        for (int i = 0; i < cells.length; i++) {
            list.add(src("cell" + i + ".yaml", cells[i], CellConfig.class));
        }
        return ConfigCheck.run(src("root.yaml", root, SystemConfig.class), list);
    }

    private static List<Finding> findings(ConfigCheck.Report r, String check) {
        return r.byCheck().get(check);
    }

    /** A cell whose region list is {@code copies} times one 1 MiB RAM region at {@code phys}. */
    private static CellConfig copies(String name, int cpu, long phys, int copies) {
        CellConfig base = src("base.yaml", cell(name, Integer.toString(cpu), phys, ""), CellConfig.class).config();
        List<MemoryRegion> regions = new ArrayList<>();
        for (int i = 0; i < copies; i++) {
            regions.add(base.memoryRegions().get(0));
        }
        regions.add(base.memoryRegions().get(1));
        return base.withMemoryRegions(regions);
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void millionsOfOverlapsAreCountedAndAHundredListed() {
        // 5,000 copies of one region: 12,497,500 overlapping pairs inside the cell
        Source<SystemConfig> sys = src("root.yaml", ROOT, SystemConfig.class);
        ConfigCheck.Report r = ConfigCheck.run(sys, List.of(new Source<>("big.cell", copies("big", 1, 0x3b000000L, 5000))));
        List<Finding> inside = findings(r, ConfigCheck.INSIDE_CELL);
        assertThat(inside).hasSize(ConfigCheck.MAX_FINDINGS_PER_CHECK + 1);
        assertThat(inside.get(0).render()).contains("regions 0 and 1: overlap physically and virtually");
        assertThat(inside.get(ConfigCheck.MAX_FINDINGS_PER_CHECK).render()).isEqualTo("... and at least 12,497,400 more");
        assertThat(r.findingCount()).isGreaterThanOrEqualTo(12_497_500L);
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void overlapsBetweenCellsAreCountedExactlyWithoutTheirOwnPairs() {
        // 3,000 copies each in two cells over the same memory: 9,000,000 pairs between them
        Source<SystemConfig> sys = src("root.yaml", ROOT, SystemConfig.class);
        ConfigCheck.Report r = ConfigCheck.run(sys, List.of(new Source<>("a.cell", copies("a", 1, 0x3b000000L, 3000)),
                new Source<>("b.cell", copies("b", 2, 0x3b000000L, 3000))));
        List<Finding> between = findings(r, ConfigCheck.BETWEEN_CELLS);
        assertThat(between).hasSize(ConfigCheck.MAX_FINDINGS_PER_CHECK + 1);
        assertThat(between.get(0).render()).startsWith("a.cell, cell \"a\", region 0:")
                .contains("overlaps region 0", "of cell \"b\" (b.cell)");
        assertThat(between.get(ConfigCheck.MAX_FINDINGS_PER_CHECK).render()).isEqualTo("... and 8,999,900 more");
    }

    @Test
    void sharedRegionsOnBothSidesMayOverlapButNotWithAPlainOne() {
        Source<SystemConfig> sys = src("root.yaml", ROOT, SystemConfig.class);
        CellConfig a = copies("a", 1, 0x3b000000L, 1);
        CellConfig b = copies("b", 2, 0x3b000000L, 1);
        CellConfig c = copies("c", 3, 0x3b000000L, 1);
        List<MemoryRegion> shared = new ArrayList<>(a.memoryRegions());
        MemoryRegion r0 = shared.get(0);
        shared.set(0, new MemoryRegion(r0.physStart(), r0.virtStart(), r0.size(), r0.flags() | MemoryRegion.ROOTSHARED));
        ConfigCheck.Report r = ConfigCheck.run(sys, List.of(new Source<>("a.cell", a.withMemoryRegions(shared)),
                new Source<>("b.cell", b.withMemoryRegions(shared).withName("b")), new Source<>("c.cell", c)));
        assertThat(findings(r, ConfigCheck.BETWEEN_CELLS)).extracting(Finding::render).containsExactly(
                "a.cell, cell \"a\", region 0: (phys 0x3b000000-0x3b0fffff, virt 0x0-0xfffff, READ|WRITE|EXECUTE|"
                        + "LOADABLE|ROOTSHARED) overlaps region 0 (phys 0x3b000000-0x3b0fffff, virt 0x0-0xfffff,"
                        + " READ|WRITE|EXECUTE|LOADABLE) of cell \"c\" (c.cell); only memory both sides mark shared may overlap",
                "b.cell, cell \"b\", region 0: (phys 0x3b000000-0x3b0fffff, virt 0x0-0xfffff, READ|WRITE|EXECUTE|"
                        + "LOADABLE|ROOTSHARED) overlaps region 0 (phys 0x3b000000-0x3b0fffff, virt 0x0-0xfffff,"
                        + " READ|WRITE|EXECUTE|LOADABLE) of cell \"c\" (c.cell); only memory both sides mark shared may overlap");
    }

    @Test
    void aCellThatIsNoPeerOfALinkMayNotMapItsMemoryWhateverItsFlags() throws Exception {
        Source<SystemConfig> sys = new Source<>("qemu-vm.cell", ConfigFiles.read(BundledConfigs.cell("qemu-vm"),
                SystemConfig.class));
        Source<CellConfig> peer = new Source<>("ivshmem-demo.cell", ConfigFiles.read(BundledConfigs.cell("ivshmem-demo"),
                CellConfig.class));
        CellConfig tiny = ConfigFiles.read(BundledConfigs.cell("tiny-demo"), CellConfig.class);
        List<MemoryRegion> regions = new ArrayList<>(tiny.memoryRegions());
        // the link's R/W section, marked shared like a peer's: still not this cell's to map
        regions.add(new MemoryRegion(0x3f0f1000L, 0x200000L, 0x1000, MemoryRegion.READ | MemoryRegion.WRITE
                | MemoryRegion.ROOTSHARED));
        ConfigCheck.Report r = ConfigCheck.run(sys, List.of(peer,
                new Source<>("spy.cell", tiny.withName("spy").withMemoryRegions(regions))));
        assertThat(findings(r, ConfigCheck.IVSHMEM)).extracting(Finding::render).containsExactly(
                "spy.cell, cell \"spy\", region " + (regions.size() - 1) + ": (phys 0x3f0f1000-0x3f0f1fff, virt"
                        + " 0x200000-0x200fff, READ|WRITE|ROOTSHARED) maps shared memory of ivshmem link 01:0e.0"
                        + " (phys 0x3f0f1000-0x3f0f9fff), of which this cell is not a peer");
        assertThat(findings(r, ConfigCheck.BETWEEN_CELLS)).as("both sides say shared")
                .noneMatch(f -> f.render().contains("0x3f0f1000"));
    }

    @Test
    void bundledWalkthroughSetIsClean() throws Exception {
        ConfigCheck.Report r = ConfigCheck.run(
                new Source<>("qemu-vm.cell", ConfigFiles.read(BundledConfigs.cell("qemu-vm"), SystemConfig.class)),
                List.of(new Source<>("apic-demo.cell", ConfigFiles.read(BundledConfigs.cell("apic-demo"), CellConfig.class)),
                        new Source<>("tiny-demo.cell", ConfigFiles.read(BundledConfigs.cell("tiny-demo"), CellConfig.class))));
        assertThat(r.clean()).as(r.byCheck().toString()).isTrue();
    }

    @Test
    void cleanSet() {
        assertThat(check(ROOT, cell("a", "1", 0x3ee00000L, "")).clean()).isTrue();
    }

    @Test
    void overlapInsideACell() {
        var r = check(ROOT, """
                cell:
                  name: a
                  cpus: [1]
                  memory_regions:
                    - {phys_start: 0x3ee00000, virt_start: 0, size: 1M, flags: [read, write, execute, loadable]}
                    - {phys_start: 0x3ee80000, virt_start: 0x200000, size: 1M, flags: [read, write]}
                    - {virt_start: 0x100000, size: 4K, flags: [read, write, comm-region]}
                """);
        assertThat(findings(r, ConfigCheck.INSIDE_CELL)).singleElement().satisfies(f -> {
            assertThat(f.file()).isEqualTo("cell0.yaml");
            assertThat(f.where()).isEqualTo("regions 0 and 1");
            assertThat(f.message()).contains("overlap physically", "0x3ee80000-0x3ef7ffff");
        });
    }

    @Test
    void overlapWithHypervisorMmconfigAndApic() {
        var r = check(ROOT, cell("a", "1", 0x3a100000L, """
                pio_regions: []
                """) + "", cell("b", "2", 0x3ef00000L, "").replace("size: 4K, flags: [read, write, comm-region]}",
                "size: 4K, flags: [read, write, comm-region]}\n    - {phys_start: 0xb0000000, virt_start: 0xb0000000, size: 4K, flags: [read]}\n    - {phys_start: 0xfee00000, virt_start: 0xfee00000, size: 4K, flags: [read]}"));
        assertThat(findings(r, ConfigCheck.WITH_HYPERVISOR)).singleElement()
                .satisfies(f -> assertThat(f.render()).contains("cell0.yaml, cell \"a\", region 0", "0x3a000000-0x3a5fffff"));
        assertThat(findings(r, ConfigCheck.MMCONFIG)).singleElement().satisfies(f -> assertThat(f.where()).isEqualTo("region 2"));
        assertThat(findings(r, ConfigCheck.X86_RESOURCES)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("xAPIC page"));
    }

    @Test
    void memoryOverlapBetweenCellsUnlessShared() {
        var r = check(ROOT, cell("a", "1", 0x3ee00000L, ""), cell("b", "2", 0x3ee80000L, ""));
        assertThat(findings(r, ConfigCheck.BETWEEN_CELLS)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("of cell \"b\" (cell1.yaml)"));
        String shared = "    - {phys_start: 0x3f000000, virt_start: 0x200000, size: 4K, flags: [read, rootshared]}";
        String a = cell("a", "1", 0x3ee00000L, "").replace("comm-region]}", "comm-region]}\n" + shared);
        String b = cell("b", "2", 0x3ef00000L, "").replace("comm-region]}", "comm-region]}\n" + shared);
        assertThat(findings(check(ROOT, a, b), ConfigCheck.BETWEEN_CELLS)).isEmpty();
    }

    @Test
    void cpuConflicts() {
        var r = check(ROOT, cell("a", "0, 2", 0x3ee00000L, ""), cell("b", "2, 7", 0x3ef00000L, ""));
        assertThat(findings(r, ConfigCheck.CPUS)).extracting(Finding::message).containsExactlyInAnyOrder(
                "CPU 0 cannot be assigned to other cells; it stays with the root",
                "CPU 2 is also given to cell \"a\" (cell0.yaml)",
                "CPU 7 is not a CPU of the root cell \"root\" (0-3)");
    }

    @Test
    void cellRamMustComeFromTheRoot() {
        var r = check(ROOT, cell("a", "1", 0x40000000L, ""));
        assertThat(findings(r, ConfigCheck.CELL_MEMORY_IN_ROOT)).singleElement()
                .satisfies(f -> assertThat(f.render()).contains("region 0", "0x40000000-0x400fffff"));
        // Straddling two adjacent root regions is fine.
        assertThat(ConfigCheck.coveredBy(0x39f00000L, 0x200000L, List.of(
                new MemoryRegion(0, 0, 0x3a000000L, 1), new MemoryRegion(0x3a000000L, 0x3a000000L, 0x100000L, 1))))
                .isTrue();
    }

    @Test
    void pageAlignment() {
        String bad = cell("a", "1", 0x3ee00000L, "").replace("size: 1M", "size: 0x100800");
        assertThat(findings(check(ROOT, bad), ConfigCheck.ALIGNMENT)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("must start and end on 4 KiB pages"));
        String mmio = cell("a", "1", 0x3ee00000L, "").replace("comm-region]}",
                "comm-region]}\n    - {phys_start: 0x3f000800, virt_start: 0x400000, size: 4K, flags: [read]}");
        assertThat(findings(check(ROOT, mmio), ConfigCheck.ALIGNMENT)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("phys_start is not 4 KiB aligned"));
    }

    @Test
    void commRegionMissingOrDoubledIsANoteOversizedAFinding() {
        String none = cell("a", "1", 0x3ee00000L, "").replace("    - {virt_start: 0x100000, size: 4K, flags: [read, write, comm-region]}\n", "");
        var r = check(ROOT, none);
        assertThat(r.clean()).as("upstream creates a cell without a comm region").isTrue();
        assertThat(r.notes()).singleElement().satisfies(f -> {
            assertThat(f.check()).isEqualTo(ConfigCheck.COMM_REGION);
            assertThat(f.message()).contains("no memory region has COMM_REGION", "shutdown requests");
        });
        String two = cell("a", "1", 0x3ee00000L, "").replace("    - {virt_start: 0x100000, size: 4K, flags: [read, write, comm-region]}\n",
                "    - {virt_start: 0x100000, size: 4K, flags: [read, write, comm-region]}\n"
                        + "    - {virt_start: 0x200000, size: 4K, flags: [read, comm-region]}\n");
        var r2 = check(ROOT, two);
        assertThat(r2.clean()).isTrue();
        assertThat(r2.notes()).singleElement().satisfies(f -> assertThat(f.message()).contains("more than one"));
        String big = cell("a", "1", 0x3ee00000L, "").replace("size: 4K, flags: [read, write, comm-region]", "size: 8K, flags: [read, write, comm-region]");
        assertThat(findings(check(ROOT, big), ConfigCheck.COMM_REGION)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("larger than the one 4 KiB page"));
    }

    @Test
    void pioOutsideRootIsANoteNotAFinding() {
        var r = check(ROOT, cell("a", "1", 0x3ee00000L, "pio_regions: [{base: 0x3f8, length: 8}, {base: 0x2fc, length: 8}]"));
        assertThat(r.byCheck()).doesNotContainKey(ConfigCheck.PIO);
        assertThat(r.clean()).as("upstream grants ports the root does not list").isTrue();
        assertThat(r.notes()).singleElement().satisfies(f -> {
            assertThat(f.check()).isEqualTo(ConfigCheck.PIO);
            assertThat(f.where()).isEqualTo("PIO range 1");
            assertThat(f.message()).contains("0x2fc-0x303", "first missing: 0x300", "as upstream");
        });
    }

    private static String ivshmemCell(String name, String cpu, long ram, int id, int peers, String bdf, boolean writeOwn) {
        StringBuilder regions = new StringBuilder();
        regions.append("    - {phys_start: 0x3f0f0000, virt_start: 0x3f0f0000, size: 4K, flags: [read, rootshared]}\n");
        regions.append("    - {phys_start: 0x3f0f1000, virt_start: 0x3f0f1000, size: 4K, flags: [read, write, rootshared]}\n");
        for (int p = 0; p < peers; p++) {
            long at = 0x3f0f2000L + p * 0x2000L;
            String flags = p == id && writeOwn ? "read, write, rootshared" : "read, rootshared";
            regions.append("    - {phys_start: 0x%x, virt_start: 0x%x, size: 8K, flags: [%s]}\n".formatted(at, at, flags));
        }
        return """
                cell:
                  name: %s
                  cpus: [%s]
                  memory_regions:
                %s    - {phys_start: 0x%x, virt_start: 0, size: 1M, flags: [read, write, execute, loadable]}
                    - {virt_start: 0x100000, size: 4K, flags: [read, write, comm-region]}
                  pci_devices:
                    - {type: ivshmem, bdf: "%s", num_msix_vectors: 2, shmem_regions_start: 0, shmem_dev_id: %d, shmem_peers: %d}
                """.formatted(name, cpu, regions, ram, bdf, id, peers);
    }

    @Test
    void ivshmemLinks() {
        String root = ROOT.replace("      - {phys_start: 0x3a600000", "      - {phys_start: 0x3f0f0000, virt_start: 0x3f0f0000, size: 64K, flags: [read, write]}\n      - {phys_start: 0x3a600000");
        var ok = check(root, ivshmemCell("a", "1", 0x3ee00000L, 0, 2, "00:0e.0", true),
                ivshmemCell("b", "2", 0x3ef00000L, 1, 2, "00:0e.0", true));
        assertThat(ok.clean()).as(ok.byCheck().toString()).isTrue();

        var dup = check(root, ivshmemCell("a", "1", 0x3ee00000L, 0, 2, "00:0e.0", true),
                ivshmemCell("b", "2", 0x3ef00000L, 0, 2, "00:0e.0", false));
        assertThat(findings(dup, ConfigCheck.IVSHMEM)).extracting(Finding::message)
                .anyMatch(m -> m.contains("peer id 0 is also used by cell \"a\""));

        var peers = check(root, ivshmemCell("a", "1", 0x3ee00000L, 0, 2, "00:0e.0", true),
                ivshmemCell("b", "2", 0x3ef00000L, 1, 3, "00:0e.0", true));
        assertThat(findings(peers, ConfigCheck.IVSHMEM)).extracting(Finding::message)
                .anyMatch(m -> m.contains("shmem_peers 3 differs from 2"));

        var readOnlyOwn = check(root, ivshmemCell("a", "1", 0x3ee00000L, 0, 2, "00:0e.0", false));
        assertThat(findings(readOnlyOwn, ConfigCheck.IVSHMEM)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("output section of peer 0", "must be writable"));

        String tooFew = ivshmemCell("a", "1", 0x3ee00000L, 0, 2, "00:0e.0", true).replace("shmem_regions_start: 0", "shmem_regions_start: 3");
        assertThat(findings(check(root, tooFew), ConfigCheck.IVSHMEM)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("exceeds the cell's 6 memory regions"));
    }

    @Test
    void limitsAndNames() {
        String twoL3 = cell("a", "1", 0x3ee00000L, "cache_regions: [{start: 0, size: 2, type: l3}, {start: 2, size: 2, type: l3}]");
        assertThat(findings(check(ROOT, twoL3), ConfigCheck.LIMITS)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("2 L3 cache regions"));
        var dupName = check(ROOT, cell("root", "1", 0x3ee00000L, ""));
        assertThat(findings(dupName, ConfigCheck.ARCHITECTURE)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("already used by root.yaml"));
    }
}
