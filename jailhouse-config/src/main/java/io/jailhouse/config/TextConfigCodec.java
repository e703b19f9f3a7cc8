package io.jailhouse.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The human forms of a configuration, YAML and JSON (same structure): hex
 * addresses, sizes with units, flags by name, PCI addresses as {@code 01:0c.0},
 * CPUs as lists or ranges. Lossless: every field of the binary format has a
 * place, so {@code .cell -> .yaml -> .cell} reproduces the bytes. Fields that
 * are zero may be left out. Unknown keys are errors, so a typo never silently
 * becomes a default.
 */
public final class TextConfigCodec {
    /** The two text forms. */
    public enum Format {
        YAML, JSON
    }

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build();
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** Standard (and, with the 0x8000 bit, extended) PCI capability ids by YAML name. */
    private static final FlagNames CAP_IDS = FlagNames.of("PCI capability id",
            "pm", 0x01, "vpd", 0x03, "msi", 0x05, "ht", 0x08, "vndr", 0x09, "dbg", 0x0a, "ssvid", 0x0d,
            "secdev", 0x0f, "exp", 0x10, "msix", 0x11, "sata", 0x12, "af", 0x13,
            "ext-err", 0x8001, "ext-vc", 0x8002, "ext-dsn", 0x8003, "ext-pwr", 0x8004, "ext-vndr", 0x800b,
            "ext-acs", 0x800d, "ext-ari", 0x800e, "ext-ats", 0x800f, "ext-sriov", 0x8010, "ext-ltr", 0x8018,
            "ext-secpci", 0x8019, "ext-l1ss", 0x801e, "ext-ptm", 0x801f);
    private static final FlagNames SHMEM_PROTOCOLS = FlagNames.of("shmem protocol",
            "undefined", 0x0000, "veth", 0x0001, "virtio-front-net", 0x8001, "virtio-front-block", 0x8002,
            "virtio-front-console", 0x8003, "virtio-back-net", 0xc001, "virtio-back-block", 0xc002,
            "virtio-back-console", 0xc003);

    private TextConfigCodec() {
    }

    // ---------------------------------------------------------------- decoding

    public static JailhouseConfig decode(byte[] content, String source, Format format) throws ConfigFormatException {
        JsonFactory factory = format == Format.YAML ? YAML.getFactory() : JSON.getFactory();
        JsonNode root = TextTree.read(factory, content, source);
        Obj top = Obj.of(root, "", source);
        boolean hasSystem = top.node.has("system");
        boolean hasCell = top.node.has("cell");
        if (hasSystem == hasCell) {
            throw new ConfigFormatException(source, null,
                    "expected exactly one top-level key, 'system' (a system config) or 'cell' (a cell config)");
        }
        JailhouseConfig config = hasSystem ? system(top.obj("system")) : cell(top.obj("cell"), null);
        top.done();
        return config;
    }

    private static SystemConfig system(Obj o) throws ConfigFormatException {
        Architecture arch = o.architecture();
        long flags = o.flags("flags", SystemConfig.FLAG_NAMES, 0xffffffffL);
        MemoryRegion hv = o.has("hypervisor_memory") ? memory(o.obj("hypervisor_memory")) : MemoryRegion.EMPTY;
        Console debug = o.has("debug_console") ? console(o.obj("debug_console")) : Console.NONE;
        PlatformInfo platform = platform(o.has("platform") ? o.obj("platform") : Obj.empty(o, "platform"), arch);
        long rootHeader = o.u64("root_cell_header", 0);
        CellConfig root = cell(o.obj("root_cell"), arch);
        o.done();
        return new SystemConfig(arch, flags, hv, debug, platform, root, rootHeader);
    }

    private static PlatformInfo platform(Obj o, Architecture arch) throws ConfigFormatException {
        long mmcfg = o.u64("pci_mmconfig_base", 0);
        int endBus = (int) o.uint("pci_mmconfig_end_bus", 0, 0xff);
        int isVirtual = (int) o.uint("pci_is_virtual", 0, 0xff);
        int domain = (int) o.uint("pci_domain", 0, 0xffff);
        List<IommuUnit> units = new ArrayList<>();
        List<Obj> listed = o.objList("iommu_units");
        if (listed.size() > IommuUnit.SLOTS) {
            throw o.error("iommu_units", listed.size() + " IOMMU units; at most " + IommuUnit.SLOTS + " fit");
        }
        for (Obj u : listed) {
            units.add(iommu(u));
        }
        while (units.size() < IommuUnit.SLOTS) {
            units.add(IommuUnit.UNUSED);
        }
        ArchPlatform ap;
        if (arch == Architecture.X86) {
            if (o.has("arm")) {
                throw o.error("arm", "an x86 system has 'x86' platform settings, not 'arm'");
            }
            Obj x = o.has("x86") ? o.obj("x86") : Obj.empty(o, "x86");
            ap = new X86Platform((int) x.uint("pm_timer_address", 0, 0xffff),
                    (int) x.named("apic_mode", X86Platform.APIC_MODE_NAMES, 0xff),
                    (int) x.uint("padding", 0, 0xff), x.uint("vtd_interrupt_limit", 0, 0xffffffffL),
                    x.uint("tsc_khz", 0, 0xffffffffL), x.uint("apic_khz", 0, 0xffffffffL));
            x.done();
        } else {
            if (o.has("x86")) {
                throw o.error("x86", "an " + arch.label() + " system has 'arm' platform settings, not 'x86'");
            }
            Obj a = o.has("arm") ? o.obj("arm") : Obj.empty(o, "arm");
            ap = new ArmPlatform((int) a.uint("maintenance_irq", 0, 0xff), (int) a.uint("gic_version", 0, 0xff),
                    (int) a.uint("padding", 0, 0xffff), a.u64("gicd_base", 0), a.u64("gicc_base", 0),
                    a.u64("gich_base", 0), a.u64("gicv_base", 0), a.u64("gicr_base", 0));
            a.done();
        }
        o.done();
        return new PlatformInfo(mmcfg, endBus, isVirtual, domain, units, ap);
    }

    private static IommuUnit iommu(Obj o) throws ConfigFormatException {
        long type = o.named("type", IommuUnit.TYPE_NAMES, 0xffffffffL);
        long base = o.u64("base", 0);
        long size = o.uint("size", 0, 0xffffffffL);
        long low;
        long high;
        if (o.has("union_low") || o.has("union_high")) {
            low = o.u64("union_low", 0);
            high = o.uint("union_high", 0, 0xffffffffL);
        } else if (o.has("tlb_base") || o.has("tlb_size")) {
            low = o.u64("tlb_base", 0);
            high = o.uint("tlb_size", 0, 0xffffffffL);
        } else {
            IommuUnit amd = IommuUnit.amd(0, 0, o.has("amd_bdf") ? o.bdf("amd_bdf") : 0,
                    (int) o.uint("amd_base_cap", 0, 0xff), (int) o.uint("amd_msi_cap", 0, 0xff),
                    o.uint("amd_features", 0, 0xffffffffL));
            low = amd.unionLow();
            high = 0;
        }
        o.done();
        return new IommuUnit(type, base, size, low, high);
    }

    /**
     * The name field may hold any byte but NUL. Names of printable ASCII are
     * written as they are; others as {@code name_escaped} with {@code \xNN}
     * for every other byte and {@code \\} for a backslash, because YAML
     * turns line breaks (U+000A, U+0085, ...) in a string into spaces.
     */
    static String escapeName(String name) {
        StringBuilder sb = new StringBuilder();
        for (char ch : name.toCharArray()) {
            if (ch == '\\') {
                sb.append("\\\\");
            } else if (ch >= 0x20 && ch <= 0x7e) {
                sb.append(ch);
            } else {
                sb.append(String.format("\\x%02x", (int) ch));
            }
        }
        return sb.toString();
    }

    private static String name(Obj o) throws ConfigFormatException {
        if (!o.has("name_escaped")) {
            return o.string("name");
        }
        if (o.has("name")) {
            throw o.error("name_escaped", "give either name or name_escaped, not both");
        }
        String text = o.string("name_escaped");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch != '\\') {
                sb.append(ch);
            } else if (i + 1 < text.length() && text.charAt(i + 1) == '\\') {
                sb.append('\\');
                i++;
            } else if (i + 3 < text.length() && text.charAt(i + 1) == 'x'
                    && Character.digit(text.charAt(i + 2), 16) >= 0 && Character.digit(text.charAt(i + 3), 16) >= 0) {
                sb.append((char) Integer.parseInt(text.substring(i + 2, i + 4), 16));
                i += 3;
            } else {
                throw o.error("name_escaped", "character " + i + ": a backslash starts \\xNN (a byte in hex) or "
                        + "\\\\ (a backslash)");
            }
        }
        return sb.toString();
    }

    /** A cell; {@code rootArch} is the system's architecture for the root cell, null for a cell file. */
    private static CellConfig cell(Obj o, Architecture rootArch) throws ConfigFormatException {
        Architecture arch = rootArch != null ? rootArch : o.architecture();
        String name = name(o);
        try {
            CellConfig.checkName(name);
        } catch (IllegalArgumentException e) {
            throw o.error("name", e.getMessage());
        }
        long id = o.uint("id", 0, 0xffffffffL);
        long flags = o.flags("flags", CellConfig.FLAG_NAMES, 0xffffffffL);
        Bitmap cpus = o.bitmap("cpus", o.has("cpu_set_size") ? (int) o.uint("cpu_set_size", 8,
                CellConfig.MAX_CPU_SET_BYTES) : -1, CellConfig.MAX_CPU_SET_BYTES);
        long vpci = o.uint("vpci_irq_base", 0, 0xffffffffL);
        long reset = o.u64("cpu_reset_address", 0);
        long timeout = o.u64("msg_reply_timeout", 0);
        Console console = o.has("console") ? console(o.obj("console")) : Console.NONE;
        List<MemoryRegion> mem = new ArrayList<>();
        for (Obj m : o.objList("memory_regions")) {
            mem.add(memory(m));
        }
        List<CacheRegion> caches = new ArrayList<>();
        for (Obj c : o.objList("cache_regions")) {
            caches.add(new CacheRegion(c.uint("start", 0, 0xffffffffL), c.uint("size", 0, 0xffffffffL),
                    (int) c.named("type", CacheRegion.TYPE_NAMES, 0xff), (int) c.uint("padding", 0, 0xff),
                    (int) c.flags("flags", CacheRegion.FLAG_NAMES, 0xffff)));
            c.done();
        }
        List<Irqchip> irqchips = new ArrayList<>();
        for (Obj c : o.objList("irqchips")) {
            irqchips.add(new Irqchip(c.u64("address", 0), c.uint("id", 0, 0xffffffffL),
                    c.uint("pin_base", 0, 0xffffffffL), c.bitmap("pins", Irqchip.PIN_BITMAP_BYTES,
                            Irqchip.PIN_BITMAP_BYTES)));
            c.done();
        }
        List<PioRange> pio = new ArrayList<>();
        for (Obj p : o.objList("pio_regions")) {
            pio.add(new PioRange((int) p.uint("base", 0, 0xffff), (int) p.uint("length", 0, 0xffff)));
            p.done();
        }
        List<PciDevice> pci = new ArrayList<>();
        for (Obj d : o.objList("pci_devices")) {
            pci.add(pciDevice(d));
        }
        List<PciCapability> caps = new ArrayList<>();
        for (Obj c : o.objList("pci_caps")) {
            caps.add(new PciCapability((int) c.flags("id", CAP_IDS, 0xffff), (int) c.uint("start", 0, 0xffff),
                    (int) c.uint("len", 0, 0xffff), (int) c.flags("flags", PciCapability.FLAG_NAMES, 0xffff)));
            c.done();
        }
        List<Long> streams = new ArrayList<>();
        for (String s : o.scalarList("stream_ids")) {
            streams.add(o.parseUint("stream_ids", s, 0xffffffffL));
        }
        o.done();
        return new CellConfig(arch, name, id, flags, cpus, mem, caches, irqchips, pio, pci, caps, streams, vpci,
                reset, timeout, console);
    }

    private static PciDevice pciDevice(Obj d) throws ConfigFormatException {
        int type = (int) d.named("type", PciDevice.TYPE_NAMES, 0xff);
        int bdf = d.bdf("bdf");
        List<Long> bars = new ArrayList<>();
        List<String> listed = d.scalarList("bar_mask");
        if (!listed.isEmpty() && listed.size() != 6) {
            throw d.error("bar_mask", "has " + listed.size() + " entries; a PCI device has 6 BARs");
        }
        for (String s : listed) {
            bars.add(d.parseUint("bar_mask", s, 0xffffffffL));
        }
        while (bars.size() < 6) {
            bars.add(0L);
        }
        // Bits 2..7 of the bit-field byte have no name upstream; kept so nothing is lost.
        int reserved = (int) d.uint("bitfield_reserved", 0, 0xff);
        if ((reserved & 0x3) != 0) {
            throw d.error("bitfield_reserved", "bits 0 and 1 are set with msi_64bits and msi_maskable");
        }
        int msiBits = (d.bool("msi_64bits") ? PciDevice.MSI_64BITS : 0)
                | (d.bool("msi_maskable") ? PciDevice.MSI_MASKABLE : 0) | reserved;
        PciDevice dev = new PciDevice(type, (int) d.uint("iommu", 0, 0xff), (int) d.uint("domain", 0, 0xffff), bdf,
                bars, (int) d.uint("caps_start", 0, 0xffff), (int) d.uint("num_caps", 0, 0xffff),
                (int) d.uint("num_msi_vectors", 0, 0xff), msiBits, (int) d.uint("num_msix_vectors", 0, 0xffff),
                (int) d.uint("msix_region_size", 0, 0xffff), d.u64("msix_address", 0),
                d.uint("shmem_regions_start", 0, 0xffffffffL), (int) d.uint("shmem_dev_id", 0, 0xff),
                (int) d.uint("shmem_peers", 0, 0xff), type == PciDevice.TYPE_DEVICE && d.has("emulation")
                        ? (int) d.flags("emulation", PciDevice.EMULATIONS, 0xffff)
                        : (int) d.flags("shmem_protocol", SHMEM_PROTOCOLS, 0xffff));
        d.done();
        return dev;
    }

    private static MemoryRegion memory(Obj m) throws ConfigFormatException {
        MemoryRegion r = new MemoryRegion(m.u64("phys_start", 0), m.u64("virt_start", 0), m.u64("size", 0),
                m.flags("flags", MemoryRegion.FLAG_NAMES, -1L));
        m.done();
        return r;
    }

    private static Console console(Obj c) throws ConfigFormatException {
        Console con = new Console(c.u64("address", 0), c.uint("size", 0, 0xffffffffL),
                (int) c.named("type", Console.TYPE_NAMES, 0xffff),
                (int) c.flags("flags", Console.FLAG_NAMES, 0xffff), c.uint("divider", 0, 0xffffffffL),
                c.uint("gate_nr", 0, 0xffffffffL), c.u64("clock_reg", 0));
        c.done();
        return con;
    }

    /** One mapping of the document, with its path for messages and a record of the keys used. */
    private static final class Obj {
        final ObjectNode node;
        final String path;
        final String source;
        final Set<String> used = new HashSet<>();

        private Obj(ObjectNode node, String path, String source) {
            this.node = node;
            this.path = path;
            this.source = source;
        }

        static Obj of(JsonNode n, String path, String source) throws ConfigFormatException {
            if (!(n instanceof ObjectNode o)) {
                throw new ConfigFormatException(source, path.isEmpty() ? null : path,
                        "expected a mapping of keys to values");
            }
            return new Obj(o, path, source);
        }

        static Obj empty(Obj parent, String key) {
            return new Obj(F.objectNode(), parent.child(key), parent.source);
        }

        String child(String key) {
            return path.isEmpty() ? key : path + "." + key;
        }

        ConfigFormatException error(String key, String problem) {
            return new ConfigFormatException(source, key == null ? path : child(key), problem);
        }

        boolean has(String key) {
            return node.has(key) && !node.get(key).isNull();
        }

        private JsonNode take(String key) {
            used.add(key);
            JsonNode n = node.get(key);
            return n == null || n.isNull() ? null : n;
        }

        /** Fails on keys nobody asked for: a typo must not become a silent default. */
        void done() throws ConfigFormatException {
            Set<String> unknown = new TreeSet<>();
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!used.contains(k)) {
                    unknown.add(k);
                }
            }
            if (!unknown.isEmpty()) {
                Set<String> known = new TreeSet<>(used);
                throw error(unknown.iterator().next(), "unknown key" + (path.isEmpty() ? "" : " in " + path)
                        + (known.isEmpty() ? "" : " (known here: " + String.join(", ", known) + ")"));
            }
        }

        Obj obj(String key) throws ConfigFormatException {
            JsonNode n = take(key);
            if (n == null) {
                throw error(key, "missing");
            }
            return of(n, child(key), source);
        }

        List<Obj> objList(String key) throws ConfigFormatException {
            JsonNode n = take(key);
            List<Obj> out = new ArrayList<>();
            if (n == null) {
                return out;
            }
            if (!n.isArray()) {
                throw error(key, "expected a list");
            }
            for (int i = 0; i < n.size(); i++) {
                JsonNode e = n.get(i);
                String p = child(key) + "[" + i + "]";
                out.add(e.isNull() ? new Obj(F.objectNode(), p, source) : of(e, p, source));
            }
            return out;
        }

        List<String> scalarList(String key) throws ConfigFormatException {
            JsonNode n = take(key);
            List<String> out = new ArrayList<>();
            if (n == null) {
                return out;
            }
            if (n.isTextual()) {
                out.add(n.textValue());
                return out;
            }
            if (!n.isArray()) {
                throw error(key, "expected a list of values");
            }
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    throw error(key, "expected plain values in the list, found " + e.getNodeType().name()
                            .toLowerCase(Locale.ROOT));
                }
                out.add(e.textValue());
            }
            return out;
        }

        String scalar(String key) throws ConfigFormatException {
            JsonNode n = take(key);
            if (n == null) {
                return null;
            }
            if (!n.isTextual()) {
                throw error(key, "expected a single value");
            }
            return n.textValue();
        }

        String string(String key) throws ConfigFormatException {
            String s = scalar(key);
            if (s == null) {
                throw error(key, "missing");
            }
            return s;
        }

        long parseUint(String key, String text, long max) throws ConfigFormatException {
            long v;
            try {
                v = Numbers.parseUnsigned(text);
            } catch (IllegalArgumentException e) {
                throw error(key, e.getMessage());
            }
            if (max != -1L && Long.compareUnsigned(v, max) > 0) {
                throw error(key, text + " exceeds the field's maximum " + Numbers.hex(max));
            }
            return v;
        }

        long uint(String key, long dflt, long max) throws ConfigFormatException {
            String s = scalar(key);
            return s == null ? dflt : parseUint(key, s, max);
        }

        long u64(String key, long dflt) throws ConfigFormatException {
            return uint(key, dflt, -1L);
        }

        boolean bool(String key) throws ConfigFormatException {
            String s = scalar(key);
            if (s == null) {
                return false;
            }
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on", "1" -> true;
                case "false", "no", "off", "0" -> false;
                default -> throw error(key, "'" + s + "' is not true or false");
            };
        }

        /** A value given by name from {@code names} (index = value) or as a number. */
        long named(String key, String[] names, long max) throws ConfigFormatException {
            String s = scalar(key);
            if (s == null) {
                return 0;
            }
            String k = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            for (int i = 0; i < names.length; i++) {
                if (names[i] != null && names[i].equals(k)) {
                    return i;
                }
            }
            try {
                return parseUint(key, s, max);
            } catch (ConfigFormatException e) {
                List<String> known = new ArrayList<>();
                for (String n : names) {
                    if (n != null) {
                        known.add(n);
                    }
                }
                throw error(key, "unknown value '" + s + "' (known: " + String.join(", ", known) + ", or a number)");
            }
        }

        long flags(String key, FlagNames names, long max) throws ConfigFormatException {
            long v = 0;
            for (String s : scalarList(key)) {
                try {
                    v |= names.valueOf(s);
                } catch (IllegalArgumentException e) {
                    throw error(key, e.getMessage());
                }
            }
            if (max != -1L && Long.compareUnsigned(v, max) > 0) {
                throw error(key, "value " + Numbers.hex(v) + " exceeds the field's maximum " + Numbers.hex(max));
            }
            return v;
        }

        /** A PCI address as the writer emits it ({@code 00:00.2}), or a 16-bit number. */
        int bdf(String key) throws ConfigFormatException {
            String s = string(key);
            try {
                return PciDevice.parseBdf(s);
            } catch (IllegalArgumentException e) {
                throw error(key, e.getMessage());
            }
        }

        /** Bits as a list of numbers and ranges; {@code size} -1 = smallest whole 64-bit words. */
        Bitmap bitmap(String key, int size, int maxBytes) throws ConfigFormatException {
            List<Integer> bits = new ArrayList<>();
            for (String s : scalarList(key)) {
                try {
                    for (int b : Bitmap.parseRangeList(s)) {
                        bits.add(b);
                    }
                } catch (IllegalArgumentException e) {
                    throw error(key, e.getMessage());
                }
            }
            int[] arr = bits.stream().mapToInt(Integer::intValue).toArray();
            int highest = bits.stream().mapToInt(Integer::intValue).max().orElse(-1);
            int bytes = size >= 0 ? size : ((Math.max(highest, 0) / 64) + 1) * 8;
            if (bytes > maxBytes) {
                throw error(key, "needs " + bytes + " bytes; at most " + maxBytes + " are allowed");
            }
            if (highest >= bytes * 8) {
                throw error(key, "bit " + highest + " does not fit " + bytes + " bytes");
            }
            return Bitmap.of(bytes, arr);
        }

        Architecture architecture() throws ConfigFormatException {
            String s = scalar("architecture");
            if (s == null) {
                return Architecture.X86;
            }
            Architecture a = Architecture.ofLabel(s.trim());
            if (a == null) {
                throw error("architecture", "unknown architecture '" + s + "' (x86, arm, arm64)");
            }
            return a;
        }
    }

    // ---------------------------------------------------------------- encoding

    public static byte[] encode(JailhouseConfig config, Format format) {
        ObjectNode root = F.objectNode();
        switch (config) {
            case SystemConfig s -> root.set("system", system(s));
            case CellConfig c -> root.set("cell", cell(c, true));
        }
        try {
            String text = format == Format.YAML ? YAML.writeValueAsString(root) : JSON.writeValueAsString(root) + "\n";
            return text.getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode system(SystemConfig s) {
        ObjectNode o = F.objectNode();
        o.put("architecture", s.architecture().label());
        putFlags(o, "flags", s.flags(), SystemConfig.FLAG_NAMES);
        o.set("hypervisor_memory", memory(s.hypervisorMemory()));
        if (!s.debugConsole().equals(Console.NONE)) {
            o.set("debug_console", console(s.debugConsole()));
        }
        PlatformInfo p = s.platform();
        ObjectNode po = F.objectNode();
        putHex(po, "pci_mmconfig_base", p.pciMmconfigBase());
        putHex(po, "pci_mmconfig_end_bus", p.pciMmconfigEndBus());
        putNum(po, "pci_is_virtual", p.pciIsVirtual());
        putNum(po, "pci_domain", p.pciDomain());
        int lastUsed = -1;
        for (int i = 0; i < p.iommuUnits().size(); i++) {
            if (!p.iommuUnits().get(i).isUnused()) {
                lastUsed = i;
            }
        }
        if (lastUsed >= 0) {
            ArrayNode units = po.putArray("iommu_units");
            for (int i = 0; i <= lastUsed; i++) {
                units.add(iommu(p.iommuUnits().get(i)));
            }
        }
        switch (p.arch()) {
            case X86Platform x -> {
                ObjectNode xo = po.putObject("x86");
                putHex(xo, "pm_timer_address", x.pmTimerAddress());
                xo.put("apic_mode", x.apicMode() < X86Platform.APIC_MODE_NAMES.length
                        ? X86Platform.APIC_MODE_NAMES[x.apicMode()] : Integer.toString(x.apicMode()));
                putNum(xo, "padding", x.padding());
                putNum(xo, "vtd_interrupt_limit", x.vtdInterruptLimit());
                putNum(xo, "tsc_khz", x.tscKhz());
                putNum(xo, "apic_khz", x.apicKhz());
            }
            case ArmPlatform a -> {
                ObjectNode ao = po.putObject("arm");
                putNum(ao, "maintenance_irq", a.maintenanceIrq());
                putNum(ao, "gic_version", a.gicVersion());
                putNum(ao, "padding", a.padding());
                putHex(ao, "gicd_base", a.gicdBase());
                putHex(ao, "gicc_base", a.giccBase());
                putHex(ao, "gich_base", a.gichBase());
                putHex(ao, "gicv_base", a.gicvBase());
                putHex(ao, "gicr_base", a.gicrBase());
            }
        }
        o.set("platform", po);
        putHex(o, "root_cell_header", s.rootCellHeader());
        o.set("root_cell", cell(s.rootCell(), false));
        return o;
    }

    private static ObjectNode iommu(IommuUnit u) {
        ObjectNode o = F.objectNode();
        o.put("type", IommuUnit.typeName(u.type()));
        putHex(o, "base", u.base());
        putHex(o, "size", u.size());
        if (u.type() == IommuUnit.TYPE_AMD && u.unionHigh() == 0) {
            if (u.unionLow() != 0) {
                o.put("amd_bdf", PciDevice.formatBdf(u.amdBdf()));
                putHex(o, "amd_base_cap", u.amdBaseCap());
                putHex(o, "amd_msi_cap", u.amdMsiCap());
                putHex(o, "amd_features", u.amdFeatures());
            }
        } else if (u.type() == IommuUnit.TYPE_PVU) {
            putHex(o, "tlb_base", u.unionLow());
            putHex(o, "tlb_size", u.unionHigh());
        } else {
            putHex(o, "union_low", u.unionLow());
            putHex(o, "union_high", u.unionHigh());
        }
        return o;
    }

    private static ObjectNode cell(CellConfig c, boolean standalone) {
        ObjectNode o = F.objectNode();
        if (standalone) {
            o.put("architecture", c.architecture().label());
        }
        if (c.name().chars().allMatch(ch -> ch >= 0x20 && ch <= 0x7e)) {
            o.put("name", c.name());
        } else {
            o.put("name_escaped", escapeName(c.name()));
        }
        putNum(o, "id", c.id());
        putFlags(o, "flags", c.flags(), CellConfig.FLAG_NAMES);
        ArrayNode cpus = o.putArray("cpus");
        for (String part : c.cpus().toRangeList().split(",")) {
            if (!part.isEmpty()) {
                cpus.add(part);
            }
        }
        int defaultSize = ((Math.max(c.cpus().highest(), 0) / 64) + 1) * 8;
        if (c.cpus().sizeBytes() != defaultSize) {
            o.put("cpu_set_size", c.cpus().sizeBytes());
        }
        putHex(o, "cpu_reset_address", c.cpuResetAddress());
        putNum(o, "msg_reply_timeout", c.msgReplyTimeout());
        putNum(o, "vpci_irq_base", c.vpciIrqBase());
        if (!c.console().equals(Console.NONE)) {
            o.set("console", console(c.console()));
        }
        if (!c.memoryRegions().isEmpty()) {
            ArrayNode a = o.putArray("memory_regions");
            c.memoryRegions().forEach(m -> a.add(memory(m)));
        }
        if (!c.cacheRegions().isEmpty()) {
            ArrayNode a = o.putArray("cache_regions");
            for (CacheRegion x : c.cacheRegions()) {
                ObjectNode e = a.addObject();
                putNum(e, "start", x.start());
                putNum(e, "size", x.size());
                if (x.type() != 0) {
                    e.put("type", CacheRegion.typeName(x.type()));
                }
                putNum(e, "padding", x.padding());
                putFlags(e, "flags", x.flags(), CacheRegion.FLAG_NAMES);
            }
        }
        if (!c.irqchips().isEmpty()) {
            ArrayNode a = o.putArray("irqchips");
            for (Irqchip x : c.irqchips()) {
                ObjectNode e = a.addObject();
                putHex(e, "address", x.address());
                putHex(e, "id", x.id());
                putNum(e, "pin_base", x.pinBase());
                ArrayNode pins = e.putArray("pins");
                for (String part : x.pinBitmap().toRangeList().split(",")) {
                    if (!part.isEmpty()) {
                        pins.add(part);
                    }
                }
            }
        }
        if (!c.pioRegions().isEmpty()) {
            ArrayNode a = o.putArray("pio_regions");
            for (PioRange x : c.pioRegions()) {
                ObjectNode e = a.addObject();
                e.put("base", Numbers.hex(x.base()));
                e.put("length", x.length() >= 16 ? Numbers.hex(x.length()) : Integer.toString(x.length()));
            }
        }
        if (!c.pciDevices().isEmpty()) {
            ArrayNode a = o.putArray("pci_devices");
            c.pciDevices().forEach(d -> a.add(pciDevice(d)));
        }
        if (!c.pciCaps().isEmpty()) {
            ArrayNode a = o.putArray("pci_caps");
            for (PciCapability x : c.pciCaps()) {
                ObjectNode e = a.addObject();
                List<String> idName = CAP_IDS.names(x.id());
                e.put("id", idName.size() == 1 ? idName.get(0) : Numbers.hex(x.id()));
                putHex(e, "start", x.start());
                putNum(e, "len", x.len());
                putFlags(e, "flags", x.flags(), PciCapability.FLAG_NAMES);
            }
        }
        if (!c.streamIds().isEmpty()) {
            ArrayNode a = o.putArray("stream_ids");
            c.streamIds().forEach(s -> a.add(Numbers.hex(s)));
        }
        return o;
    }

    private static ObjectNode pciDevice(PciDevice d) {
        ObjectNode e = F.objectNode();
        e.put("type", PciDevice.typeName(d.type()));
        putNum(e, "iommu", d.iommu());
        putHex(e, "domain", d.domain());
        e.put("bdf", PciDevice.formatBdf(d.bdf()));
        if (!d.barMask().equals(PciDevice.BAR_MASK_NONE)) {
            ArrayNode bars = e.putArray("bar_mask");
            d.barMask().forEach(b -> bars.add(Numbers.hex(b)));
        }
        putNum(e, "caps_start", d.capsStart());
        putNum(e, "num_caps", d.numCaps());
        putNum(e, "num_msi_vectors", d.numMsiVectors());
        if (d.msi64Bits()) {
            e.put("msi_64bits", "true");
        }
        if (d.msiMaskable()) {
            e.put("msi_maskable", "true");
        }
        putHex(e, "bitfield_reserved", d.msiBits() & 0xfc);
        putNum(e, "num_msix_vectors", d.numMsixVectors());
        putHex(e, "msix_region_size", d.msixRegionSize());
        putHex(e, "msix_address", d.msixAddress());
        putNum(e, "shmem_regions_start", d.shmemRegionsStart());
        putNum(e, "shmem_dev_id", d.shmemDevId());
        putNum(e, "shmem_peers", d.shmemPeers());
        List<String> emulation = PciDevice.EMULATIONS.names(d.emulation());
        if (d.emulation() != 0 && emulation.size() == 1
                && PciDevice.EMULATIONS.valueOf(emulation.get(0)) == d.emulation()) {
            e.put("emulation", emulation.get(0));
        } else if (d.shmemProtocol() != 0) {
            List<String> n = SHMEM_PROTOCOLS.names(d.shmemProtocol());
            e.put("shmem_protocol", n.size() == 1 && SHMEM_PROTOCOLS.valueOf(n.get(0)) == d.shmemProtocol()
                    ? n.get(0) : Numbers.hex(d.shmemProtocol()));
        }
        return e;
    }

    private static ObjectNode memory(MemoryRegion m) {
        ObjectNode o = F.objectNode();
        putHex(o, "phys_start", m.physStart());
        putHex(o, "virt_start", m.virtStart());
        if (m.size() != 0) {
            o.put("size", Numbers.size(m.size()));
        }
        putFlags(o, "flags", m.flags(), MemoryRegion.FLAG_NAMES);
        return o;
    }

    private static ObjectNode console(Console c) {
        ObjectNode o = F.objectNode();
        o.put("type", Console.typeName(c.type()));
        putHex(o, "address", c.address());
        putHex(o, "size", c.size());
        putFlags(o, "flags", c.flags(), Console.FLAG_NAMES);
        putNum(o, "divider", c.divider());
        putNum(o, "gate_nr", c.gateNr());
        putHex(o, "clock_reg", c.clockReg());
        return o;
    }

    private static void putHex(ObjectNode o, String key, long v) {
        if (v != 0) {
            o.put(key, Numbers.hex(v));
        }
    }

    private static void putNum(ObjectNode o, String key, long v) {
        if (v > 0) {
            o.put(key, v);
        } else if (v < 0) {
            o.put(key, new java.math.BigInteger(Long.toUnsignedString(v)));
        }
    }

    private static void putFlags(ObjectNode o, String key, long v, FlagNames names) {
        if (v != 0) {
            ArrayNode a = o.putArray(key);
            names.names(v).forEach(a::add);
        }
    }
}
