package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.TextConfigCodec.Format;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TextConfigCodecTest {

    static Stream<Path> bundled() {
        return BundledConfigs.yamlFiles().stream();
    }

    private static JailhouseConfig yaml(String text) throws ConfigFormatException {
        return TextConfigCodec.decode(text.getBytes(StandardCharsets.UTF_8), "t.yaml", Format.YAML);
    }

    private static String yamlError(String text) {
        try {
            yaml(text);
        } catch (ConfigFormatException e) {
            return e.getMessage();
        }
        throw new AssertionError("decoded without error");
    }

    @ParameterizedTest
    @MethodSource("bundled")
    void cellToYamlToCellIsByteExact(Path yamlFile) throws Exception {
        byte[] cell = BinaryConfigCodec.encode(ConfigFiles.read(yamlFile));
        JailhouseConfig decoded = BinaryConfigCodec.decode(cell, "x.cell");
        for (Format f : Format.values()) {
            byte[] text = TextConfigCodec.encode(decoded, f);
            JailhouseConfig back = TextConfigCodec.decode(text, "x." + f, f);
            assertThat(BinaryConfigCodec.encode(back)).as(f.name()).isEqualTo(cell);
        }
    }

    @Test
    void readsUnitsRangesNamesAndBdfs() throws Exception {
        CellConfig c = (CellConfig) yaml("""
                cell:
                  name: t
                  flags: [passive-commreg, VIRTUAL_CONSOLE_ACTIVE]
                  cpus: [1-3, 5]
                  memory_regions:
                    - {phys_start: 0x3ee00000, size: 1M, flags: [read, write, execute, loadable]}
                    - {virt_start: 0x100000, size: 0x1000, flags: [read, comm-region]}
                    - {}
                  pci_devices:
                    - {type: ivshmem, bdf: 00:02.0, bar_mask: [0xfffff000, 0xfffff000, 0, 0, 0, 0], shmem_peers: 2}
                  irqchips:
                    - {address: 0xfec00000, id: 0xff00, pins: [0-23, 127]}
                """);
        assertThat(c.flags()).isEqualTo(CellConfig.PASSIVE_COMMREG | CellConfig.VIRTUAL_CONSOLE_ACTIVE);
        assertThat(c.cpus().bits().toArray()).containsExactly(1, 2, 3, 5);
        assertThat(c.cpus().sizeBytes()).isEqualTo(8);
        assertThat(c.memoryRegions().get(0).size()).isEqualTo(0x100000);
        assertThat(c.memoryRegions().get(2)).isEqualTo(MemoryRegion.EMPTY);
        assertThat(c.pciDevices().get(0).bdf()).isEqualTo(0x10);
        assertThat(c.pciDevices().get(0).barMask()).isEqualTo(PciDevice.IVSHMEM_BAR_MASK_MSIX);
        assertThat(c.irqchips().get(0).pinBitmap().count()).isEqualTo(25);
        assertThat(c.irqchips().get(0).pinBitmap().isSet(127)).isTrue();
    }

    @Test
    void cpuSetSizeDefaultsToWholeWordsAndCanBeGiven() throws Exception {
        assertThat(((CellConfig) yaml("cell: {name: a, cpus: [64]}")).cpus().sizeBytes()).isEqualTo(16);
        assertThat(((CellConfig) yaml("cell: {name: a, cpus: 2, cpu_set_size: 1}")).cpus().sizeBytes()).isEqualTo(1);
        assertThat(yamlError("cell: {name: a, cpus: 9, cpu_set_size: 1}")).contains("cell.cpus", "bit 9 does not fit 1 bytes");
    }

    @Test
    void errorsNameTheEntry() {
        assertThat(yamlError("cell: {name: a, memory_regions: [{size: 1X}]}"))
                .isEqualTo("t.yaml: cell.memory_regions[0].size: '1X' is not a number (use decimal, 0x hex, or a size like 1M)");
        assertThat(yamlError("cell: {name: a, memory_regions: [{sise: 1}]}"))
                .startsWith("t.yaml: cell.memory_regions[0].sise: unknown key in cell.memory_regions[0]");
        assertThat(yamlError("cell: {name: a, memory_regions: [{flags: [read, wrte]}]}"))
                .contains("cell.memory_regions[0].flags", "unknown memory flag 'wrte'", "known: read, write");
        assertThat(yamlError("cell: {name: a, pci_devices: [{bdf: 1:2:3}]}"))
                .contains("cell.pci_devices[0].bdf", "not a PCI address");
        assertThat(yamlError("cell: {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}")).contains("cell.name", "at most 31");
        assertThat(yamlError("cell: {name: a, pio_regions: [{base: 0x10000}]}"))
                .contains("cell.pio_regions[0].base", "exceeds the field's maximum 0xffff");
        assertThat(yamlError("cell: {name: a, cpus: [3-1]}")).contains("cell.cpus", "runs backwards");
        assertThat(yamlError("cell: {}\nsystem: {}")).contains("exactly one top-level key");
        assertThat(yamlError("cell: {name: a, name: b}")).contains("appears twice");
        assertThat(yamlError("cell: [1, 2")).contains("t.yaml: line");
        assertThat(yamlError("cell: {name: a, architecture: sparc}")).contains("unknown architecture 'sparc'");
    }

    @Test
    void namesOutsidePrintableAsciiAreWrittenEscapedAndReadBack() throws Exception {
        CellConfig c = (CellConfig) yaml("cell: {name: plain}");
        CellConfig odd = new CellConfig(c.architecture(), "a\nb\u0085c\\d\u00e9", c.id(), c.flags(), c.cpus(),
                c.memoryRegions(), c.cacheRegions(), c.irqchips(), c.pioRegions(), c.pciDevices(), c.pciCaps(),
                c.streamIds(), c.vpciIrqBase(), c.cpuResetAddress(), c.msgReplyTimeout(), c.console());
        String text = new String(TextConfigCodec.encode(odd, Format.YAML), StandardCharsets.UTF_8);
        assertThat(text).contains("name_escaped: a\\x0ab\\x85c\\\\d\\xe9").doesNotContain("name:");
        assertThat(((CellConfig) yaml(text)).name()).isEqualTo(odd.name());
        assertThat(((CellConfig) yaml("cell: {name_escaped: 'back\\\\slash'}")).name()).isEqualTo("back\\slash");
        assertThat(yamlError("cell: {name_escaped: 'a\\q'}")).contains("cell.name_escaped", "character 1");
        assertThat(yamlError("cell: {name_escaped: 'a\\x4'}")).contains("cell.name_escaped");
        assertThat(yamlError("cell: {name: a, name_escaped: b}")).contains("either name or name_escaped");
    }

    @Test
    void amdIommuUnitsKeepTheirBdf() throws Exception {
        SystemConfig s = (SystemConfig) yaml("""
                system:
                  hypervisor_memory: {phys_start: 0x3a000000, size: 6M}
                  platform:
                    iommu_units:
                      - {type: amd, base: 0xfeb80000, size: 0x80000, amd_bdf: 00:00.2, amd_base_cap: 0x40,
                         amd_msi_cap: 0x54, amd_features: 0x80048824}
                      - {type: amd, base: 0xfeb00000, size: 0x80000, amd_bdf: 0x12}
                  root_cell: {name: r, cpus: [0]}
                """);
        assertThat(s.platform().iommuUnits().get(0)).isEqualTo(
                IommuUnit.amd(0xfeb80000L, 0x80000, 0x0002, 0x40, 0x54, 0x80048824L));
        assertThat(s.platform().iommuUnits().get(1).amdBdf()).isEqualTo(0x12);
        String text = new String(TextConfigCodec.encode(s, Format.YAML), StandardCharsets.UTF_8);
        assertThat(text).contains("amd_bdf: 00:00.2");
        assertThat(BinaryConfigCodec.encode(yaml(text))).isEqualTo(BinaryConfigCodec.encode(s));
    }

    @Test
    void jsonIsTheSameStructure() throws Exception {
        CellConfig c = (CellConfig) TextConfigCodec.decode("""
                {"cell": {"name": "j", "cpus": [2], "memory_regions": [{"size": 4096, "flags": ["read"]}]}}
                """.getBytes(StandardCharsets.UTF_8), "t.json", Format.JSON);
        assertThat(c.memoryRegions().get(0).size()).isEqualTo(4096);
        assertThat(new String(TextConfigCodec.encode(c, Format.JSON), StandardCharsets.UTF_8))
                .contains("\"name\" : \"j\"", "\"size\" : \"4K\"");
    }

    @Test
    void numbersAcceptHexDecimalAndUnits() {
        assertThat(Numbers.parseUnsigned("0x3f8")).isEqualTo(0x3f8);
        assertThat(Numbers.parseUnsigned("4K")).isEqualTo(4096);
        assertThat(Numbers.parseUnsigned("2 MiB")).isEqualTo(2 << 20);
        assertThat(Numbers.parseUnsigned("0xffffffffffffffff")).isEqualTo(-1L);
        assertThatThrownBy(() -> Numbers.parseUnsigned("-1")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> Numbers.parseUnsigned("17179869184G")).hasMessageContaining("64 bits");
        assertThat(Numbers.size(0x100000)).isEqualTo("1M");
        assertThat(Numbers.size(0x9000)).isEqualTo("36K");
        assertThat(Numbers.size(0xddf000)).isEqualTo("14204K");
        assertThat(Numbers.size(0x1f)).isEqualTo("0x1f");
    }

    @Test
    void bdfFormatAndParse() {
        assertThat(PciDevice.formatBdf(0x170)).isEqualTo("01:0e.0");
        assertThat(PciDevice.parseBdf("01:0e.0")).isEqualTo(0x170);
        assertThat(PciDevice.parseBdf("0000:00:1b.0")).isEqualTo(0xd8);
        assertThat(PciDevice.parseBdf("0xd8")).isEqualTo(0xd8);
        assertThatThrownBy(() -> PciDevice.parseBdf("00:20.0")).hasMessageContaining("exceeds 1f");
    }
}
