package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.ConfigCheck.Finding;
import io.jailhouse.config.ConfigCheck.Source;
import io.jailhouse.config.TextConfigCodec.Format;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every config in src/test/resources/c-configs (our renderings of upstream's
 * x86, ARM and ARM64 configs: the QEMU machines and their demo cells, the two
 * AMD boards, e1000-demo, linux-x86-demo, an emtrion board whose file carries
 * bytes after its configuration) converts to YAML, JSON and C and back to the
 * same binary, and passes config check as upstream's tool passes it.
 */
class UpstreamShapedConfigsTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needGcc() {
        Gcc.assume();
    }

    static Stream<String> cConfigs() throws IOException {
        try (Stream<Path> files = Files.list(Gcc.config("qemu-x86.c").getParent())) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".c")).sorted().toList().stream();
        }
    }

    private static ConfigFile load(String name) throws ConfigFormatException {
        return ConfigFiles.load(Gcc.config(name));
    }

    @ParameterizedTest(name = "{0}: .cell -> .yaml/.json/.c -> .cell is byte-identical")
    @MethodSource("cConfigs")
    void convertsToEveryFormAndBack(String name) throws Exception {
        byte[] compiled = CConfigCompiler.compile(Gcc.config(name));
        ConfigFile file = load(name);
        assertThat(file.trailingBytes()).as("bytes after the configuration")
                .isEqualTo(name.equals("emtrion-rzg1e.c") ? PciDevice.BYTES : 0);
        byte[] cell = BinaryConfigCodec.encode(file.config());
        assertThat(cell).isEqualTo(Arrays.copyOf(compiled, compiled.length - (int) file.trailingBytes()));
        for (String form : new String[] {"yaml", "json", "c", "cell"}) {
            Path out = tmp.resolve(name.replace(".c", "") + "-converted." + form);
            ConfigFiles.write(out, file.config());
            ConfigFile back = ConfigFiles.load(out);
            assertThat(BinaryConfigCodec.encode(back.config())).as(form).isEqualTo(cell);
            assertThat(back.trailingBytes()).isZero();
        }
    }

    @Test
    void theAmdBoardKeepsItsIommuUnitThroughYaml() throws Exception {
        SystemConfig board = (SystemConfig) load("f2a88xm-hd3.c").config();
        IommuUnit amd = board.platform().usedIommuUnits().get(0);
        assertThat(amd.type()).isEqualTo(IommuUnit.TYPE_AMD);
        assertThat(amd.amdBdf()).isEqualTo(0x0002);
        String yaml = new String(TextConfigCodec.encode(board, Format.YAML), StandardCharsets.UTF_8);
        assertThat(yaml).contains("amd_bdf: 00:00.2");
    }

    private static ConfigCheck.Report check(String system, String... cells) throws ConfigFormatException {
        List<Source<CellConfig>> sources = new ArrayList<>();
        for (String c : cells) {
            sources.add(new Source<>(c, (CellConfig) load(c).config()));
        }
        return ConfigCheck.run(new Source<>(system, (SystemConfig) load(system).config()), sources);
    }

    private static List<Finding> all(ConfigCheck.Report r) {
        return r.byCheck().values().stream().flatMap(List::stream).toList();
    }

    @ParameterizedTest(name = "qemu-x86 with {0}: no findings, and each port the root lacks is a note")
    @MethodSource("x86Sets")
    void upstreamsQemuSetsAreClean(List<String> cells) throws Exception {
        ConfigCheck.Report r = check("qemu-x86.c", cells.toArray(String[]::new));
        assertThat(all(r)).isEmpty();
        // qemu-x86's root leaves 0x3f8 to the hypervisor's console; every demo lists it.
        assertThat(r.notes()).extracting(Finding::check).containsOnly(ConfigCheck.PIO);
        assertThat(r.notes()).anySatisfy(n -> assertThat(n.message()).contains("0x3f8-0x3ff"));
    }

    static Stream<List<String>> x86Sets() {
        return Stream.of(List.of("tiny-demo.c", "apic-demo.c"), List.of("smp-demo.c"), List.of("ioapic-demo.c"),
                List.of("pci-demo.c"), List.of("e1000-demo.c"), List.of("linux-x86-demo.c", "ivshmem-demo.c"));
    }

    @Test
    void theAmdBoardsHaveWhatUpstreamsToolFindsInThem() throws Exception {
        // Upstream's own configs for these boards overlap their hypervisor memory (and map the IOMMU):
        // upstream's tool reports the same, and its driver enables them all the same.
        Map<String, List<Finding>> board = check("f2a88xm-hd3.c").byCheck();
        assertThat(board.get(ConfigCheck.WITH_HYPERVISOR)).singleElement()
                .satisfies(f -> assertThat(f.where()).isEqualTo("region 6"));
        assertThat(board.get(ConfigCheck.IOMMU)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("IOMMU 0 at 0xfeb80000-0xfebfffff"));
        assertThat(all(check("f2a88xm-hd3.c"))).hasSize(2);
        assertThat(all(check("imb-a180.c"))).extracting(Finding::check).containsExactly(ConfigCheck.WITH_HYPERVISOR);
    }

    @ParameterizedTest(name = "{0}: no x86 rule applies to an ARM set, which is clean")
    @MethodSource("armSets")
    void upstreamsArmSetsAreClean(List<String> set) throws Exception {
        ConfigCheck.Report r = check(set.get(0), set.subList(1, set.size()).toArray(String[]::new));
        assertThat(all(r)).isEmpty();
        assertThat(r.byCheck()).doesNotContainKey(ConfigCheck.X86_RESOURCES)
                .containsKey(ConfigCheck.RESOURCES + r.system().config().architecture().label());
    }

    static Stream<List<String>> armSets() {
        return Stream.of(List.of("qemu-arm64.c", "qemu-arm64-inmate-demo.c", "qemu-arm64-linux-demo.c"),
                List.of("foundation-v8.c", "foundation-v8-inmate-demo.c", "foundation-v8-linux-demo.c"),
                List.of("qemu-arm.c", "qemu-arm-inmate-demo.c"), List.of("emtrion-rzg1e.c"));
    }

    @Test
    void aCellMappingTheGicIsFoundOnArm() throws Exception {
        SystemConfig sys = (SystemConfig) load("qemu-arm64.c").config();
        ArmPlatform gic = (ArmPlatform) sys.platform().arch();
        CellConfig demo = (CellConfig) load("qemu-arm64-inmate-demo.c").config();
        List<MemoryRegion> regions = new ArrayList<>(demo.memoryRegions());
        regions.add(new MemoryRegion(gic.gicrBase() + 0x10000, gic.gicrBase() + 0x10000, 0x1000,
                MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.IO));
        CellConfig bad = new CellConfig(demo.architecture(), demo.name(), demo.id(), demo.flags(), demo.cpus(),
                regions, demo.cacheRegions(), demo.irqchips(), demo.pioRegions(), demo.pciDevices(), demo.pciCaps(),
                demo.streamIds(), demo.vpciIrqBase(), demo.cpuResetAddress(), demo.msgReplyTimeout(), demo.console());
        ConfigCheck.Report r = ConfigCheck.run(new Source<>("qemu-arm64.c", sys), List.of(new Source<>("bad", bad)));
        assertThat(r.byCheck().get(ConfigCheck.RESOURCES + "arm64")).singleElement().satisfies(f -> {
            assertThat(f.where()).isEqualTo("region " + (regions.size() - 1));
            assertThat(f.message()).contains("maps the GICR registers at 0x80a0000-0x80bffff");
        });
    }
}
