package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CConfigWriter's output, compiled, must reproduce BinaryConfigCodec's
 * encoding byte for byte, for the sample configs and for configs with every
 * field set to odd values.
 */
class CConfigWriterTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needGcc() {
        Gcc.assume();
    }

    @ParameterizedTest(name = "{0}: written C recompiles to identical bytes")
    @ValueSource(strings = {"qemu-x86.c", "tiny-demo.c", "apic-demo.c", "ivshmem-demo.c", "pci-demo.c",
        "smp-demo.c", "linux-x86-demo.c", "ioapic-demo.c", "e1000-demo.c"})
    void sampleConfigsRoundTrip(String file) throws Exception {
        byte[] original = CConfigCompiler.compile(Gcc.config(file));
        JailhouseConfig config = BinaryConfigCodec.decode(original, file);
        String c = CConfigWriter.write(config, file);
        assertThat(recompile(c, "rewritten-" + file)).isEqualTo(original);
    }

    @Test
    void outputReadsLikeUpstreamConfigs() throws Exception {
        JailhouseConfig sys = BinaryConfigCodec.decode(CConfigCompiler.compile(Gcc.config("qemu-x86.c")), "q");
        String c = CConfigWriter.write(sys, "qemu-x86.cell");
        assertThat(c.lines()).allMatch(l -> l.replace("\t", "        ").length() <= 80, "fits 80 columns");
        String flat = unwrap(c);
        assertThat(flat).contains("#include <jailhouse/types.h>", "#include <jailhouse/cell-config.h>",
                "} __attribute__((packed)) config = {", "struct jailhouse_system header;", "__u64 cpus[1];",
                "struct jailhouse_memory mem_regions[31];", ".signature = JAILHOUSE_SYSTEM_SIGNATURE,",
                ".revision = JAILHOUSE_CONFIG_REVISION,", ".flags = JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE,",
                ".type = JAILHOUSE_IOMMU_INTEL,", ".pm_timer_address = 0x608,", ".vtd_interrupt_limit = 256,",
                ".name = \"QEMU-VM\",", ".cpu_set_size = sizeof(config.cpus),",
                ".num_memory_regions = ARRAY_SIZE(config.mem_regions),", ".cpus = { 0xf },",
                "JAILHOUSE_SHMEM_NET_REGIONS(0x3f100000, 0),", "PIO_RANGE(0x3b0, 0x30),", "PIO_RANGE(0x2f8, 8),",
                ".flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,",
                ".bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX,",
                ".shmem_protocol = JAILHOUSE_SHMEM_PROTO_VIRTIO_BACK + VIRTIO_DEV_BLOCK,",
                ".shmem_protocol = JAILHOUSE_SHMEM_PROTO_VETH,", ".msi_64bits = 1,",
                ".id = PCI_EXT_CAP_ID_ERR | JAILHOUSE_PCI_EXT_CAP,", ".flags = JAILHOUSE_PCICAPS_WRITE,",
                ".type = JAILHOUSE_CON_TYPE_8250,", ".flags = JAILHOUSE_CON_ACCESS_PIO,", "{ 0 },",
                "written from qemu-x86.cell");
        // Nothing that needs the twin PCI device type, and no hex-only flag leftovers.
        assertThat(c).doesNotContain("raw_msi").doesNotContain("| 0x");

        JailhouseConfig cell = BinaryConfigCodec.decode(CConfigCompiler.compile(Gcc.config("tiny-demo.c")), "t");
        assertThat(unwrap(CConfigWriter.write(cell, null))).contains("struct jailhouse_cell_desc cell;",
                ".signature = JAILHOUSE_CELL_DESC_SIGNATURE,", ".architecture = JAILHOUSE_X86,",
                ".name = \"tiny-demo\",", ".cpus = { 0x4 },", ".type = JAILHOUSE_CACHE_L3,",
                ".flags = JAILHOUSE_CELL_PASSIVE_COMMREG | JAILHOUSE_CELL_TEST_DEVICE"
                        + " | JAILHOUSE_CELL_VIRTUAL_CONSOLE_PERMITTED,")
                .doesNotContain("irqchips").doesNotContain("pci_devices");
    }

    @Test
    void everyOddFieldOfASystemConfigSurvives() throws Exception {
        // Root cell header bytes: "JH", NUL, 0xff, '7' (after an escape), arch 2, revision 0x1234.
        long rootHeader = 0x1234_02_37_ff_00_48_4aL;
        List<IommuUnit> iommus = List.of(
                IommuUnit.amd(0xfeb80000L, 0x80000, 0x0002, 0x40, 0x54, 0x80048824L),
                IommuUnit.UNUSED,
                new IommuUnit(IommuUnit.TYPE_AMD, 1, 2, 0x1122334455667788L, 0x99aabbccL),
                IommuUnit.pvu(0x30f80000L, 0x1000, 0x36000000L, 0x400000),
                IommuUnit.UNUSED,
                new IommuUnit(0, 0xdead0000L, 0, 0, 0),
                IommuUnit.UNUSED,
                new IommuUnit(0xfffffff9L, -1L, 0xffffffffL, -1L, 0xffffffffL));
        PlatformInfo platform = new PlatformInfo(0xe0000000L, 0x3f, 1, 0xabcd, iommus,
                new X86Platform(0xffff, 7, 0x5a, 0xffffffffL, 2_000_000, 1_000_000));
        CellConfig root = oddCell(Architecture.X86, "we\"ird\\name??=\t\u00e9\u00ff*/\u00017", Bitmap.of(3, 0, 9, 23));
        SystemConfig sys = new SystemConfig(Architecture.X86, 0xfffffffeL | SystemConfig.VIRTUAL_DEBUG_CONSOLE,
                new MemoryRegion(0x3a000000L, 0x1234, 0x600000, 0xf00dL),
                new Console(0x3f8, 0xffffffffL, 0xffff, 0xffff, 1, 2, -1L), platform, root, rootHeader);
        String c = assertRoundTrip(sys, "odd-system");
        // Octal escapes are three digits, so the '7' after \001 stays a character.
        assertThat(c).contains("raw_msi", "\\?\\?=", "\\377*/\\0017", ".tipvu =", ".amd =");
        // The name in the opening comment cannot end the comment early.
        assertThat(c.lines().limit(3)).noneMatch(l -> l.substring(2).contains("*/"));
    }

    @Test
    void armSystemWithPaddingAndStreamIds() throws Exception {
        PlatformInfo platform = new PlatformInfo(0, 0, 1, 0, List.of(IommuUnit.UNUSED, IommuUnit.UNUSED,
                IommuUnit.UNUSED, IommuUnit.UNUSED, IommuUnit.UNUSED, IommuUnit.UNUSED, IommuUnit.UNUSED,
                new IommuUnit(IommuUnit.TYPE_ARM_MMU500, 0xfd800000L, 0x20000, 0, 0)),
                new ArmPlatform(25, 2, 0xbeef, 0xf9010000L, 0xf902f000L, 0xf9040000L, 0xf906f000L, -1L));
        CellConfig root = oddCell(Architecture.ARM64, "ZynqMP", Bitmap.ofWords(0, 1, 2, 3));
        assertRoundTrip(new SystemConfig(Architecture.ARM64, 0, MemoryRegion.EMPTY, Console.NONE, platform, root,
                0), "arm64-system");
    }

    @Test
    void minimalCellWithNothingButTheDescriptor() throws Exception {
        CellConfig empty = new CellConfig(Architecture.X86, "", 0, 0, Bitmap.of(0), List.of(), List.of(),
                List.of(), List.of(), List.of(), List.of(), List.of(), 0, 0, 0, Console.NONE);
        String c = assertRoundTrip(empty, "empty");
        assertThat(c).doesNotContain("cpus").doesNotContain("mem_regions").doesNotContain(".name");
        assertThat(BinaryConfigCodec.encode(empty)).hasSize(CellConfig.DESC_BYTES);
    }

    @Test
    void cellWithEmptyButSizedCpuSetAndLargeBitmap() throws Exception {
        CellConfig none = oddCell(Architecture.ARM, "no cpus", Bitmap.of(16));
        assertRoundTrip(none, "empty-cpu-set");
        CellConfig many = oddCell(Architecture.X86, "many", Bitmap.of(64, 0, 100, 200, 511));
        assertRoundTrip(many, "large-cpu-set");
    }

    @Test
    void randomConfigsRoundTrip() throws Exception {
        Random rnd = new Random(0x4a48_434cL);
        for (int i = 0; i < 12; i++) {
            JailhouseConfig config = RandomConfigs.config(rnd);
            // Only configs the codec reads count; decoding also normalises them.
            JailhouseConfig decoded = BinaryConfigCodec.decode(BinaryConfigCodec.encode(config), "random-" + i);
            assertRoundTrip(decoded, "random-" + i);
        }
    }

    // --- helpers ---

    /** Joins expressions the writer wrapped over several lines. */
    private static String unwrap(String c) {
        return c.replaceAll(" ([|+])\n\t+", " $1 ");
    }

    /** Writes, compiles and compares; returns the C text. */
    private String assertRoundTrip(JailhouseConfig config, String label) throws Exception {
        byte[] expected = BinaryConfigCodec.encode(config);
        String c = CConfigWriter.write(config, label + ".cell");
        byte[] actual = recompile(c, label + ".c");
        if (!Arrays.equals(expected, actual)) {
            int at = Arrays.mismatch(expected, actual);
            fail(label + ": recompiled C differs from the encoding at byte " + at + " (expected "
                    + expected.length + " bytes, got " + actual.length + "); C source:\n" + c);
        }
        assertThat(c).isEqualTo(new String(c.getBytes(StandardCharsets.US_ASCII), StandardCharsets.US_ASCII));
        return c;
    }

    private byte[] recompile(String c, String fileName) throws Exception {
        Path file = tmp.resolve(fileName);
        Files.writeString(file, c, StandardCharsets.US_ASCII);
        try {
            return CConfigCompiler.compile(file);
        } catch (ConfigFormatException e) {
            throw new AssertionError("written C does not compile: " + e.getMessage() + "\nC source:\n" + c, e);
        }
    }

    /** A cell with every field and array populated with values that have no names. */
    private static CellConfig oddCell(Architecture arch, String name, Bitmap cpus) {
        return new CellConfig(arch, name, 0xfffffff0L, 0x80000000L | 0x4000_0000L | 0x1234_5678L, cpus,
                List.of(new MemoryRegion(-1L, 0x8000000000000000L, 0xfff, MemoryRegion.READ | 0x200 | (1L << 63)),
                        MemoryRegion.EMPTY,
                        new MemoryRegion(0, 0, 0, MemoryRegion.COMM_REGION),
                        new MemoryRegion(0x3f100000L, 0x3f100000L, 0x1000, MemoryRegion.READ | MemoryRegion.ROOTSHARED)),
                List.of(new CacheRegion(0xffffffffL, 7, 9, 0x11, 0xffff), new CacheRegion(0, 0, 0, 0, 0)),
                List.of(new Irqchip(0xfec00000L, 0x1ff00L, 0xffffffffL,
                        Bitmap.of(Irqchip.PIN_BITMAP_BYTES, 0, 31, 64, 127))),
                List.of(new PioRange(0xffff, 0xffff), new PioRange(0, 0), new PioRange(0x3f8, 9)),
                List.of(new PciDevice(0, 0xff, 0xffff, 0xffff, List.of(1L, 0xffffffffL, 0L, 0L, 0L, 0x80000000L), 0, 4,
                                0xff, 0xfd, 0xffff, 0xffff, -1L, 0xffffffffL, 0xff, 0xff, 0x4005),
                        new PciDevice(PciDevice.TYPE_IVSHMEM, 0, 0, 0x160, PciDevice.IVSHMEM_BAR_MASK_INTX, 0, 0, 0, 0,
                                0, 0, 0, 3, 0, 2, PciDevice.SHMEM_PROTO_VETH),
                        new PciDevice(7, 1, 0, 0x178, List.of(0xffff0000L, 0xffff0000L, 0L, 0L, 0L, 0L), 0, 0, 0, 0x3,
                                0, 0, 0, 0, 0, 0, 0x8007),
                        new PciDevice(PciDevice.TYPE_IVSHMEM, 0, 0, 0x170, PciDevice.IVSHMEM_BAR_MASK_MSIX, 0, 0, 0,
                                0, 16, 0, 0, 0, 0, 0, 0x2222)),
                List.of(new PciCapability(0, 0x40, 0x40, 0), new PciCapability(0x8000 | 0x7ff, 0xfff, 0xffff, 0xfffe),
                        new PciCapability(0x8000 | 0x20, 0x100, 4, 1), new PciCapability(0x55, 0, 0, 0),
                        new PciCapability(0x8000, 0, 0, 0)),
                List.of(0L, 0xffffffffL, 0x12345L), 0xffffffffL, 0xfffff000L, -1L,
                new Console(0, 0, Console.TYPE_NONE, 0x8ff8, 0, 0, 0));
    }
}
