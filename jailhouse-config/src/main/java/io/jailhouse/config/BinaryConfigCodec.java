package io.jailhouse.config;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads and writes upstream's binary {@code .cell} format, revision 14
 * (spec section 1), byte-exactly: {@code encode(decode(bytes))} equals
 * {@code bytes} for every file that decodes.
 *
 * <p>Decoding trusts nothing in the file: every count is checked against the
 * bytes that are really there before anything is allocated for it, so a
 * hostile file costs at most its own size.
 */
public final class BinaryConfigCodec {
    public static final int REVISION = 14;
    public static final byte[] SYSTEM_SIGNATURE = "JHSYS".getBytes(StandardCharsets.US_ASCII);
    public static final byte[] CELL_SIGNATURE = "JHCLL".getBytes(StandardCharsets.US_ASCII);
    /** Signatures of revisions 1 to 13, which had 6 bytes and no architecture byte. */
    private static final byte[] OLD_SYSTEM_SIGNATURE = "JHSYST".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OLD_CELL_SIGNATURE = "JHCELL".getBytes(StandardCharsets.US_ASCII);

    private static final int X86_ARCH_OFFSET = 312;

    private BinaryConfigCodec() {
    }

    /** Whether these bytes start like a binary config of any revision (for format sniffing). */
    public static boolean looksBinary(byte[] head) {
        return startsWith(head, SYSTEM_SIGNATURE) || startsWith(head, CELL_SIGNATURE);
    }

    /**
     * Decodes a configuration from the start of {@code data}. Bytes after the
     * configuration are ignored, as upstream's driver ignores them (it only
     * refuses a file shorter than the configuration it describes); see
     * {@link #trailingBytes}.
     */
    public static JailhouseConfig decode(byte[] data, String source) throws ConfigFormatException {
        Reader r = new Reader(data, source);
        if (data.length < 8) {
            throw r.error(0, "signature", "truncated: " + data.length
                    + " bytes is too short for a configuration header");
        }
        boolean system;
        if (startsWith(data, SYSTEM_SIGNATURE)) {
            system = true;
        } else if (startsWith(data, CELL_SIGNATURE)) {
            system = false;
        } else if (startsWith(data, OLD_SYSTEM_SIGNATURE) || startsWith(data, OLD_CELL_SIGNATURE)) {
            int rev = r.u16(6, "revision");
            throw r.error(6, "revision", "configuration revision " + rev + " (6-byte signature "
                    + new String(data, 0, 6, StandardCharsets.ISO_8859_1) + "); only revision " + REVISION
                    + " is read: rebuild the config against the current headers");
        } else {
            throw r.error(0, "signature", "not a Jailhouse configuration: signature "
                    + hexBytes(data, 0, 5) + " is neither \"JHSYS\" nor \"JHCLL\"");
        }
        Architecture arch = r.architecture(5);
        int revision = r.u16(6, "revision");
        if (revision != REVISION) {
            throw r.error(6, "revision", "configuration revision " + revision + "; only revision " + REVISION
                    + " is read" + (revision < REVISION ? ": rebuild the config against the current headers" : ""));
        }
        if (system) {
            return decodeSystem(r, arch);
        }
        return decodeCell(r, 0, arch);
    }

    /** The bytes of {@code data} after {@code config}, which was decoded from it. */
    public static long trailingBytes(byte[] data, JailhouseConfig config) {
        return data.length - config.encodedSize();
    }

    private static SystemConfig decodeSystem(Reader r, Architecture arch) throws ConfigFormatException {
        r.need(0, SystemConfig.HEADER_BYTES, "system header");
        long flags = r.u32(8, "flags");
        MemoryRegion hvMem = r.memory(12);
        Console debug = r.console(44, "debug_console");
        long mmcfg = r.u64(76, "pci_mmconfig_base");
        int endBus = r.u8(84);
        int isVirtual = r.u8(85);
        int domain = r.u16(86, "pci_domain");
        List<IommuUnit> iommus = new ArrayList<>(IommuUnit.SLOTS);
        for (int i = 0; i < IommuUnit.SLOTS; i++) {
            int o = 88 + i * IommuUnit.BYTES;
            iommus.add(new IommuUnit(r.u32(o, "iommu_units[" + i + "].type"), r.u64(o + 4, null),
                    r.u32(o + 12, null), r.u64(o + 16, null), r.u32(o + 24, null)));
        }
        int a = X86_ARCH_OFFSET;
        ArchPlatform archPlatform;
        if (arch == Architecture.X86) {
            for (int i = a + X86Platform.USED_BYTES; i < a + ArchPlatform.BYTES; i++) {
                if (r.u8(i) != 0) {
                    throw r.error(i, "platform_info.x86", "unused bytes 328..355 of the x86 platform info must be zero");
                }
            }
            archPlatform = new X86Platform(r.u16(a, null), r.u8(a + 2), r.u8(a + 3), r.u32(a + 4, null),
                    r.u32(a + 8, null), r.u32(a + 12, null));
        } else {
            archPlatform = new ArmPlatform(r.u8(a), r.u8(a + 1), r.u16(a + 2, null), r.u64(a + 4, null),
                    r.u64(a + 12, null), r.u64(a + 20, null), r.u64(a + 28, null), r.u64(a + 36, null));
        }
        PlatformInfo platform = new PlatformInfo(mmcfg, endBus, isVirtual, domain, iommus, archPlatform);
        long rootHeader = r.u64(SystemConfig.ROOT_CELL_OFFSET, "root_cell.signature");
        CellConfig root = decodeCell(r, SystemConfig.ROOT_CELL_OFFSET, arch);
        return new SystemConfig(arch, flags, hvMem, debug, platform, root, rootHeader);
    }

    /** Decodes the cell descriptor at {@code base} and its arrays, which follow it. */
    private static CellConfig decodeCell(Reader r, int base, Architecture arch) throws ConfigFormatException {
        r.need(base, CellConfig.DESC_BYTES, "cell descriptor");
        String name = r.name(base + 8);
        long id = r.u32(base + 40, "id");
        long flags = r.u32(base + 44, "flags");
        long cpuSetSize = r.u32(base + 48, "cpu_set_size");
        if (cpuSetSize > CellConfig.MAX_CPU_SET_BYTES) {
            throw r.error(base + 48, "cpu_set_size", cpuSetSize + " bytes exceeds the maximum of "
                    + CellConfig.MAX_CPU_SET_BYTES);
        }
        String[] countNames = {"num_memory_regions", "num_cache_regions", "num_irqchips", "num_pio_regions",
            "num_pci_devices", "num_pci_caps", "num_stream_ids"};
        int[] elementSizes = {MemoryRegion.BYTES, CacheRegion.BYTES, Irqchip.BYTES, PioRange.BYTES,
            PciDevice.BYTES, PciCapability.BYTES, CellConfig.STREAM_ID_BYTES};
        long[] counts = new long[countNames.length];
        // Check every array against the bytes really present before allocating any.
        long cursor = (long) base + CellConfig.DESC_BYTES;
        if (cursor + cpuSetSize > r.length()) {
            throw r.error(base + 48, "cpu_set_size", "the CPU set of " + cpuSetSize + " bytes at byte " + cursor
                    + " does not fit the file of " + r.length() + " bytes");
        }
        cursor += cpuSetSize;
        for (int i = 0; i < counts.length; i++) {
            counts[i] = r.u32(base + 52 + 4 * i, countNames[i]);
            long need = counts[i] * elementSizes[i];
            if (cursor + need > r.length()) {
                throw r.error(base + 52 + 4 * i, countNames[i], counts[i] + " entries of " + elementSizes[i]
                        + " bytes from byte " + cursor + " do not fit the file of " + r.length() + " bytes");
            }
            cursor += need;
        }
        long vpciIrqBase = r.u32(base + 80, "vpci_irq_base");
        long resetAddress = r.u64(base + 84, "cpu_reset_address");
        long msgTimeout = r.u64(base + 92, "msg_reply_timeout");
        Console console = r.console(base + 100, "console");

        int o = base + CellConfig.DESC_BYTES;
        Bitmap cpus = Bitmap.ofBytes(Arrays.copyOfRange(r.data, o, o + (int) cpuSetSize));
        o += (int) cpuSetSize;
        List<MemoryRegion> mem = new ArrayList<>((int) counts[0]);
        for (int i = 0; i < counts[0]; i++, o += MemoryRegion.BYTES) {
            mem.add(r.memory(o));
        }
        List<CacheRegion> caches = new ArrayList<>((int) counts[1]);
        for (int i = 0; i < counts[1]; i++, o += CacheRegion.BYTES) {
            caches.add(new CacheRegion(r.u32(o, null), r.u32(o + 4, null), r.u8(o + 8), r.u8(o + 9),
                    r.u16(o + 10, null)));
        }
        List<Irqchip> irqchips = new ArrayList<>((int) counts[2]);
        for (int i = 0; i < counts[2]; i++, o += Irqchip.BYTES) {
            irqchips.add(new Irqchip(r.u64(o, null), r.u32(o + 8, null), r.u32(o + 12, null),
                    Bitmap.ofBytes(Arrays.copyOfRange(r.data, o + 16, o + 32))));
        }
        List<PioRange> pio = new ArrayList<>((int) counts[3]);
        for (int i = 0; i < counts[3]; i++, o += PioRange.BYTES) {
            pio.add(new PioRange(r.u16(o, null), r.u16(o + 2, null)));
        }
        List<PciDevice> pci = new ArrayList<>((int) counts[4]);
        for (int i = 0; i < counts[4]; i++, o += PciDevice.BYTES) {
            List<Long> bars = new ArrayList<>(6);
            for (int b = 0; b < 6; b++) {
                bars.add(r.u32(o + 6 + 4 * b, null));
            }
            pci.add(new PciDevice(r.u8(o), r.u8(o + 1), r.u16(o + 2, null), r.u16(o + 4, null), bars,
                    r.u16(o + 30, null), r.u16(o + 32, null), r.u8(o + 34), r.u8(o + 35), r.u16(o + 36, null),
                    r.u16(o + 38, null), r.u64(o + 40, null), r.u32(o + 48, null), r.u8(o + 52), r.u8(o + 53),
                    r.u16(o + 54, null)));
        }
        List<PciCapability> caps = new ArrayList<>((int) counts[5]);
        for (int i = 0; i < counts[5]; i++, o += PciCapability.BYTES) {
            caps.add(new PciCapability(r.u16(o, null), r.u16(o + 2, null), r.u16(o + 4, null), r.u16(o + 6, null)));
        }
        List<Long> streams = new ArrayList<>((int) counts[6]);
        for (int i = 0; i < counts[6]; i++, o += CellConfig.STREAM_ID_BYTES) {
            streams.add(r.u32(o, null));
        }
        return new CellConfig(arch, name, id, flags, cpus, mem, caches, irqchips, pio, pci, caps, streams,
                vpciIrqBase, resetAddress, msgTimeout, console);
    }

    public static byte[] encode(JailhouseConfig config) {
        return switch (config) {
            case SystemConfig s -> encodeSystem(s);
            case CellConfig c -> encodeCell(c);
        };
    }

    private static byte[] encodeSystem(SystemConfig s) {
        ByteBuffer b = buffer(s.encodedSize());
        b.put(SYSTEM_SIGNATURE).put((byte) s.architecture().code()).putShort((short) REVISION);
        b.putInt((int) s.flags());
        putMemory(b, s.hypervisorMemory());
        putConsole(b, s.debugConsole());
        PlatformInfo p = s.platform();
        b.putLong(p.pciMmconfigBase()).put((byte) p.pciMmconfigEndBus()).put((byte) p.pciIsVirtual())
                .putShort((short) p.pciDomain());
        for (IommuUnit u : p.iommuUnits()) {
            b.putInt((int) u.type()).putLong(u.base()).putInt((int) u.size()).putLong(u.unionLow())
                    .putInt((int) u.unionHigh());
        }
        int archStart = b.position();
        switch (p.arch()) {
            case X86Platform x -> b.putShort((short) x.pmTimerAddress()).put((byte) x.apicMode())
                    .put((byte) x.padding()).putInt((int) x.vtdInterruptLimit()).putInt((int) x.tscKhz())
                    .putInt((int) x.apicKhz());
            case ArmPlatform a -> b.put((byte) a.maintenanceIrq()).put((byte) a.gicVersion())
                    .putShort((short) a.padding()).putLong(a.gicdBase()).putLong(a.giccBase())
                    .putLong(a.gichBase()).putLong(a.gicvBase()).putLong(a.gicrBase());
        }
        b.position(archStart + ArchPlatform.BYTES);
        b.putLong(s.rootCellHeader());
        putCell(b, s.rootCell());
        return b.array();
    }

    private static byte[] encodeCell(CellConfig c) {
        ByteBuffer b = buffer(c.encodedSize());
        b.put(CELL_SIGNATURE).put((byte) c.architecture().code()).putShort((short) REVISION);
        putCell(b, c);
        return b.array();
    }

    /** Writes a cell descriptor from its name field on (the 8 header bytes are already written). */
    private static void putCell(ByteBuffer b, CellConfig c) {
        byte[] name = c.name().getBytes(StandardCharsets.ISO_8859_1);
        b.put(name).put(new byte[CellConfig.NAME_BYTES - name.length]);
        b.putInt((int) c.id()).putInt((int) c.flags()).putInt(c.cpus().sizeBytes())
                .putInt(c.memoryRegions().size()).putInt(c.cacheRegions().size()).putInt(c.irqchips().size())
                .putInt(c.pioRegions().size()).putInt(c.pciDevices().size()).putInt(c.pciCaps().size())
                .putInt(c.streamIds().size()).putInt((int) c.vpciIrqBase()).putLong(c.cpuResetAddress())
                .putLong(c.msgReplyTimeout());
        putConsole(b, c.console());
        b.put(c.cpus().toByteArray());
        c.memoryRegions().forEach(m -> putMemory(b, m));
        for (CacheRegion x : c.cacheRegions()) {
            b.putInt((int) x.start()).putInt((int) x.size()).put((byte) x.type()).put((byte) x.padding())
                    .putShort((short) x.flags());
        }
        for (Irqchip x : c.irqchips()) {
            b.putLong(x.address()).putInt((int) x.id()).putInt((int) x.pinBase()).put(x.pinBitmap().toByteArray());
        }
        for (PioRange x : c.pioRegions()) {
            b.putShort((short) x.base()).putShort((short) x.length());
        }
        for (PciDevice d : c.pciDevices()) {
            b.put((byte) d.type()).put((byte) d.iommu()).putShort((short) d.domain()).putShort((short) d.bdf());
            d.barMask().forEach(m -> b.putInt(m.intValue()));
            b.putShort((short) d.capsStart()).putShort((short) d.numCaps()).put((byte) d.numMsiVectors())
                    .put((byte) d.msiBits()).putShort((short) d.numMsixVectors())
                    .putShort((short) d.msixRegionSize()).putLong(d.msixAddress())
                    .putInt((int) d.shmemRegionsStart()).put((byte) d.shmemDevId()).put((byte) d.shmemPeers())
                    .putShort((short) d.shmemProtocol());
        }
        for (PciCapability x : c.pciCaps()) {
            b.putShort((short) x.id()).putShort((short) x.start()).putShort((short) x.len())
                    .putShort((short) x.flags());
        }
        c.streamIds().forEach(s -> b.putInt(s.intValue()));
    }

    private static void putMemory(ByteBuffer b, MemoryRegion m) {
        b.putLong(m.physStart()).putLong(m.virtStart()).putLong(m.size()).putLong(m.flags());
    }

    private static void putConsole(ByteBuffer b, Console c) {
        b.putLong(c.address()).putInt((int) c.size()).putShort((short) c.type()).putShort((short) c.flags())
                .putInt((int) c.divider()).putInt((int) c.gateNr()).putLong(c.clockReg());
    }

    private static ByteBuffer buffer(long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("configuration of " + size + " bytes is too large to encode");
        }
        return ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        return data.length >= prefix.length && Arrays.equals(data, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static String hexBytes(byte[] data, int from, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < Math.min(data.length, from + n); i++) {
            sb.append(i == from ? "" : " ").append(String.format("%02X", data[i]));
        }
        return sb.toString();
    }

    /** Bounds-checked little-endian access to the file's bytes, with errors naming the offset. */
    private static final class Reader {
        final byte[] data;
        final String source;
        final ByteBuffer buf;

        Reader(byte[] data, String source) {
            this.data = data;
            this.source = source;
            this.buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        int length() {
            return data.length;
        }

        ConfigFormatException error(long offset, String field, String problem) {
            return new ConfigFormatException(source, offset, field, problem);
        }

        void need(int offset, int bytes, String what) throws ConfigFormatException {
            if ((long) offset + bytes > data.length) {
                throw error(data.length, what, "truncated: the " + what + " needs " + bytes + " bytes from byte "
                        + offset + ", the file has " + data.length);
            }
        }

        int u8(int o) {
            return data[o] & 0xff;
        }

        int u16(int o, String field) throws ConfigFormatException {
            check(o, 2, field);
            return buf.getShort(o) & 0xffff;
        }

        long u32(int o, String field) throws ConfigFormatException {
            check(o, 4, field);
            return buf.getInt(o) & 0xffffffffL;
        }

        long u64(int o, String field) throws ConfigFormatException {
            check(o, 8, field);
            return buf.getLong(o);
        }

        private void check(int o, int n, String field) throws ConfigFormatException {
            if ((long) o + n > data.length) {
                throw error(o, field, "truncated: field needs " + n + " bytes, the file has " + data.length);
            }
        }

        Architecture architecture(int o) throws ConfigFormatException {
            Architecture a = Architecture.ofCode(u8(o));
            if (a == null) {
                throw error(o, "architecture", "unknown architecture " + u8(o) + " (0 = x86, 1 = arm, 2 = arm64)");
            }
            return a;
        }

        String name(int o) throws ConfigFormatException {
            int nul = -1;
            for (int i = 0; i < CellConfig.NAME_BYTES; i++) {
                if (data[o + i] == 0) {
                    nul = i;
                    break;
                }
            }
            if (nul < 0) {
                throw error(o, "name", "cell name is not NUL-terminated within " + CellConfig.NAME_BYTES + " bytes");
            }
            for (int i = nul + 1; i < CellConfig.NAME_BYTES; i++) {
                if (data[o + i] != 0) {
                    throw error(o + i, "name", "bytes after the cell name's NUL terminator must be zero");
                }
            }
            return new String(data, o, nul, StandardCharsets.ISO_8859_1);
        }

        MemoryRegion memory(int o) throws ConfigFormatException {
            return new MemoryRegion(u64(o, null), u64(o + 8, null), u64(o + 16, null), u64(o + 24, null));
        }

        Console console(int o, String field) throws ConfigFormatException {
            return new Console(u64(o, field), u32(o + 8, field), u16(o + 12, field), u16(o + 14, field),
                    u32(o + 16, field), u32(o + 20, field), u64(o + 24, field));
        }
    }
}
