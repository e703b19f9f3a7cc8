package io.jailhouse.config;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a configuration as a C source in upstream's style: one packed
 * anonymous struct named {@code config}, initialised member by member with
 * the header macros and flag names, addresses in hex.
 *
 * <p>The output is exact, not approximate: compiled by {@link CConfigCompiler}
 * it gives {@link BinaryConfigCodec#encode} of the same config byte for byte,
 * for every config the codec can decode. So nothing is dropped: bits without
 * a name are added as hex, padding and reserved fields are written when they
 * are not zero, the root cell header bytes inside a system config (normally
 * zero) are reproduced, and zero-length arrays are left out of the struct.
 * Fields that are zero are omitted, as a static initialiser zeroes them.
 */
public final class CConfigWriter {
    private static final String[] MEM_FLAGS = {
        "JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_EXECUTE", "JAILHOUSE_MEM_DMA",
        "JAILHOUSE_MEM_IO", "JAILHOUSE_MEM_COMM_REGION", "JAILHOUSE_MEM_LOADABLE", "JAILHOUSE_MEM_ROOTSHARED",
        "JAILHOUSE_MEM_NO_HUGEPAGES", "JAILHOUSE_MEM_IO_UNALIGNED", "JAILHOUSE_MEM_IO_8", "JAILHOUSE_MEM_IO_16",
        "JAILHOUSE_MEM_IO_32", "JAILHOUSE_MEM_IO_64"};
    private static final long[] MEM_FLAG_VALUES = {
        MemoryRegion.READ, MemoryRegion.WRITE, MemoryRegion.EXECUTE, MemoryRegion.DMA, MemoryRegion.IO,
        MemoryRegion.COMM_REGION, MemoryRegion.LOADABLE, MemoryRegion.ROOTSHARED, MemoryRegion.NO_HUGEPAGES,
        MemoryRegion.IO_UNALIGNED, MemoryRegion.IO_8, MemoryRegion.IO_16, MemoryRegion.IO_32, MemoryRegion.IO_64};

    private static final String[] CELL_FLAGS = {
        "JAILHOUSE_CELL_PASSIVE_COMMREG", "JAILHOUSE_CELL_TEST_DEVICE", "JAILHOUSE_CELL_AARCH32",
        "JAILHOUSE_CELL_VIRTUAL_CONSOLE_PERMITTED", "JAILHOUSE_CELL_VIRTUAL_CONSOLE_ACTIVE"};
    private static final long[] CELL_FLAG_VALUES = {
        CellConfig.PASSIVE_COMMREG, CellConfig.TEST_DEVICE, CellConfig.AARCH32,
        CellConfig.VIRTUAL_CONSOLE_PERMITTED, CellConfig.VIRTUAL_CONSOLE_ACTIVE};

    /* Console flags without the access bit, which is always spelled out (PIO or MMIO). */
    private static final String[] CON_FLAGS = {
        "JAILHOUSE_CON_REGDIST_4", "JAILHOUSE_CON_FB_1920x1080", "JAILHOUSE_CON_INVERTED_GATE",
        "JAILHOUSE_CON_MDR_QUIRK"};
    private static final long[] CON_FLAG_VALUES = {Console.REGDIST_4, 0x0004, 0x1000, 0x2000};
    private static final String[] CON_TYPES = {
        "JAILHOUSE_CON_TYPE_NONE", "JAILHOUSE_CON_TYPE_EFIFB", "JAILHOUSE_CON_TYPE_8250",
        "JAILHOUSE_CON_TYPE_PL011", "JAILHOUSE_CON_TYPE_XUARTPS", "JAILHOUSE_CON_TYPE_MVEBU",
        "JAILHOUSE_CON_TYPE_HSCIF", "JAILHOUSE_CON_TYPE_SCIFA", "JAILHOUSE_CON_TYPE_IMX",
        "JAILHOUSE_CON_TYPE_IMX_LPUART", "JAILHOUSE_CON_TYPE_SCIF"};

    private static final String[] ARCHS = {"JAILHOUSE_X86", "JAILHOUSE_ARM", "JAILHOUSE_ARM64"};
    private static final String[] CACHE_TYPES = {
        null, "JAILHOUSE_CACHE_L3_CODE", "JAILHOUSE_CACHE_L3_DATA", "JAILHOUSE_CACHE_L3"};
    private static final String[] PCI_TYPES = {
        null, "JAILHOUSE_PCI_TYPE_DEVICE", "JAILHOUSE_PCI_TYPE_BRIDGE", "JAILHOUSE_PCI_TYPE_IVSHMEM"};
    private static final String[] IOMMU_TYPES = {
        null, "JAILHOUSE_IOMMU_AMD", "JAILHOUSE_IOMMU_INTEL", "JAILHOUSE_IOMMU_SMMUV3", "JAILHOUSE_IOMMU_PVU",
        "JAILHOUSE_IOMMU_ARM_MMU500"};
    private static final String[] APIC_MODES = {
        "JAILHOUSE_APIC_MODE_AUTO", "JAILHOUSE_APIC_MODE_XAPIC", "JAILHOUSE_APIC_MODE_X2APIC"};
    private static final String[] VIRTIO_DEVS = {null, "VIRTIO_DEV_NET", "VIRTIO_DEV_BLOCK", "VIRTIO_DEV_CONSOLE"};

    /* Capability ids by number, as pci_defs.h names them (index = id). */
    private static final String[] CAP_IDS = {
        null, "PM", "AGP", "VPD", "SLOTID", "MSI", "CHSWP", "PCIX", "HT", "VNDR", "DBG", "CCRC", "SHPC", "SSVID",
        "AGP3", "SECDEV", "EXP", "MSIX", "SATA", "AF", "EA"};
    private static final String[] EXT_CAP_IDS = {
        null, "ERR", "VC", "DSN", "PWR", "RCLD", "RCILC", "RCEC", "MFVC", "VC9", "RCRB", "VNDR", "CAC", "ACS",
        "ARI", "ATS", "SRIOV", "MRIOV", "MCAST", "PRI", "AMD_XXX", "REBAR", "DPA", "TPH", "LTR", "SECPCI", "PMUX",
        "PASID", "LNR", "DPC", "L1SS", "PTM", null, null, null, "DVSEC", null, "DLF", "PL_16GT"};

    private static final Object[][] BAR_MASK_MACROS = {
        {"JAILHOUSE_IVSHMEM_BAR_MASK_INTX", PciDevice.IVSHMEM_BAR_MASK_INTX},
        {"JAILHOUSE_IVSHMEM_BAR_MASK_MSIX", PciDevice.IVSHMEM_BAR_MASK_MSIX},
        {"JAILHOUSE_IVSHMEM_BAR_MASK_INTX_64K", List.of(0xffff0000L, 0L, 0L, 0L, 0L, 0L)},
        {"JAILHOUSE_IVSHMEM_BAR_MASK_MSIX_64K", List.of(0xffff0000L, 0xffff0000L, 0L, 0L, 0L, 0L)}};

    /** Type of the PCI device array when some device sets MSI bit-field bits that have no C name. */
    private static final String RAW_PCI_DEVICE = "jailhouse_pci_device_raw_msi";

    private CConfigWriter() {
    }

    /**
     * The C source of a configuration.
     *
     * @param sourceName where the config came from, for the file's opening comment (may be null)
     */
    public static String write(JailhouseConfig config, String sourceName) {
        CellConfig cell = config.cell();
        boolean system = config instanceof SystemConfig;
        boolean rawMsi = cell.pciDevices().stream().anyMatch(d -> (d.msiBits() & ~0x3) != 0);
        Out o = new Out();

        o.line("/*");
        o.line(" * Jailhouse " + (system ? "system" : "cell") + " configuration \"" + comment(cell.name()) + "\"");
        if (sourceName != null && !sourceName.isBlank()) {
            o.line(" * written from " + comment(sourceName));
        }
        o.line(" *");
        o.line(" * Compiled by \"jailhouse config convert\" or by upstream's build, this");
        o.line(" * source gives the binary .cell it was written from, byte for byte.");
        o.line(" */");
        o.blank();
        o.line("#include <jailhouse/types.h>");
        o.line("#include <jailhouse/cell-config.h>");
        o.blank();
        if (rawMsi) {
            writeRawPciDeviceType(o);
        }

        o.open("struct");
        o.line(system ? "struct jailhouse_system header;" : "struct jailhouse_cell_desc cell;");
        int cpuBytes = cell.cpus().sizeBytes();
        if (cpuBytes > 0) {
            o.line(cpuBytes % 8 == 0 ? "__u64 cpus[" + cpuBytes / 8 + "];" : "__u8 cpus[" + cpuBytes + "];");
        }
        member(o, "struct jailhouse_memory mem_regions", cell.memoryRegions());
        member(o, "struct jailhouse_cache cache_regions", cell.cacheRegions());
        member(o, "struct jailhouse_irqchip irqchips", cell.irqchips());
        member(o, "struct jailhouse_pio pio_regions", cell.pioRegions());
        member(o, "struct " + (rawMsi ? RAW_PCI_DEVICE : "jailhouse_pci_device") + " pci_devices",
                cell.pciDevices());
        member(o, "struct jailhouse_pci_capability pci_caps", cell.pciCaps());
        member(o, "union jailhouse_stream_id stream_ids", cell.streamIds());
        o.close("} __attribute__((packed)) config = {");
        o.indent++;

        switch (config) {
            case SystemConfig s -> writeSystem(o, s);
            case CellConfig c -> {
                o.open(".cell =");
                o.field("signature", "JAILHOUSE_CELL_DESC_SIGNATURE");
                o.field("architecture", arch(c.architecture().code()));
                o.field("revision", "JAILHOUSE_CONFIG_REVISION");
                writeCellDesc(o, c);
                o.close("},");
            }
        }
        writeArrays(o, cell, rawMsi);
        o.indent--;
        o.line("};");
        return o.toString();
    }

    private static void member(Out o, String declaration, List<?> elements) {
        if (!elements.isEmpty()) {
            o.line(declaration + "[" + elements.size() + "];");
        }
    }

    private static void writeSystem(Out o, SystemConfig s) {
        o.open(".header =");
        o.field("signature", "JAILHOUSE_SYSTEM_SIGNATURE");
        o.field("architecture", arch(s.architecture().code()));
        o.field("revision", "JAILHOUSE_CONFIG_REVISION");
        if (s.flags() != 0) {
            o.field("flags", flags(s.flags(), new String[] {"JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE"},
                    new long[] {SystemConfig.VIRTUAL_DEBUG_CONSOLE}));
        }
        if (!s.hypervisorMemory().equals(MemoryRegion.EMPTY)) {
            o.open(".hypervisor_memory =");
            writeMemoryFields(o, s.hypervisorMemory());
            o.close("},");
        }
        writeConsole(o, "debug_console", s.debugConsole());
        writePlatform(o, s.platform());

        o.open(".root_cell =");
        writeRootCellHeader(o, s.rootCellHeader());
        writeCellDesc(o, s.rootCell());
        o.close("},");
        o.close("},");
    }

    /**
     * Upstream leaves signature, architecture and revision of the embedded
     * root cell descriptor zero and nobody checks them; whatever a file has
     * there is reproduced.
     */
    private static void writeRootCellHeader(Out o, long header) {
        if (header == 0) {
            return;
        }
        byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header).array();
        byte[] signature = Arrays.copyOf(b, 5);
        if (Arrays.equals(signature, BinaryConfigCodec.CELL_SIGNATURE)) {
            o.field("signature", "JAILHOUSE_CELL_DESC_SIGNATURE");
        } else if (!Arrays.equals(signature, new byte[5])) {
            int len = 5;
            while (signature[len - 1] == 0) {
                len--;
            }
            o.field("signature", cString(signature, len));
        }
        if (b[5] != 0) {
            o.field("architecture", arch(b[5] & 0xff));
        }
        int revision = (b[6] & 0xff) | (b[7] & 0xff) << 8;
        if (revision != 0) {
            o.field("revision", revision == BinaryConfigCodec.REVISION ? "JAILHOUSE_CONFIG_REVISION"
                    : Integer.toString(revision));
        }
    }

    private static void writePlatform(Out o, PlatformInfo p) {
        o.open(".platform_info =");
        nonZeroHex(o, "pci_mmconfig_base", p.pciMmconfigBase());
        nonZeroHex(o, "pci_mmconfig_end_bus", p.pciMmconfigEndBus());
        nonZeroDec(o, "pci_is_virtual", p.pciIsVirtual());
        nonZeroHex(o, "pci_domain", p.pciDomain());
        int used = 0;
        for (int i = 0; i < p.iommuUnits().size(); i++) {
            if (!p.iommuUnits().get(i).isUnused()) {
                used = i + 1;
            }
        }
        if (used > 0) {
            o.open(".iommu_units =");
            for (int i = 0; i < used; i++) {
                writeIommu(o, p.iommuUnits().get(i));
            }
            o.close("},");
        }
        switch (p.arch()) {
            case X86Platform x -> {
                if (!x.equals(new X86Platform(0, 0, 0, 0, 0, 0))) {
                    o.open(".x86 =");
                    nonZeroHex(o, "pm_timer_address", x.pmTimerAddress());
                    if (x.apicMode() != 0) {
                        o.field("apic_mode", name(APIC_MODES, x.apicMode()));
                    }
                    nonZeroHex(o, "padding", x.padding());
                    nonZeroDec(o, "vtd_interrupt_limit", x.vtdInterruptLimit());
                    nonZeroDec(o, "tsc_khz", x.tscKhz());
                    nonZeroDec(o, "apic_khz", x.apicKhz());
                    o.close("},");
                }
            }
            case ArmPlatform a -> {
                if (!a.equals(new ArmPlatform(0, 0, 0, 0, 0, 0, 0, 0))) {
                    o.open(".arm =");
                    nonZeroDec(o, "maintenance_irq", a.maintenanceIrq());
                    nonZeroDec(o, "gic_version", a.gicVersion());
                    if (a.padding() != 0) {
                        // padding[2] is two bytes; the record holds them as one little-endian u16.
                        o.field("padding", "{ " + hex(a.padding() & 0xff) + ", " + hex(a.padding() >>> 8 & 0xff) + " }");
                    }
                    nonZeroHex(o, "gicd_base", a.gicdBase());
                    nonZeroHex(o, "gicc_base", a.giccBase());
                    nonZeroHex(o, "gich_base", a.gichBase());
                    nonZeroHex(o, "gicv_base", a.gicvBase());
                    nonZeroHex(o, "gicr_base", a.gicrBase());
                    o.close("},");
                }
            }
        }
        o.close("},");
    }

    private static void writeIommu(Out o, IommuUnit u) {
        if (u.isUnused()) {
            o.line("{ 0 },");
            return;
        }
        o.open("");
        if (u.type() != 0) {
            o.field("type", name(IOMMU_TYPES, u.type()));
        }
        nonZeroHex(o, "base", u.base());
        nonZeroHex(o, "size", u.size());
        if (u.type() == IommuUnit.TYPE_AMD && u.unionHigh() == 0) {
            if (u.unionLow() != 0) {
                o.open(".amd =");
                nonZeroHex(o, "bdf", u.amdBdf());
                nonZeroHex(o, "base_cap", u.amdBaseCap());
                nonZeroHex(o, "msi_cap", u.amdMsiCap());
                nonZeroHex(o, "features", u.amdFeatures());
                o.close("},");
            }
        } else if (u.unionLow() != 0 || u.unionHigh() != 0) {
            // tipvu spans all 12 union bytes as one u64 and one u32: the raw words.
            o.open(".tipvu =");
            nonZeroHex(o, "tlb_base", u.unionLow());
            nonZeroHex(o, "tlb_size", u.unionHigh());
            o.close("},");
        }
        o.close("},");
    }

    /** The descriptor fields from the name on; the caller wrote signature, architecture and revision. */
    private static void writeCellDesc(Out o, CellConfig c) {
        if (!c.name().isEmpty()) {
            o.field("name", cString(c.name().getBytes(StandardCharsets.ISO_8859_1), c.name().length()));
        }
        nonZeroHex(o, "id", c.id());
        if (c.flags() != 0) {
            o.field("flags", flags(c.flags(), CELL_FLAGS, CELL_FLAG_VALUES));
        }
        o.blank();
        if (c.cpus().sizeBytes() > 0) {
            o.field("cpu_set_size", "sizeof(config.cpus)");
        }
        count(o, "num_memory_regions", "mem_regions", c.memoryRegions());
        count(o, "num_cache_regions", "cache_regions", c.cacheRegions());
        count(o, "num_irqchips", "irqchips", c.irqchips());
        count(o, "num_pio_regions", "pio_regions", c.pioRegions());
        count(o, "num_pci_devices", "pci_devices", c.pciDevices());
        count(o, "num_pci_caps", "pci_caps", c.pciCaps());
        count(o, "num_stream_ids", "stream_ids", c.streamIds());
        nonZeroDec(o, "vpci_irq_base", c.vpciIrqBase());
        nonZeroHex(o, "cpu_reset_address", c.cpuResetAddress());
        nonZeroDec(o, "msg_reply_timeout", c.msgReplyTimeout());
        writeConsole(o, "console", c.console());
    }

    private static void count(Out o, String field, String member, List<?> elements) {
        if (!elements.isEmpty()) {
            o.field(field, "ARRAY_SIZE(config." + member + ")");
        }
    }

    private static void writeConsole(Out o, String field, Console c) {
        if (c.equals(Console.NONE)) {
            return;
        }
        o.open("." + field + " =");
        nonZeroHex(o, "address", c.address());
        nonZeroHex(o, "size", c.size());
        o.field("type", name(CON_TYPES, c.type()));
        if (c.type() != Console.TYPE_NONE || c.flags() != 0) {
            String access = c.isMmio() ? "JAILHOUSE_CON_ACCESS_MMIO" : "JAILHOUSE_CON_ACCESS_PIO";
            long rest = c.flags() & ~Console.ACCESS_MMIO;
            o.field("flags", rest == 0 ? access : access + " | " + flags(rest, CON_FLAGS, CON_FLAG_VALUES));
        }
        nonZeroDec(o, "divider", c.divider());
        nonZeroDec(o, "gate_nr", c.gateNr());
        nonZeroHex(o, "clock_reg", c.clockReg());
        o.close("},");
    }

    private static void writeArrays(Out o, CellConfig c, boolean rawMsi) {
        if (c.cpus().sizeBytes() > 0) {
            writeCpus(o, c.cpus());
        }
        if (!c.memoryRegions().isEmpty()) {
            writeMemoryRegions(o, c);
        }
        if (!c.cacheRegions().isEmpty()) {
            o.blank();
            o.open(".cache_regions =");
            for (CacheRegion r : c.cacheRegions()) {
                o.open("");
                nonZeroDec(o, "start", r.start());
                nonZeroDec(o, "size", r.size());
                if (r.type() != 0) {
                    o.field("type", name(CACHE_TYPES, r.type()));
                }
                nonZeroHex(o, "padding", r.padding());
                if (r.flags() != 0) {
                    o.field("flags", flags(r.flags(), new String[] {"JAILHOUSE_CACHE_ROOTSHARED"},
                            new long[] {CacheRegion.ROOTSHARED}));
                }
                o.close("},");
            }
            o.close("},");
        }
        if (!c.irqchips().isEmpty()) {
            o.blank();
            o.open(".irqchips =");
            for (Irqchip x : c.irqchips()) {
                o.open("");
                nonZeroHex(o, "address", x.address());
                nonZeroHex(o, "id", x.id());
                nonZeroDec(o, "pin_base", x.pinBase());
                String pins = words32(x.pinBitmap().toByteArray());
                if (pins != null) {
                    o.field("pin_bitmap", pins);
                }
                o.close("},");
            }
            o.close("},");
        }
        if (!c.pioRegions().isEmpty()) {
            o.blank();
            o.open(".pio_regions =");
            for (PioRange p : c.pioRegions()) {
                o.line("PIO_RANGE(" + hex(p.base()) + ", " + small(p.length()) + "),");
            }
            o.close("},");
        }
        if (!c.pciDevices().isEmpty()) {
            o.blank();
            o.open(".pci_devices =");
            for (PciDevice d : c.pciDevices()) {
                writePciDevice(o, d, rawMsi);
            }
            o.close("},");
        }
        if (!c.pciCaps().isEmpty()) {
            o.blank();
            o.open(".pci_caps =");
            Map<Integer, String> owners = capOwners(c);
            for (int i = 0; i < c.pciCaps().size(); i++) {
                PciCapability cap = c.pciCaps().get(i);
                String owner = owners.get(i);
                o.open("", owner);
                o.field("id", capId(cap.id()));
                nonZeroHex(o, "start", cap.start());
                nonZeroDec(o, "len", cap.len());
                if (cap.flags() != 0) {
                    o.field("flags", flags(cap.flags(), new String[] {"JAILHOUSE_PCICAPS_WRITE"},
                            new long[] {PciCapability.WRITE}));
                }
                o.close("},");
            }
            o.close("},");
        }
        if (!c.streamIds().isEmpty()) {
            o.blank();
            o.open(".stream_ids =");
            for (long id : c.streamIds()) {
                o.line("{ .id = " + hex(id) + " },");
            }
            o.close("},");
        }
    }

    private static void writeCpus(Out o, Bitmap cpus) {
        byte[] b = cpus.toByteArray();
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        boolean words = b.length % 8 == 0;
        int n = words ? b.length / 8 : b.length;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if ((words ? buf.getLong(i * 8) : b[i]) != 0) {
                last = i;
            }
        }
        o.blank();
        if (last < 0) {
            return; // an empty set: the member is declared and stays zero
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i <= last; i++) {
            sb.append(i == 0 ? "" : ", ").append(hex(words ? buf.getLong(i * 8) : b[i] & 0xff));
        }
        if (last < 4) {
            o.field("cpus", "{ " + sb + " }");
            return;
        }
        o.open(".cpus =");
        for (int i = 0; i <= last; i += 4) {
            StringBuilder row = new StringBuilder();
            for (int j = i; j <= Math.min(last, i + 3); j++) {
                row.append(hex(words ? buf.getLong(j * 8) : b[j] & 0xff)).append(", ");
            }
            o.line(row.toString().strip());
        }
        o.close("},");
    }

    private static void writeMemoryRegions(Out o, CellConfig c) {
        List<MemoryRegion> regions = c.memoryRegions();
        Map<Integer, String> notes = new HashMap<>();
        Map<Integer, PciDevice> netLinks = new HashMap<>();
        for (PciDevice d : c.pciDevices()) {
            if (!d.isIvshmem()) {
                continue;
            }
            long start = d.shmemRegionsStart();
            String dev = "ivshmem " + PciDevice.formatBdf(d.bdf());
            putNote(notes, start, dev + ": state table");
            putNote(notes, start + 1, dev + ": read/write section");
            for (int k = 0; k < d.shmemPeers(); k++) {
                putNote(notes, start + 2 + k, dev + ": output section of peer " + k);
            }
            if (d.shmemProtocol() == PciDevice.SHMEM_PROTO_VETH && start + 4 <= regions.size()
                    && isNetRegions(regions.subList((int) start, (int) start + 4), d.shmemDevId())) {
                netLinks.put((int) start, d);
            }
        }
        o.blank();
        o.open(".mem_regions =");
        for (int i = 0; i < regions.size(); i++) {
            PciDevice link = netLinks.get(i);
            if (link != null) {
                o.line("/* ivshmem " + PciDevice.formatBdf(link.bdf()) + ": virtual network link */");
                o.line("JAILHOUSE_SHMEM_NET_REGIONS(" + hex(regions.get(i).physStart()) + ", "
                        + link.shmemDevId() + "),");
                i += 3;
                continue;
            }
            MemoryRegion m = regions.get(i);
            String note = notes.get(i);
            if (note == null && m.has(MemoryRegion.COMM_REGION)) {
                note = "communication region";
            } else if (note == null && m.has(MemoryRegion.LOADABLE)) {
                note = "RAM";
            }
            if (m.equals(MemoryRegion.EMPTY)) {
                o.line("{ 0 }," + (note == null ? "" : " /* " + note + " */"));
                continue;
            }
            o.open("", note);
            writeMemoryFields(o, m);
            o.close("},");
        }
        o.close("},");
    }

    private static void putNote(Map<Integer, String> notes, long index, String note) {
        if (index >= 0 && index < Integer.MAX_VALUE) {
            notes.putIfAbsent((int) index, note);
        }
    }

    /** Whether four regions are exactly what JAILHOUSE_SHMEM_NET_REGIONS(start, devId) expands to. */
    private static boolean isNetRegions(List<MemoryRegion> r, int devId) {
        long start = r.get(0).physStart();
        long shared = MemoryRegion.READ | MemoryRegion.ROOTSHARED;
        return r.get(0).equals(new MemoryRegion(start, start, 0x1000, shared))
                && r.get(1).equals(MemoryRegion.EMPTY)
                && r.get(2).equals(new MemoryRegion(start + 0x1000, start + 0x1000, 0x7f000,
                        shared | (devId == 0 ? MemoryRegion.WRITE : 0)))
                && r.get(3).equals(new MemoryRegion(start + 0x80000, start + 0x80000, 0x7f000,
                        shared | (devId == 1 ? MemoryRegion.WRITE : 0)));
    }

    private static void writeMemoryFields(Out o, MemoryRegion m) {
        nonZeroHex(o, "phys_start", m.physStart());
        nonZeroHex(o, "virt_start", m.virtStart());
        nonZeroHex(o, "size", m.size());
        if (m.flags() != 0) {
            o.field("flags", flags(m.flags(), MEM_FLAGS, MEM_FLAG_VALUES));
        }
    }

    private static void writePciDevice(Out o, PciDevice d, boolean rawMsi) {
        o.open("", (d.isIvshmem() ? "ivshmem " : "") + PciDevice.formatBdf(d.bdf()));
        if (d.type() != 0) {
            o.field("type", name(PCI_TYPES, d.type()));
        }
        nonZeroDec(o, "iommu", d.iommu());
        nonZeroHex(o, "domain", d.domain());
        if (d.bdf() != 0) {
            o.field("bdf", String.format("0x%04x", d.bdf()));
        }
        if (!d.barMask().equals(PciDevice.BAR_MASK_NONE)) {
            String macro = null;
            if (d.isIvshmem()) {
                for (Object[] m : BAR_MASK_MACROS) {
                    if (m[1].equals(d.barMask())) {
                        macro = (String) m[0];
                    }
                }
            }
            if (macro != null) {
                o.field("bar_mask", macro);
            } else {
                o.open(".bar_mask =");
                for (int row = 0; row < 6; row += 3) {
                    o.line(String.format("0x%08x, 0x%08x, 0x%08x,", d.barMask().get(row), d.barMask().get(row + 1),
                            d.barMask().get(row + 2)));
                }
                o.close("},");
            }
        }
        nonZeroDec(o, "caps_start", d.capsStart());
        nonZeroDec(o, "num_caps", d.numCaps());
        nonZeroDec(o, "num_msi_vectors", d.numMsiVectors());
        if (rawMsi) {
            nonZeroHex(o, "msi_bits", d.msiBits());
        } else {
            if (d.msi64Bits()) {
                o.field("msi_64bits", "1");
            }
            if (d.msiMaskable()) {
                o.field("msi_maskable", "1");
            }
        }
        nonZeroDec(o, "num_msix_vectors", d.numMsixVectors());
        nonZeroHex(o, "msix_region_size", d.msixRegionSize());
        nonZeroHex(o, "msix_address", d.msixAddress());
        if (d.isIvshmem()) {
            // Spelled out even when 0, as these say which regions and which peer.
            o.field("shmem_regions_start", Long.toString(d.shmemRegionsStart()));
            o.field("shmem_dev_id", Integer.toString(d.shmemDevId()));
            o.field("shmem_peers", Integer.toString(d.shmemPeers()));
            o.field("shmem_protocol", shmemProtocol(d.shmemProtocol()));
        } else {
            nonZeroDec(o, "shmem_regions_start", d.shmemRegionsStart());
            nonZeroDec(o, "shmem_dev_id", d.shmemDevId());
            nonZeroDec(o, "shmem_peers", d.shmemPeers());
            if (d.emulation() == PciDevice.EMULATE_INTEL_HDA) {
                o.field("shmem_protocol", "JAILHOUSE_PCI_EMULATE_INTEL_HDA");
            } else if (d.shmemProtocol() != 0) {
                o.field("shmem_protocol", shmemProtocol(d.shmemProtocol()));
            }
        }
        o.close("},");
    }

    /**
     * Emitted only when a device's MSI bit-field byte has bits besides
     * msi_64bits and msi_maskable: C cannot initialise those through the
     * bit-fields, so the array uses this layout twin with a plain byte there.
     */
    private static void writeRawPciDeviceType(Out o) {
        o.line("/*");
        o.line(" * Layout twin of struct jailhouse_pci_device with the MSI bit-field byte");
        o.line(" * as one plain byte (bit 0 msi_64bits, bit 1 msi_maskable): a device");
        o.line(" * below sets further bits of it, which the bit-fields cannot express.");
        o.line(" */");
        o.open("struct " + RAW_PCI_DEVICE);
        for (String m : List.of("__u8 type;", "__u8 iommu;", "__u16 domain;", "__u16 bdf;", "__u32 bar_mask[6];",
                "__u16 caps_start;", "__u16 num_caps;", "__u8 num_msi_vectors;", "__u8 msi_bits;",
                "__u16 num_msix_vectors;", "__u16 msix_region_size;", "__u64 msix_address;",
                "__u32 shmem_regions_start;", "__u8 shmem_dev_id;", "__u8 shmem_peers;", "__u16 shmem_protocol;")) {
            o.line(m);
        }
        o.close("} __attribute__((packed));");
        o.blank();
        o.line("_Static_assert(sizeof(struct " + RAW_PCI_DEVICE + ") ==");
        o.line("\t       sizeof(struct jailhouse_pci_device), \"layout twin must match\");");
        o.blank();
    }

    /** Which device each capability belongs to, for comments. */
    private static Map<Integer, String> capOwners(CellConfig c) {
        Map<Integer, String> owners = new HashMap<>();
        for (PciDevice d : c.pciDevices()) {
            for (int k = 0; k < d.numCaps(); k++) {
                owners.putIfAbsent(d.capsStart() + k, PciDevice.formatBdf(d.bdf()));
            }
        }
        return owners;
    }

    private static String capId(int id) {
        if ((id & PciCapability.EXT_CAP) != 0) {
            int ext = id & ~PciCapability.EXT_CAP;
            return ext < EXT_CAP_IDS.length && EXT_CAP_IDS[ext] != null
                    ? "PCI_EXT_CAP_ID_" + EXT_CAP_IDS[ext] + " | JAILHOUSE_PCI_EXT_CAP"
                    : hex(ext) + " | JAILHOUSE_PCI_EXT_CAP";
        }
        return id < CAP_IDS.length && CAP_IDS[id] != null ? "PCI_CAP_ID_" + CAP_IDS[id] : hex(id);
    }

    private static String shmemProtocol(int p) {
        if (p == PciDevice.SHMEM_PROTO_UNDEFINED) {
            return "JAILHOUSE_SHMEM_PROTO_UNDEFINED";
        }
        if (p == PciDevice.SHMEM_PROTO_VETH) {
            return "JAILHOUSE_SHMEM_PROTO_VETH";
        }
        if (p >= 0x4000 && p < 0x8000) {
            return "JAILHOUSE_SHMEM_PROTO_CUSTOM" + (p == 0x4000 ? "" : " + " + hex(p - 0x4000));
        }
        if (p >= 0x8000) {
            String base = p >= 0xc000 ? "JAILHOUSE_SHMEM_PROTO_VIRTIO_BACK" : "JAILHOUSE_SHMEM_PROTO_VIRTIO_FRONT";
            int dev = p & 0x3fff;
            if (dev == 0) {
                return base;
            }
            return base + " + " + (dev < VIRTIO_DEVS.length ? VIRTIO_DEVS[dev] : Integer.toString(dev));
        }
        return hex(p);
    }

    private static String arch(int code) {
        return name(ARCHS, code);
    }

    /** The macro for a value, or the number when the value has no name. */
    private static String name(String[] names, long value) {
        return value >= 0 && value < names.length && names[(int) value] != null ? names[(int) value]
                : Long.toString(value);
    }

    /** Named bits joined with '|', then whatever remains as one hex number. */
    private static String flags(long value, String[] names, long[] values) {
        StringBuilder sb = new StringBuilder();
        long rest = value;
        for (int i = 0; i < names.length; i++) {
            if ((rest & values[i]) == values[i]) {
                sb.append(sb.isEmpty() ? "" : " | ").append(names[i]);
                rest &= ~values[i];
            }
        }
        if (rest != 0 || sb.isEmpty()) {
            sb.append(sb.isEmpty() ? "" : " | ").append(hex(rest));
        }
        return sb.toString();
    }

    /** 32-bit words of a little-endian bitmap up to the last non-zero one, as a brace list; null if all zero. */
    private static String words32(byte[] b) {
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int last = -1;
        for (int i = 0; i < b.length / 4; i++) {
            if (buf.getInt(i * 4) != 0) {
                last = i;
            }
        }
        if (last < 0) {
            return null;
        }
        StringBuilder sb = new StringBuilder("{ ");
        for (int i = 0; i <= last; i++) {
            sb.append(i == 0 ? "" : ", ").append(hex(buf.getInt(i * 4) & 0xffffffffL));
        }
        return sb.append(" }").toString();
    }

    private static void nonZeroHex(Out o, String field, long v) {
        if (v != 0) {
            o.field(field, hex(v));
        }
    }

    private static void nonZeroDec(Out o, String field, long v) {
        if (v != 0) {
            // A decimal literal beyond the signed 64-bit range has no standard C type; hex has.
            o.field(field, v > 0 ? Long.toString(v) : hex(v));
        }
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static String small(long v) {
        return v < 10 ? Long.toString(v) : hex(v);
    }

    /**
     * A C string literal of the first {@code len} bytes. Everything outside
     * printable ASCII becomes a three-digit octal escape (which, unlike
     * {@code \x}, cannot swallow a following digit), and '?' is escaped so no
     * trigraph can form.
     */
    static String cString(byte[] bytes, int len) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < len; i++) {
            int ch = bytes[i] & 0xff;
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '?' -> sb.append("\\?");
                default -> {
                    if (ch < 0x20 || ch > 0x7e) {
                        sb.append(String.format("\\%03o", ch));
                    } else {
                        sb.append((char) ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** Text safe inside a block comment: printable ASCII only, no comment terminator. */
    private static String comment(String text) {
        StringBuilder sb = new StringBuilder();
        for (char ch : text.toCharArray()) {
            sb.append(ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        return sb.toString().replace("*/", "* /");
    }

    /** Indented line output with tabs, as upstream's configs are formatted. */
    private static final class Out {
        private static final int MAX_WIDTH = 80;
        private final StringBuilder sb = new StringBuilder();
        int indent;

        void line(String text) {
            sb.append("\t".repeat(indent)).append(text).append('\n');
        }

        void blank() {
            // No blank line directly after an opening brace.
            if (sb.length() >= 2 && sb.charAt(sb.length() - 2) != '{' && sb.charAt(sb.length() - 2) != '\n') {
                sb.append('\n');
            }
        }

        void open(String prefix) {
            open(prefix, null);
        }

        void open(String prefix, String note) {
            line((prefix.isEmpty() ? "{" : prefix + " {") + (note == null ? "" : " /* " + comment(note) + " */"));
            indent++;
        }

        void close(String text) {
            indent--;
            line(text);
        }

        void field(String name, String value) {
            String text = "." + name + " = " + value + ",";
            if (width(indent, text) <= MAX_WIDTH || !(value.contains(" | ") || value.contains(" + "))) {
                line(text);
                return;
            }
            // Long expressions wrap after an operator, continuation lines one tab
            // deeper, as upstream's configs are formatted.
            String[] parts = value.split("(?= [|+] )");
            StringBuilder current = new StringBuilder("." + name + " = " + parts[0]);
            int currentIndent = indent;
            for (int i = 1; i < parts.length; i++) {
                String op = parts[i].substring(0, 2);
                String term = parts[i].substring(3);
                String candidate = current + op + " " + term;
                String end = i == parts.length - 1 ? "," : parts[i + 1].substring(0, 2);
                if (width(currentIndent, candidate + end) <= MAX_WIDTH) {
                    current = new StringBuilder(candidate);
                } else {
                    sb.append("\t".repeat(currentIndent)).append(current).append(op).append('\n');
                    currentIndent = indent + 1;
                    current = new StringBuilder(term);
                }
            }
            sb.append("\t".repeat(currentIndent)).append(current).append(",\n");
        }

        /** Columns a line takes with 8-column tabs. */
        private static int width(int tabs, String text) {
            return tabs * 8 + text.length();
        }

        @Override
        public String toString() {
            return sb.toString();
        }
    }
}
