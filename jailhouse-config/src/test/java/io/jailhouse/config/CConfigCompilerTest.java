package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The C configs in src/test/resources/c-configs are our own renderings of
 * upstream's x86 configs (spec section 10); compiled, they must have
 * upstream's sizes (spec 1.7) and the described content.
 */
class CConfigCompilerTest {
    private static final long RWX = MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.EXECUTE;
    private static final long RW = MemoryRegion.READ | MemoryRegion.WRITE;
    private static final long RS = MemoryRegion.ROOTSHARED;
    private static final long R = MemoryRegion.READ;

    @TempDir
    Path tmp;

    @BeforeEach
    void needGcc(TestInfo info) {
        if (!info.getTags().contains("no-gcc")) {
            Gcc.assume();
        }
    }

    static byte[] compile(String name) throws ConfigFormatException {
        return CConfigCompiler.compile(Gcc.config(name));
    }

    static JailhouseConfig decode(String name) throws ConfigFormatException {
        return BinaryConfigCodec.decode(compile(name), name);
    }

    @ParameterizedTest(name = "{0} compiles to {1} bytes that decode and re-encode identically")
    @CsvSource({
        "qemu-x86.c, 2372", "tiny-demo.c, 228", "apic-demo.c, 228", "ivshmem-demo.c, 428", "pci-demo.c, 312",
        "smp-demo.c, 216", "linux-x86-demo.c, 1108", "ioapic-demo.c, 256", "e1000-demo.c, 316"})
    void compilesToUpstreamSizeAndRoundTrips(String file, int size) throws Exception {
        byte[] bytes = compile(file);
        assertThat(bytes).hasSize(size);
        JailhouseConfig config = BinaryConfigCodec.decode(bytes, file);
        assertThat(BinaryConfigCodec.encode(config)).isEqualTo(bytes);
        assertThat(config.architecture()).isEqualTo(Architecture.X86);
    }

    @Test
    void tinyDemoStartsWithTheCellSignatureArchitectureAndRevision() throws Exception {
        byte[] bytes = compile("tiny-demo.c");
        assertThat(Arrays.copyOf(bytes, 8)).containsExactly(0x4A, 0x48, 0x43, 0x4C, 0x4C, 0x00, 0x0E, 0x00);
    }

    @Test
    void qemuX86RootCell() throws Exception {
        SystemConfig sys = (SystemConfig) decode("qemu-x86.c");
        CellConfig root = sys.rootCell();
        assertThat(root.name()).isEqualTo("QEMU-VM");
        assertThat(root.cpus().bits()).containsExactly(0, 1, 2, 3);
        assertThat(sys.hypervisorMemory().physStart()).isEqualTo(0x3a000000L);
        assertThat(sys.hypervisorMemory().size()).isEqualTo(0x600000L);
        assertThat(sys.debugConsole()).isEqualTo(Console.pio8250(0x3f8));
        assertThat(sys.flags()).isEqualTo(SystemConfig.VIRTUAL_DEBUG_CONSOLE);
        assertThat(sys.rootCellHeader()).isZero();

        PlatformInfo p = sys.platform();
        assertThat(p.pciMmconfigBase()).isEqualTo(0xb0000000L);
        assertThat(p.pciMmconfigEndBus()).isEqualTo(0xff);
        assertThat(p.usedIommuUnits()).containsExactly(new IommuUnit(IommuUnit.TYPE_INTEL, 0xfed90000L, 0x1000, 0, 0));
        assertThat(p.iommuUnits().get(0).type()).isEqualTo(IommuUnit.TYPE_INTEL);
        assertThat(sys.x86()).isEqualTo(new X86Platform(0x608, 0, 0, 256, 0, 0));

        List<MemoryRegion> mem = root.memoryRegions();
        assertThat(mem).hasSize(31);
        assertThat(mem.get(0)).isEqualTo(new MemoryRegion(0x3f000000L, 0x3f000000L, 0x1000, R));
        assertThat(mem.get(1)).isEqualTo(new MemoryRegion(0x3f001000L, 0x3f001000L, 0xdf000, RW));
        assertThat(mem.subList(2, 4)).containsOnly(MemoryRegion.EMPTY);
        assertThat(mem.get(4)).isEqualTo(new MemoryRegion(0x3f0e0000L, 0x3f0e0000L, 0x1000, R));
        assertThat(mem.get(5)).isEqualTo(new MemoryRegion(0x3f0e1000L, 0x3f0e1000L, 0xf000, RW));
        assertThat(mem.get(8)).isEqualTo(new MemoryRegion(0x3f0f0000L, 0x3f0f0000L, 0x1000, R));
        assertThat(mem.get(10)).isEqualTo(new MemoryRegion(0x3f0fa000L, 0x3f0fa000L, 0x2000, RW));
        assertThat(mem.get(12)).isEqualTo(new MemoryRegion(0x3f0fe000L, 0x3f0fe000L, 0x2000, R));
        assertThat(mem.subList(13, 17)).containsExactlyElementsOf(netRegions(0x3f100000L, 0));
        long rwxd = RWX | MemoryRegion.DMA;
        assertThat(mem.get(17)).isEqualTo(new MemoryRegion(0, 0, 0x3a000000L, rwxd));
        assertThat(mem.get(18)).isEqualTo(new MemoryRegion(0x3a600000L, 0x3a600000L, 0x4a00000L, rwxd));
        assertThat(mem.get(19)).isEqualTo(new MemoryRegion(0x3f200000L, 0x3f200000L, 0xddf000L, rwxd));
        assertThat(mem.get(20)).isEqualTo(new MemoryRegion(0x3ffdf000L, 0x3ffdf000L, 0x21000, R));
        long[][] mmio = {{0xfd000000L, 0x1000000}, {0xfe200000L, 0x4000}, {0xfea00000L, 0x40000},
            {0xfea40000L, 0x20000}, {0xfea60000L, 0x20000}, {0xfea91000L, 0x3000}, {0xfea94000L, 0x4000},
            {0xfea98000L, 0x1000}, {0xfea9a000L, 0x1000}, {0xfed00000L, 0x1000}};
        for (int i = 0; i < mmio.length; i++) {
            assertThat(mem.get(21 + i)).isEqualTo(new MemoryRegion(mmio[i][0], mmio[i][0], mmio[i][1], RW));
        }

        assertThat(root.irqchips()).containsExactly(new Irqchip(0xfec00000L, 0xff00, 0,
                Bitmap.of(Irqchip.PIN_BITMAP_BYTES, IntStream.range(0, 24).toArray())));
        assertThat(root.pioRegions()).containsExactly(pio(0x0, 0x1f), pio(0x40, 4), pio(0x60, 2), pio(0x64, 1),
                pio(0x70, 2), pio(0x1ce, 3), pio(0x2f8, 8), pio(0x3b0, 0x30), pio(0x3f0, 8), pio(0x402, 1),
                pio(0xcd0, 8), pio(0x5658, 4), pio(0xd000, 0xff));
        assertThat(root.pioRegions()).noneMatch(r -> r.contains(0x3f8, 1));

        List<PciDevice> pci = root.pciDevices();
        assertThat(pci).extracting(PciDevice::bdf).containsExactly(0x0008, 0x0010, 0x0018, 0x00d8, 0x00f8, 0x00fa,
                0x00fb, 0x00ff, 0x0160, 0x0168, 0x0170, 0x0178);
        assertThat(pci.get(2).type()).isEqualTo(PciDevice.TYPE_BRIDGE);
        PciDevice e1000e = pci.get(1);
        assertThat(e1000e.msi64Bits()).isTrue();
        assertThat(e1000e.numMsixVectors()).isEqualTo(5);
        assertThat(e1000e.msixAddress()).isEqualTo(0xfea90000L);
        assertThat(pci.get(3).numMsiVectors()).isEqualTo(1);
        assertThat(pci.get(7).numMsixVectors()).isEqualTo(2);
        assertThat(pci.get(7).msixAddress()).isEqualTo(0xfea9b000L);
        assertIvshmem(pci.get(8), 0x160, 0, 0, 2, 0xc002, 2);
        assertIvshmem(pci.get(9), 0x168, 4, 0, 2, 0xc003, 3);
        assertIvshmem(pci.get(10), 0x170, 8, 0, 3, PciDevice.SHMEM_PROTO_UNDEFINED, 16);
        assertIvshmem(pci.get(11), 0x178, 13, 0, 2, PciDevice.SHMEM_PROTO_VETH, 2);
        assertThat(root.pciCaps()).hasSize(16);
        // Every device's capability window lies inside the caps array.
        for (PciDevice d : pci) {
            assertThat(d.capsStart() + d.numCaps()).isLessThanOrEqualTo(root.pciCaps().size());
        }
        assertThat(root.pciCaps().subList(e1000e.capsStart(), e1000e.capsStart() + e1000e.numCaps()))
                .extracting(PciCapability::id)
                .containsExactly(0x01, 0x05, 0x10, 0x11, 0x8001, 0x8003);
    }

    @Test
    void tinyDemo() throws Exception {
        CellConfig c = (CellConfig) decode("tiny-demo.c");
        assertDemoCell(c, "tiny-demo", 0x3ee00000L, 2);
        assertThat(c.flags()).isEqualTo(CellConfig.PASSIVE_COMMREG | CellConfig.TEST_DEVICE
                | CellConfig.VIRTUAL_CONSOLE_PERMITTED);
        assertThat(c.cacheRegions()).containsExactly(new CacheRegion(2, 1, CacheRegion.L3, 0, 0));
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0xe010, 8));
    }

    @Test
    void apicDemo() throws Exception {
        CellConfig c = (CellConfig) decode("apic-demo.c");
        assertDemoCell(c, "apic-demo", 0x3ef00000L, 3);
        assertThat(c.flags()).isEqualTo(CellConfig.VIRTUAL_CONSOLE_PERMITTED);
        assertThat(c.cacheRegions()).containsExactly(new CacheRegion(0, 2, CacheRegion.L3, 0, 0));
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0xe010, 8));
    }

    @Test
    void smpDemo() throws Exception {
        CellConfig c = (CellConfig) decode("smp-demo.c");
        assertDemoCell(c, "smp-demo", 0x3ee00000L, 1, 2, 3);
        assertThat(c.flags()).isEqualTo(CellConfig.PASSIVE_COMMREG | CellConfig.VIRTUAL_CONSOLE_PERMITTED);
        assertThat(c.cacheRegions()).isEmpty();
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0xe010, 8));
    }

    @Test
    void pciDemo() throws Exception {
        CellConfig c = (CellConfig) decode("pci-demo.c");
        assertDemoCell(c, "pci-demo", 0x3ee00000L, 2);
        assertThat(c.memoryRegions().get(2)).isEqualTo(new MemoryRegion(0xfebd4000L, 0xfebd4000L, 0x4000, RW));
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0xe010, 8));
        PciDevice hda = c.pciDevices().getFirst();
        assertThat(c.pciDevices()).hasSize(1);
        assertThat(hda.type()).isEqualTo(PciDevice.TYPE_DEVICE);
        assertThat(hda.bdf()).isEqualTo(0x00d8);
        assertThat(PciDevice.formatBdf(hda.bdf())).isEqualTo("00:1b.0");
        assertThat(hda.numMsiVectors()).isEqualTo(1);
        assertThat(hda.msi64Bits()).isTrue();
        assertThat(hda.msiMaskable()).isFalse();
        assertThat(c.pciCaps()).containsExactly(new PciCapability(0x05, 0x60, 14, PciCapability.WRITE));
    }

    @Test
    void ivshmemDemo() throws Exception {
        CellConfig c = (CellConfig) decode("ivshmem-demo.c");
        assertThat(c.name()).isEqualTo("ivshmem-demo");
        assertThat(c.cpus().bits()).containsExactly(1);
        assertThat(c.memoryRegions()).containsExactly(
                new MemoryRegion(0x3f0f0000L, 0x3f0f0000L, 0x1000, R | RS),
                new MemoryRegion(0x3f0f1000L, 0x3f0f1000L, 0x9000, RW | RS),
                new MemoryRegion(0x3f0fa000L, 0x3f0fa000L, 0x2000, R | RS),
                new MemoryRegion(0x3f0fc000L, 0x3f0fc000L, 0x2000, RW | RS),
                new MemoryRegion(0x3f0fe000L, 0x3f0fe000L, 0x2000, R | RS),
                ram(0x3ee00000L), comm());
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8));
        PciDevice d = c.pciDevices().getFirst();
        assertThat(d.barMask()).isEqualTo(PciDevice.IVSHMEM_BAR_MASK_MSIX);
        assertIvshmem(d, 0x170, 0, 1, 3, PciDevice.SHMEM_PROTO_UNDEFINED, 16);
        assertThat(c.console()).isEqualTo(Console.pio8250(0x3f8));
    }

    @Test
    void linuxX86Demo() throws Exception {
        CellConfig c = (CellConfig) decode("linux-x86-demo.c");
        assertThat(c.name()).isEqualTo("linux-x86-demo");
        assertThat(c.cpus().bits()).containsExactly(2, 3);
        assertThat(c.console()).isEqualTo(Console.NONE);
        List<MemoryRegion> mem = c.memoryRegions();
        assertThat(mem).hasSize(20);
        assertThat(mem.get(0).flags()).isEqualTo(R | RS);
        assertThat(mem.get(1).flags()).isEqualTo(RW | RS);
        assertThat(mem.subList(2, 4)).containsOnly(MemoryRegion.EMPTY);
        assertThat(mem.subList(6, 8)).containsOnly(MemoryRegion.EMPTY);
        assertThat(mem.subList(8, 13)).extracting(MemoryRegion::flags)
                .containsExactly(R | RS, RW | RS, R | RS, R | RS, RW | RS);
        assertThat(mem.subList(13, 17)).containsExactlyElementsOf(netRegions(0x3f100000L, 1));
        long rwxdl = RWX | MemoryRegion.DMA | MemoryRegion.LOADABLE;
        assertThat(mem.get(17)).isEqualTo(new MemoryRegion(0x3a600000L, 0, 0x100000, rwxdl));
        assertThat(mem.get(18)).isEqualTo(comm());
        assertThat(mem.get(19)).isEqualTo(new MemoryRegion(0x3a700000L, 0x200000, 0x4700000L, rwxdl));
        assertThat(mem.get(19).physEnd() + 1).isEqualTo(0x3ee00000L);
        assertThat(c.cacheRegions()).containsExactly(new CacheRegion(0, 2, CacheRegion.L3, 0, 0));
        assertThat(c.irqchips()).containsExactly(new Irqchip(0xfec00000L, 0xff00, 0,
                Bitmap.of(Irqchip.PIN_BITMAP_BYTES, 3, 4)));
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0xe010, 8));
        List<PciDevice> pci = c.pciDevices();
        assertIvshmem(pci.get(0), 0x160, 0, 1, 2, 0x8002, 2);
        assertIvshmem(pci.get(1), 0x168, 4, 1, 2, 0x8003, 3);
        assertIvshmem(pci.get(2), 0x170, 8, 2, 3, PciDevice.SHMEM_PROTO_UNDEFINED, 16);
        assertIvshmem(pci.get(3), 0x178, 13, 1, 2, PciDevice.SHMEM_PROTO_VETH, 2);
        assertThat(c.pciCaps()).hasSize(6);
    }

    @Test
    void linuxX86DemoWithE1000eAssignment() throws Exception {
        // The option is a preprocessor switch in the source; a wrapper sets it.
        Path wrapper = tmp.resolve("linux-x86-demo-e1000e.c");
        Files.writeString(wrapper, "#define CONFIG_QEMU_E1000E_ASSIGNMENT\n#include \""
                + Gcc.config("linux-x86-demo.c").toAbsolutePath() + "\"\n");
        CellConfig c = (CellConfig) BinaryConfigCodec.decode(CConfigCompiler.compile(wrapper), "wrapper");
        assertThat(c.encodedSize()).isEqualTo(1108 + 4 * MemoryRegion.BYTES + PciDevice.BYTES);
        assertThat(c.memoryRegions()).hasSize(24);
        PciDevice e1000e = c.pciDevices().get(4);
        assertThat(e1000e.bdf()).isEqualTo(0x0010);
        assertThat(e1000e.numCaps()).isEqualTo(6);
    }

    @Test
    void ioapicDemo() throws Exception {
        CellConfig c = (CellConfig) decode("ioapic-demo.c");
        assertDemoCell(c, "ioapic-demo", 0x3ee00000L, 2);
        assertThat(c.irqchips()).containsExactly(new Irqchip(0xfec00000L, 0xff01, 0,
                Bitmap.of(Irqchip.PIN_BITMAP_BYTES, 9)));
        assertThat(c.irqchips().getFirst().pinBitmap().toByteArray()[1]).isEqualTo((byte) 0x02); // 0x200
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0x600, 4), pio(0x800, 4),
                pio(0xe010, 8));
    }

    @Test
    void e1000Demo() throws Exception {
        CellConfig c = (CellConfig) decode("e1000-demo.c");
        assertThat(c.cpus().bits()).containsExactly(2);
        assertThat(c.memoryRegions()).containsExactly(
                new MemoryRegion(0x3ee00000L, 0, 0x100000, RWX | MemoryRegion.DMA | MemoryRegion.LOADABLE),
                comm(), new MemoryRegion(0xfebc0000L, 0xfebc0000L, 0x20000, RW));
        assertThat(c.pioRegions()).containsExactly(pio(0x2f8, 8), pio(0x3f8, 8), pio(0xc000, 0x3f),
                pio(0xe000, 8));
        PciDevice nic = c.pciDevices().getFirst();
        assertThat(nic.bdf()).isEqualTo(0x00c8);
        assertThat(nic.msi64Bits()).isTrue();
        assertThat(nic.numMsiVectors()).isEqualTo(1);
        assertThat(c.pciCaps()).containsExactly(new PciCapability(0x05, 0xd0, 14, PciCapability.WRITE));
    }

    @Test
    void syntaxErrorIsReportedAsGccReportsIt() throws Exception {
        Path broken = tmp.resolve("broken-demo.c");
        Files.writeString(broken, """
                #include <jailhouse/types.h>
                #include <jailhouse/cell-config.h>

                struct { struct jailhouse_cell_desc cell; } __attribute__((packed)) config = {
                	.cell = { .name "broken" },
                };
                """);
        ConfigFormatException e = catchThrowableOfType(ConfigFormatException.class,
                () -> CConfigCompiler.compile(broken));
        assertThat(e).as("a syntax error must fail").isNotNull();
        assertThat(e.source()).isEqualTo(broken.toString());
        // gcc's own diagnostic, with file name and line, not a paraphrase.
        assertThat(e.getMessage()).contains("gcc failed").contains(broken + ":5:").contains("error:")
                .contains("expected");
    }

    @Test
    void layoutMistakeInHeadersWouldFailTheBuild() throws Exception {
        // A config cannot silently change a struct: the headers' static
        // assertions are compiled into every config.
        Path src = tmp.resolve("sizes.c");
        Files.writeString(src, """
                #include <jailhouse/cell-config.h>
                _Static_assert(sizeof(struct jailhouse_system) == 488, "system");
                struct { struct jailhouse_cell_desc cell; } __attribute__((packed)) config = {
                	.cell = { .signature = JAILHOUSE_CELL_DESC_SIGNATURE,
                		  .revision = JAILHOUSE_CONFIG_REVISION, .name = "sizes" },
                };
                """);
        assertThat(CConfigCompiler.compile(src)).hasSize(CellConfig.DESC_BYTES);
    }

    @Test
    void constConfigInRodataIsFound() throws Exception {
        Path src = tmp.resolve("const-cell.c");
        Files.writeString(src, """
                #include <jailhouse/types.h>
                #include <jailhouse/cell-config.h>
                static const int unrelated[3] = { 7, 8, 9 };
                const int *use = unrelated;
                const struct {
                	struct jailhouse_cell_desc cell;
                	__u64 cpus[1];
                } __attribute__((packed)) config = {
                	.cell = {
                		.signature = JAILHOUSE_CELL_DESC_SIGNATURE,
                		.revision = JAILHOUSE_CONFIG_REVISION,
                		.name = "const",
                		.cpu_set_size = sizeof(config.cpus),
                	},
                	.cpus = { 0x1 },
                };
                int other_data = 42;
                """);
        CellConfig c = (CellConfig) BinaryConfigCodec.decode(CConfigCompiler.compile(src), "const");
        assertThat(c.name()).isEqualTo("const");
        assertThat(c.cpus().bits()).containsExactly(0);
    }

    @Test
    void withoutConfigSymbolTheDataSectionIsTaken() throws Exception {
        Path src = tmp.resolve("renamed.c");
        Files.writeString(src, """
                #include <jailhouse/cell-config.h>
                struct { struct jailhouse_cell_desc cell; } __attribute__((packed)) my_cell = {
                	.cell = { .signature = JAILHOUSE_CELL_DESC_SIGNATURE,
                		  .revision = JAILHOUSE_CONFIG_REVISION, .name = "renamed" },
                };
                """);
        CellConfig c = (CellConfig) BinaryConfigCodec.decode(CConfigCompiler.compile(src), "renamed");
        assertThat(c.name()).isEqualTo("renamed");
    }

    @Test
    void fileNameNeedNotEndInDotC() throws Exception {
        Path src = tmp.resolve("odd name.config");
        Files.copy(Gcc.config("smp-demo.c"), src);
        assertThat(CConfigCompiler.compile(src)).isEqualTo(compile("smp-demo.c"));
    }

    @Test
    void aFileNamedLikeAnOptionOrAResponseFileIsCompiledAsSource() throws Exception {
        Path marker = tmp.resolve("ran");
        String options = "-wrapper '/bin/sh,-c,touch " + marker + "' -x c /dev/null\n";
        // Relative names, as a user types them. gcc reads "@F" as a file F of options: here F holds
        // options that run a command, and "@F" exists too, so that the command checks the file.
        String name = "jh-test-" + ProcessHandle.current().pid() + ".c";
        Path responseFile = Path.of(name);
        for (Path src : new Path[] {Path.of("@" + name), Path.of("-" + name)}) {
            Files.writeString(responseFile, options);
            Files.writeString(src, options);
            try {
                assertThatThrownBy(() -> CConfigCompiler.compile(src)).isInstanceOf(ConfigFormatException.class)
                        .hasMessageContaining("failed").hasMessageContaining(src.getFileName().toString());
            } finally {
                Files.deleteIfExists(src);
                Files.deleteIfExists(responseFile);
            }
            assertThat(marker).as("a command the file's content names").doesNotExist();
        }
    }

    @Test
    void pointersInTheConfigAreRejected() throws Exception {
        Path src = tmp.resolve("pointer.c");
        Files.writeString(src, """
                int target;
                struct { char sig[8]; int *p; } config = { "JHCLL", &target };
                """);
        assertThatThrownBy(() -> CConfigCompiler.compile(src)).isInstanceOf(ConfigFormatException.class)
                .hasMessageContaining("pointer");
    }

    @Test
    void sourceWithoutAnyDataIsRejected() throws Exception {
        Path src = tmp.resolve("empty.c");
        Files.writeString(src, "int f(void) { return 0; }\n");
        assertThatThrownBy(() -> CConfigCompiler.compile(src)).isInstanceOf(ConfigFormatException.class)
                .hasMessageContaining("config");
    }

    @Test
    @Tag("no-gcc")
    void missingFileIsReported() {
        Path missing = tmp.resolve("nowhere.c");
        assertThatThrownBy(() -> CConfigCompiler.compile(missing)).isInstanceOf(ConfigFormatException.class)
                .hasMessageContaining("nowhere.c");
    }

    @Test
    @Tag("no-gcc")
    void missingCompilerIsNamed() throws Exception {
        Path src = tmp.resolve("any.c");
        Files.writeString(src, "int config;\n");
        String old = System.getProperty("jailhouse.cc");
        System.setProperty("jailhouse.cc", "no-such-compiler-xyz");
        try {
            assertThatThrownBy(() -> CConfigCompiler.compile(src)).isInstanceOf(ConfigFormatException.class)
                    .hasMessageContaining("no-such-compiler-xyz").hasMessageContaining("install gcc");
        } finally {
            if (old == null) {
                System.clearProperty("jailhouse.cc");
            } else {
                System.setProperty("jailhouse.cc", old);
            }
        }
    }

    @Test
    @Tag("no-gcc")
    void hangingCompilerIsStopped() throws Exception {
        Path src = tmp.resolve("any.c");
        Files.writeString(src, "int config;\n");
        Path slow = tmp.resolve("slow-cc");
        Files.writeString(slow, "#!/bin/sh\nsleep 30\n");
        assertThat(slow.toFile().setExecutable(true)).isTrue();
        String old = System.getProperty("jailhouse.cc");
        System.setProperty("jailhouse.cc", slow.toString());
        long start = System.nanoTime();
        try {
            assertThatThrownBy(() -> CConfigCompiler.compile(src, 1)).isInstanceOf(ConfigFormatException.class)
                    .hasMessageContaining("did not finish within 1 seconds");
        } finally {
            if (old == null) {
                System.clearProperty("jailhouse.cc");
            } else {
                System.setProperty("jailhouse.cc", old);
            }
        }
        assertThat(System.nanoTime() - start).isLessThan(20_000_000_000L);
    }

    @Test
    @Tag("no-gcc")
    void floodsOfDiagnosticsAreCut() {
        String many = String.join("\n", java.util.Collections.nCopies(500, "x.c:1:1: error: nope"));
        String cut = CConfigCompiler.limitLines(many);
        assertThat(cut.lines()).hasSize(CConfigCompiler.MAX_DIAGNOSTIC_LINES + 1);
        assertThat(cut).endsWith("(440 more lines of compiler output)");
        assertThat(CConfigCompiler.limitLines("a\nb")).isEqualTo("a\nb");
    }

    @Test
    @Tag("no-gcc")
    void garbageObjectIsRejected() {
        assertThatThrownBy(() -> CConfigCompiler.extractConfig(new byte[100], "x.o"))
                .isInstanceOf(ConfigFormatException.class).hasMessageContaining("ELF");
    }

    // --- helpers ---

    static void assertDemoCell(CellConfig c, String name, long ramPhys, int... cpus) {
        assertThat(c.name()).isEqualTo(name);
        assertThat(c.cpus().sizeBytes()).isEqualTo(8);
        assertThat(c.cpus().bits().toArray()).containsExactly(cpus);
        assertThat(c.memoryRegions().subList(0, 2)).containsExactly(ram(ramPhys), comm());
        assertThat(c.console()).isEqualTo(Console.pio8250(0x3f8));
        assertThat(c.cpuResetAddress()).isZero();
    }

    static MemoryRegion ram(long phys) {
        return new MemoryRegion(phys, 0, 0x100000, RWX | MemoryRegion.LOADABLE);
    }

    static MemoryRegion comm() {
        return new MemoryRegion(0, 0x100000, 0x1000, RW | MemoryRegion.COMM_REGION);
    }

    static PioRange pio(int base, int length) {
        return new PioRange(base, length);
    }

    /** What JAILHOUSE_SHMEM_NET_REGIONS(start, id) stands for (spec 1.5). */
    static List<MemoryRegion> netRegions(long start, int id) {
        return List.of(new MemoryRegion(start, start, 0x1000, R | RS), MemoryRegion.EMPTY,
                new MemoryRegion(start + 0x1000, start + 0x1000, 0x7f000, R | RS | (id == 0 ? MemoryRegion.WRITE : 0)),
                new MemoryRegion(start + 0x80000, start + 0x80000, 0x7f000, R | RS | (id == 1 ? MemoryRegion.WRITE : 0)));
    }

    static void assertIvshmem(PciDevice d, int bdf, int regionsStart, int devId, int peers, int protocol,
            int vectors) {
        assertThat(d.type()).isEqualTo(PciDevice.TYPE_IVSHMEM);
        assertThat(d.bdf()).isEqualTo(bdf);
        assertThat(d.barMask()).isEqualTo(PciDevice.IVSHMEM_BAR_MASK_MSIX);
        assertThat(d.shmemRegionsStart()).isEqualTo(regionsStart);
        assertThat(d.shmemDevId()).isEqualTo(devId);
        assertThat(d.shmemPeers()).isEqualTo(peers);
        assertThat(d.shmemProtocol()).isEqualTo(protocol);
        assertThat(d.numMsixVectors()).isEqualTo(vectors);
    }
}
