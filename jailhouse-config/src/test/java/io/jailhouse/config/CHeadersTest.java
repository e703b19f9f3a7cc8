package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shipped headers (include/jailhouse/*.h) against the Java model: every
 * macro a config can use must have the value the codec and the spec give it.
 * The check compiles a config whose memory regions carry the macros' values
 * and decodes it, so it sees exactly what a user's config would.
 */
class CHeadersTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needGcc() {
        Gcc.assume();
    }

    /** Macro (or C constant expression) → the value the Java side or the spec says it has. */
    private static Map<String, Long> expectedConstants() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("JAILHOUSE_X86", (long) Architecture.X86.code());
        m.put("JAILHOUSE_ARM", (long) Architecture.ARM.code());
        m.put("JAILHOUSE_ARM64", (long) Architecture.ARM64.code());
        m.put("JAILHOUSE_CONFIG_REVISION", (long) BinaryConfigCodec.REVISION);
        m.put("JAILHOUSE_CELL_NAME_MAXLEN", (long) CellConfig.NAME_MAXLEN);
        m.put("JAILHOUSE_MAX_IOMMU_UNITS", (long) IommuUnit.SLOTS);

        m.put("JAILHOUSE_CELL_PASSIVE_COMMREG", CellConfig.PASSIVE_COMMREG);
        m.put("JAILHOUSE_CELL_TEST_DEVICE", CellConfig.TEST_DEVICE);
        m.put("JAILHOUSE_CELL_AARCH32", CellConfig.AARCH32);
        m.put("JAILHOUSE_CELL_VIRTUAL_CONSOLE_PERMITTED", CellConfig.VIRTUAL_CONSOLE_PERMITTED);
        m.put("JAILHOUSE_CELL_VIRTUAL_CONSOLE_ACTIVE", CellConfig.VIRTUAL_CONSOLE_ACTIVE);
        m.put("JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE", SystemConfig.VIRTUAL_DEBUG_CONSOLE);

        m.put("JAILHOUSE_MEM_READ", MemoryRegion.READ);
        m.put("JAILHOUSE_MEM_WRITE", MemoryRegion.WRITE);
        m.put("JAILHOUSE_MEM_EXECUTE", MemoryRegion.EXECUTE);
        m.put("JAILHOUSE_MEM_DMA", MemoryRegion.DMA);
        m.put("JAILHOUSE_MEM_IO", MemoryRegion.IO);
        m.put("JAILHOUSE_MEM_COMM_REGION", MemoryRegion.COMM_REGION);
        m.put("JAILHOUSE_MEM_LOADABLE", MemoryRegion.LOADABLE);
        m.put("JAILHOUSE_MEM_ROOTSHARED", MemoryRegion.ROOTSHARED);
        m.put("JAILHOUSE_MEM_NO_HUGEPAGES", MemoryRegion.NO_HUGEPAGES);
        m.put("JAILHOUSE_MEM_IO_UNALIGNED", MemoryRegion.IO_UNALIGNED);
        m.put("JAILHOUSE_MEM_IO_WIDTH_SHIFT", (long) MemoryRegion.IO_WIDTH_SHIFT);
        m.put("JAILHOUSE_MEM_IO_8", MemoryRegion.IO_8);
        m.put("JAILHOUSE_MEM_IO_16", MemoryRegion.IO_16);
        m.put("JAILHOUSE_MEM_IO_32", MemoryRegion.IO_32);
        m.put("JAILHOUSE_MEM_IO_64", MemoryRegion.IO_64);

        m.put("JAILHOUSE_CACHE_L3_CODE", (long) CacheRegion.L3_CODE);
        m.put("JAILHOUSE_CACHE_L3_DATA", (long) CacheRegion.L3_DATA);
        m.put("JAILHOUSE_CACHE_L3", (long) CacheRegion.L3);
        m.put("JAILHOUSE_CACHE_ROOTSHARED", (long) CacheRegion.ROOTSHARED);

        m.put("JAILHOUSE_PCI_TYPE_DEVICE", (long) PciDevice.TYPE_DEVICE);
        m.put("JAILHOUSE_PCI_TYPE_BRIDGE", (long) PciDevice.TYPE_BRIDGE);
        m.put("JAILHOUSE_PCI_TYPE_IVSHMEM", (long) PciDevice.TYPE_IVSHMEM);
        m.put("JAILHOUSE_SHMEM_PROTO_UNDEFINED", (long) PciDevice.SHMEM_PROTO_UNDEFINED);
        m.put("JAILHOUSE_SHMEM_PROTO_VETH", (long) PciDevice.SHMEM_PROTO_VETH);
        m.put("JAILHOUSE_SHMEM_PROTO_CUSTOM", 0x4000L);
        m.put("JAILHOUSE_SHMEM_PROTO_VIRTIO_FRONT", 0x8000L);
        m.put("JAILHOUSE_SHMEM_PROTO_VIRTIO_BACK", 0xc000L);
        m.put("VIRTIO_DEV_NET", 1L);
        m.put("VIRTIO_DEV_BLOCK", 2L);
        m.put("VIRTIO_DEV_CONSOLE", 3L);
        m.put("JAILHOUSE_PCI_EXT_CAP", (long) PciCapability.EXT_CAP);
        m.put("JAILHOUSE_PCICAPS_WRITE", (long) PciCapability.WRITE);

        m.put("JAILHOUSE_APIC_MODE_AUTO", (long) X86Platform.APIC_MODE_AUTO);
        m.put("JAILHOUSE_APIC_MODE_XAPIC", (long) X86Platform.APIC_MODE_XAPIC);
        m.put("JAILHOUSE_APIC_MODE_X2APIC", (long) X86Platform.APIC_MODE_X2APIC);
        m.put("JAILHOUSE_IOMMU_AMD", (long) IommuUnit.TYPE_AMD);
        m.put("JAILHOUSE_IOMMU_INTEL", (long) IommuUnit.TYPE_INTEL);
        m.put("JAILHOUSE_IOMMU_SMMUV3", (long) IommuUnit.TYPE_SMMUV3);
        m.put("JAILHOUSE_IOMMU_PVU", (long) IommuUnit.TYPE_PVU);
        m.put("JAILHOUSE_IOMMU_ARM_MMU500", (long) IommuUnit.TYPE_ARM_MMU500);

        String[] conTypes = {"NONE", "EFIFB", "8250", "PL011", "XUARTPS", "MVEBU", "HSCIF", "SCIFA", "IMX",
            "IMX_LPUART", "SCIF"};
        for (int i = 0; i < conTypes.length; i++) {
            m.put("JAILHOUSE_CON_TYPE_" + conTypes[i], (long) i);
            assertThat(Console.typeName(i)).isEqualTo(conTypes[i].toLowerCase().replace('_', '-'));
        }
        m.put("JAILHOUSE_CON_ACCESS_PIO", 0L);
        m.put("JAILHOUSE_CON_ACCESS_MMIO", (long) Console.ACCESS_MMIO);
        m.put("JAILHOUSE_CON_REGDIST_1", 0L);
        m.put("JAILHOUSE_CON_REGDIST_4", (long) Console.REGDIST_4);
        m.put("JAILHOUSE_CON_FB_1024x768", 0L);
        m.put("JAILHOUSE_CON_FB_1920x1080", Console.FLAG_NAMES.valueOf("fb-1920x1080"));
        m.put("JAILHOUSE_CON_INVERTED_GATE", Console.FLAG_NAMES.valueOf("inverted-gate"));
        m.put("JAILHOUSE_CON_MDR_QUIRK", Console.FLAG_NAMES.valueOf("mdr-quirk"));

        // PCI capability ids named in spec 1.10.
        m.put("PCI_CAP_ID_PM", 0x01L);
        m.put("PCI_CAP_ID_VPD", 0x03L);
        m.put("PCI_CAP_ID_MSI", 0x05L);
        m.put("PCI_CAP_ID_HT", 0x08L);
        m.put("PCI_CAP_ID_VNDR", 0x09L);
        m.put("PCI_CAP_ID_DBG", 0x0aL);
        m.put("PCI_CAP_ID_SSVID", 0x0dL);
        m.put("PCI_CAP_ID_SECDEV", 0x0fL);
        m.put("PCI_CAP_ID_EXP", 0x10L);
        m.put("PCI_CAP_ID_MSIX", 0x11L);
        m.put("PCI_CAP_ID_SATA", 0x12L);
        m.put("PCI_CAP_ID_AF", 0x13L);
        m.put("PCI_EXT_CAP_ID_ERR", 0x01L);
        m.put("PCI_EXT_CAP_ID_VC", 0x02L);
        m.put("PCI_EXT_CAP_ID_DSN", 0x03L);
        m.put("PCI_EXT_CAP_ID_PWR", 0x04L);
        m.put("PCI_EXT_CAP_ID_VNDR", 0x0bL);
        m.put("PCI_EXT_CAP_ID_ACS", 0x0dL);
        m.put("PCI_EXT_CAP_ID_ARI", 0x0eL);
        m.put("PCI_EXT_CAP_ID_ATS", 0x0fL);
        m.put("PCI_EXT_CAP_ID_SRIOV", 0x10L);
        m.put("PCI_EXT_CAP_ID_LTR", 0x18L);
        m.put("PCI_EXT_CAP_ID_SECPCI", 0x19L);
        m.put("PCI_EXT_CAP_ID_L1SS", 0x1eL);
        m.put("PCI_EXT_CAP_ID_PTM", 0x1fL);

        // Struct sizes (spec 1.1) and where the Java model puts things.
        m.put("sizeof(struct jailhouse_console)", (long) Console.BYTES);
        m.put("sizeof(struct jailhouse_cell_desc)", (long) CellConfig.DESC_BYTES);
        m.put("sizeof(struct jailhouse_memory)", (long) MemoryRegion.BYTES);
        m.put("sizeof(struct jailhouse_cache)", (long) CacheRegion.BYTES);
        m.put("sizeof(struct jailhouse_irqchip)", (long) Irqchip.BYTES);
        m.put("sizeof(struct jailhouse_pio)", (long) PioRange.BYTES);
        m.put("sizeof(struct jailhouse_pci_device)", (long) PciDevice.BYTES);
        m.put("sizeof(struct jailhouse_pci_capability)", (long) PciCapability.BYTES);
        m.put("sizeof(struct jailhouse_iommu)", (long) IommuUnit.BYTES);
        m.put("sizeof(union jailhouse_stream_id)", (long) CellConfig.STREAM_ID_BYTES);
        m.put("sizeof(struct jailhouse_system)", (long) SystemConfig.HEADER_BYTES);
        m.put("__builtin_offsetof(struct jailhouse_system, root_cell)", (long) SystemConfig.ROOT_CELL_OFFSET);
        m.put("__builtin_offsetof(struct jailhouse_system, platform_info)", 76L);
        m.put("__builtin_offsetof(struct jailhouse_system, platform_info.iommu_units)", 88L);
        m.put("__builtin_offsetof(struct jailhouse_system, platform_info.x86.apic_khz)", 324L);
        m.put("__builtin_offsetof(struct jailhouse_system, platform_info.arm.gicr_base)", 348L);
        m.put("__builtin_offsetof(struct jailhouse_cell_desc, console)", 100L);
        m.put("__builtin_offsetof(struct jailhouse_cell_desc, msg_reply_timeout)", 92L);
        m.put("__builtin_offsetof(struct jailhouse_pci_device, shmem_protocol)", 54L);
        m.put("__builtin_offsetof(struct jailhouse_iommu, tipvu.tlb_size)", 24L);
        m.put("__builtin_offsetof(struct jailhouse_iommu, amd.features)", 20L);
        m.put("sizeof(((union jailhouse_stream_id *)0)->mmu500)", 4L);
        return m;
    }

    @Test
    void macroValuesMatchTheJavaModel() throws Exception {
        Map<String, Long> expected = expectedConstants();
        List<String> names = new ArrayList<>(expected.keySet());
        StringBuilder c = new StringBuilder("""
                #include <jailhouse/types.h>
                #include <jailhouse/cell-config.h>

                struct {
                	struct jailhouse_cell_desc cell;
                	struct jailhouse_memory mem_regions[%d];
                	struct jailhouse_pio pio_regions[1];
                	struct jailhouse_pci_device pci_devices[5];
                } __attribute__((packed)) config = {
                	.cell = {
                		.signature = JAILHOUSE_CELL_DESC_SIGNATURE,
                		.architecture = JAILHOUSE_ARM64,
                		.revision = JAILHOUSE_CONFIG_REVISION,
                		.name = "constants",
                		.num_memory_regions = ARRAY_SIZE(config.mem_regions),
                		.num_pio_regions = ARRAY_SIZE(config.pio_regions),
                		.num_pci_devices = ARRAY_SIZE(config.pci_devices),
                	},
                	.mem_regions = {
                		JAILHOUSE_SHMEM_NET_REGIONS(0x3f100000, 0),
                		JAILHOUSE_SHMEM_NET_REGIONS(0x3f200000, 1),
                """.formatted(names.size() + 8));
        for (String name : names) {
            // The value in phys_start, and in size a marker that the entry is really there.
            c.append("\t\t{ .phys_start = ").append(name).append(", .size = 1 },\n");
        }
        c.append("""
                	},
                	.pio_regions = { PIO_RANGE(0x3f8, 8) },
                	.pci_devices = {
                		{ .bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_INTX },
                		{ .bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX },
                		{ .bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_INTX_64K },
                		{ .bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX_64K },
                		{ .msi_64bits = 1, .msi_maskable = 1 },
                	},
                };
                """);
        Path src = tmp.resolve("constants.c");
        Files.writeString(src, c);
        CellConfig cell = (CellConfig) BinaryConfigCodec.decode(CConfigCompiler.compile(src), "constants.c");

        assertThat(cell.architecture()).isEqualTo(Architecture.ARM64);
        List<MemoryRegion> mem = cell.memoryRegions();
        assertThat(mem.subList(0, 4)).containsExactlyElementsOf(CConfigCompilerTest.netRegions(0x3f100000L, 0));
        assertThat(mem.subList(4, 8)).containsExactlyElementsOf(CConfigCompilerTest.netRegions(0x3f200000L, 1));
        for (int i = 0; i < names.size(); i++) {
            MemoryRegion r = mem.get(8 + i);
            assertThat(r.size()).isEqualTo(1);
            assertThat(r.physStart()).as(names.get(i)).isEqualTo(expected.get(names.get(i)));
        }
        assertThat(cell.pioRegions()).containsExactly(new PioRange(0x3f8, 8));
        assertThat(cell.pciDevices()).extracting(PciDevice::barMask).containsExactly(
                PciDevice.IVSHMEM_BAR_MASK_INTX, PciDevice.IVSHMEM_BAR_MASK_MSIX,
                List.of(0xffff0000L, 0L, 0L, 0L, 0L, 0L), List.of(0xffff0000L, 0xffff0000L, 0L, 0L, 0L, 0L),
                PciDevice.BAR_MASK_NONE);
        // The MSI bit-fields land on the bits the Java model reads.
        assertThat(cell.pciDevices().get(4).msiBits()).isEqualTo(PciDevice.MSI_64BITS | PciDevice.MSI_MASKABLE);
    }

    @Test
    void signatureMacrosFillTheFiveByteFields() throws Exception {
        Path src = tmp.resolve("signatures.c");
        Files.writeString(src, """
                #include <jailhouse/types.h>
                #include <jailhouse/cell-config.h>
                struct { struct jailhouse_system header; } __attribute__((packed)) config = {
                	.header = {
                		.signature = JAILHOUSE_SYSTEM_SIGNATURE,
                		.revision = JAILHOUSE_CONFIG_REVISION,
                		.root_cell = {
                			.signature = JAILHOUSE_CELL_DESC_SIGNATURE,
                			.architecture = JAILHOUSE_ARM,
                			.revision = JAILHOUSE_CONFIG_REVISION,
                		},
                	},
                };
                """);
        byte[] bytes = CConfigCompiler.compile(src);
        SystemConfig sys = (SystemConfig) BinaryConfigCodec.decode(bytes, "signatures.c");
        assertThat(new String(bytes, 0, 5, StandardCharsets.US_ASCII)).isEqualTo("JHSYS");
        assertThat(bytes[5]).isZero();
        assertThat(new String(bytes, SystemConfig.ROOT_CELL_OFFSET, 5, StandardCharsets.US_ASCII))
                .isEqualTo("JHCLL");
        assertThat(sys.rootCellHeader()).isEqualTo(0x000e_01_4c4c43484aL);
    }

    /** Users compile configs with all kinds of flags; the headers must stay silent under strict ones. */
    @ParameterizedTest(name = "headers compile cleanly with -std={0}")
    @ValueSource(strings = {"c11", "gnu11", "gnu17", "gnu99"})
    void headersCompileCleanlyUnderStrictFlags(String std) throws Exception {
        Path headers = CConfigCompiler.headerRoot();
        Path src = tmp.resolve("strict.c");
        boolean linuxHeaders = Files.isRegularFile(Path.of("/usr/include/linux/types.h"))
                && Files.isRegularFile(Path.of("/usr/include/linux/pci_regs.h"));
        Files.writeString(src, (linuxHeaders
                // Configs may pull in the kernel's uapi headers too: no conflict allowed.
                ? "#include <linux/types.h>\n#include <linux/pci_regs.h>\n" : "")
                + """
                #include <jailhouse/cell-config.h>
                #include <jailhouse/types.h>
                #include <jailhouse/console.h>
                #include <jailhouse/pci_defs.h>
                #include <jailhouse/cell-config.h>

                struct {
                	struct jailhouse_cell_desc cell;
                	__u64 cpus[1];
                	struct jailhouse_memory mem_regions[4];
                	struct jailhouse_pio pio_regions[1];
                	struct jailhouse_pci_device pci_devices[1];
                	union jailhouse_stream_id stream_ids[1];
                } __attribute__((packed)) config = {
                	.cell = {
                		.signature = JAILHOUSE_CELL_DESC_SIGNATURE,
                		.architecture = JAILHOUSE_X86,
                		.revision = JAILHOUSE_CONFIG_REVISION,
                		.name = "strict",
                		.cpu_set_size = sizeof(config.cpus),
                		.num_memory_regions = ARRAY_SIZE(config.mem_regions),
                	},
                	.cpus = { 0x1 },
                	.mem_regions = { JAILHOUSE_SHMEM_NET_REGIONS(0x3f100000, 1) },
                	.pio_regions = { PIO_RANGE(0x3f8, 8) },
                	.pci_devices = { { .bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX, .msi_64bits = 1 } },
                	.stream_ids = { { .mmu500 = { .id = 1, .mask_out = 2 } } },
                };
                """);
        Gcc.Result r = Gcc.run(tmp, List.of("-std=" + std, "-Wall", "-Wextra", "-Werror",
                std.startsWith("c") ? "-pedantic" : "-Wno-pedantic", "-I" + headers, "-c", "-o",
                tmp.resolve("strict.o").toString(), src.toString()));
        assertThat(r.exitStatus()).as("gcc -std=%s output:%n%s", std, r.output()).isZero();
        assertThat(r.output()).isEmpty();
    }
}
