package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class BinaryConfigCodecTest {

    @ParameterizedTest(name = "{0} is {1} bytes, as upstream's")
    @CsvSource({"tiny-demo, 228", "apic-demo, 228", "smp-demo, 216", "pci-demo, 312", "ivshmem-demo, 428"})
    void bundledCellConfigsHaveUpstreamSizes(String name, int size) {
        assertThat(BundledConfigs.cellBytes(name)).hasSize(size);
    }

    @Test
    void tinyDemoStartsWithSignatureArchitectureAndRevision() {
        assertThat(Arrays.copyOf(BundledConfigs.cellBytes("tiny-demo"), 8))
                .containsExactly(0x4A, 0x48, 0x43, 0x4C, 0x4C, 0x00, 0x0E, 0x00);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-demo", "apic-demo", "smp-demo", "pci-demo", "ivshmem-demo", "qemu-vm"})
    void decodeThenEncodeGivesTheSameBytes(String name) throws Exception {
        byte[] bytes = BundledConfigs.cellBytes(name);
        assertThat(BinaryConfigCodec.encode(BinaryConfigCodec.decode(bytes, name))).isEqualTo(bytes);
    }

    @Test
    void decodesEveryFieldOfTinyDemo() throws Exception {
        CellConfig c = (CellConfig) BinaryConfigCodec.decode(BundledConfigs.cellBytes("tiny-demo"), "tiny-demo.cell");
        assertThat(c.name()).isEqualTo("tiny-demo");
        assertThat(c.architecture()).isEqualTo(Architecture.X86);
        assertThat(c.flags()).isEqualTo(CellConfig.PASSIVE_COMMREG | CellConfig.TEST_DEVICE
                | CellConfig.VIRTUAL_CONSOLE_PERMITTED);
        assertThat(c.cpus().sizeBytes()).isEqualTo(8);
        assertThat(c.cpus().bits().toArray()).containsExactly(2);
        assertThat(c.cpuResetAddress()).isEqualTo(0xffff0L);
        assertThat(c.console()).isEqualTo(Console.pio8250(0x3f8));
        assertThat(c.memoryRegions()).containsExactly(
                new MemoryRegion(0x3ee00000L, 0, 0x100000, MemoryRegion.READ | MemoryRegion.WRITE
                        | MemoryRegion.EXECUTE | MemoryRegion.LOADABLE),
                new MemoryRegion(0, 0x100000, 0x1000, MemoryRegion.READ | MemoryRegion.WRITE
                        | MemoryRegion.COMM_REGION));
        assertThat(c.cacheRegions()).containsExactly(new CacheRegion(2, 1, CacheRegion.L3, 0, 0));
        assertThat(c.pioRegions()).containsExactly(new PioRange(0x2f8, 8), new PioRange(0x3f8, 8),
                new PioRange(0xe010, 8));
    }

    @Test
    void decodesTheSystemConfig() throws Exception {
        SystemConfig s = (SystemConfig) BinaryConfigCodec.decode(BundledConfigs.cellBytes("qemu-vm"), "qemu-vm.cell");
        assertThat(s.rootCell().name()).isEqualTo("QEMU-VM");
        assertThat(s.rootCell().cpus().toRangeList()).isEqualTo("0-3");
        assertThat(s.hypervisorMemory().physStart()).isEqualTo(0x3a000000L);
        assertThat(s.hypervisorMemory().size()).isEqualTo(6L << 20);
        assertThat(s.x86().pmTimerAddress()).isEqualTo(0x608);
        assertThat(s.platform().pciMmconfigBase()).isEqualTo(0xb0000000L);
        assertThat(s.platform().mmconfigSize()).isEqualTo(256L << 20);
        assertThat(s.hasFlag(SystemConfig.VIRTUAL_DEBUG_CONSOLE)).isTrue();
        assertThat(s.rootCell().pciDevices()).singleElement()
                .satisfies(d -> assertThat(PciDevice.formatBdf(d.bdf())).isEqualTo("01:0e.0"));
    }

    /** A minimal cell config with the given arrays, built by hand to test the decoder's error paths. */
    private static ByteBuffer cellHeader(int cpuSetSize, int... counts) {
        ByteBuffer b = ByteBuffer.allocate(CellConfig.DESC_BYTES + cpuSetSize).order(ByteOrder.LITTLE_ENDIAN);
        b.put("JHCLL".getBytes(StandardCharsets.US_ASCII)).put((byte) 0).putShort((short) 14);
        b.put("x".getBytes(StandardCharsets.US_ASCII));
        b.position(48);
        b.putInt(cpuSetSize);
        for (int c : counts) {
            b.putInt(c);
        }
        return b;
    }

    private static ConfigFormatException decodeError(byte[] bytes) {
        try {
            BinaryConfigCodec.decode(bytes, "bad.cell");
        } catch (ConfigFormatException e) {
            return e;
        }
        throw new AssertionError("decoded without error");
    }

    @Test
    void refusesAWrongSignature() {
        byte[] b = BundledConfigs.cellBytes("tiny-demo");
        b[2] = 'X';
        ConfigFormatException e = decodeError(b);
        assertThat(e.getMessage()).isEqualTo("bad.cell: byte 0 (signature): not a Jailhouse configuration: "
                + "signature 4A 48 58 4C 4C is neither \"JHSYS\" nor \"JHCLL\"");
    }

    @Test
    void namesTheRevisionOfAnOlderFile() {
        ByteBuffer b = ByteBuffer.allocate(200).order(ByteOrder.LITTLE_ENDIAN);
        b.put("JHCELL".getBytes(StandardCharsets.US_ASCII)).putShort((short) 13);
        ConfigFormatException e = decodeError(b.array());
        assertThat(e.getMessage()).contains("byte 6 (revision)", "revision 13", "only revision 14 is read");
    }

    @Test
    void refusesAnotherRevisionWithTheNewSignature() {
        byte[] b = BundledConfigs.cellBytes("tiny-demo");
        b[6] = 15;
        assertThat(decodeError(b).getMessage()).contains("byte 6 (revision)", "revision 15", "only revision 14");
    }

    @Test
    void refusesAnUnknownArchitecture() {
        byte[] b = BundledConfigs.cellBytes("tiny-demo");
        b[5] = 7;
        assertThat(decodeError(b).getMessage()).contains("byte 5 (architecture)", "unknown architecture 7");
    }

    @Test
    void refusesTruncation() {
        byte[] b = BundledConfigs.cellBytes("tiny-demo");
        assertThat(decodeError(Arrays.copyOf(b, 4)).getMessage()).contains("truncated");
        assertThat(decodeError(Arrays.copyOf(b, 100)).getMessage()).contains("truncated", "cell descriptor");
        assertThat(decodeError(Arrays.copyOf(b, 200)).getMessage())
                .contains("num_memory_regions", "do not fit the file of 200 bytes");
        byte[] sys = BundledConfigs.cellBytes("qemu-vm");
        assertThat(decodeError(Arrays.copyOf(sys, 400)).getMessage()).contains("truncated");
    }

    @Test
    void refusesCountsThatDoNotFitWithoutAllocatingForThem() {
        ByteBuffer b = cellHeader(8, 0x7fffffff);
        ConfigFormatException e = decodeError(b.array());
        assertThat(e.getMessage()).isEqualTo("bad.cell: byte 52 (num_memory_regions): 2147483647 entries of 32 "
                + "bytes from byte 140 do not fit the file of 140 bytes");
        assertThat(decodeError(cellHeader(8, 0, 0, 0, 0, 0, 0, -1).array()).getMessage())
                .contains("num_stream_ids", "4294967295 entries");
    }

    @Test
    void refusesACpuSetLargerThan4096Bytes() {
        ByteBuffer b = cellHeader(0);
        b.putInt(48, 4097);
        assertThat(decodeError(b.array()).getMessage())
                .isEqualTo("bad.cell: byte 48 (cpu_set_size): 4097 bytes exceeds the maximum of 4096");
    }

    @Test
    void refusesANameWithoutNul() {
        byte[] b = BundledConfigs.cellBytes("tiny-demo");
        Arrays.fill(b, 8, 40, (byte) 'a');
        assertThat(decodeError(b).getMessage()).contains("byte 8 (name)", "not NUL-terminated");
    }

    @Test
    void refusesBytesAfterTheNameTerminator() {
        byte[] b = BundledConfigs.cellBytes("tiny-demo");
        b[30] = 'z';
        assertThat(decodeError(b).getMessage()).contains("byte 30 (name)");
    }

    @Test
    void ignoresTrailingBytesAsUpstreamsDriverDoes() throws Exception {
        byte[] exact = BundledConfigs.cellBytes("tiny-demo");
        for (byte[] longer : new byte[][] {Arrays.copyOf(exact, 230), concat(exact, new byte[56]),
            concat(exact, "JHCLL junk".getBytes(java.nio.charset.StandardCharsets.US_ASCII))}) {
            JailhouseConfig c = BinaryConfigCodec.decode(longer, "x.cell");
            assertThat(BinaryConfigCodec.encode(c)).isEqualTo(exact);
            assertThat(BinaryConfigCodec.trailingBytes(longer, c)).isEqualTo(longer.length - 228);
        }
        byte[] sys = BundledConfigs.cellBytes("qemu-vm");
        JailhouseConfig s = BinaryConfigCodec.decode(concat(sys, new byte[3]), "s.cell");
        assertThat(BinaryConfigCodec.encode(s)).isEqualTo(sys);
        assertThat(decodeError(Arrays.copyOf(exact, 227)).getMessage()).as("shorter is still refused")
                .contains("do not fit the file of 227 bytes");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void refusesNonZeroUnusedX86PlatformBytes() {
        byte[] b = BundledConfigs.cellBytes("qemu-vm");
        b[340] = 1;
        assertThat(decodeError(b).getMessage()).contains("byte 340 (platform_info.x86)");
    }

    @Test
    void keepsUnionsPaddingAndRootHeaderBytes() throws Exception {
        byte[] b = BundledConfigs.cellBytes("qemu-vm");
        b[88] = IommuUnit.TYPE_AMD;
        b[88 + 16] = 0x12;
        b[88 + 24] = 0x34; // high union word: not part of the AMD view, still kept
        b[315] = 5; // x86 padding
        b[356] = 'J';
        SystemConfig s = (SystemConfig) BinaryConfigCodec.decode(b, "x");
        assertThat(s.platform().iommuUnits().get(0).amdBdf()).isEqualTo(0x12);
        assertThat(s.platform().usedIommuUnits()).hasSize(1);
        assertThat(BinaryConfigCodec.encode(s)).isEqualTo(b);
        assertThat(TextConfigCodec.decode(TextConfigCodec.encode(s, TextConfigCodec.Format.YAML), "y",
                TextConfigCodec.Format.YAML)).isEqualTo(s);
    }

    @Test
    void encodesAHandBuiltCell() throws Exception {
        CellConfig c = new CellConfig(Architecture.X86, "demo", 0, CellConfig.PASSIVE_COMMREG, Bitmap.ofWords(1),
                List.of(new MemoryRegion(0x1000, 0, 0x1000, MemoryRegion.READ)), List.of(), List.of(),
                List.of(new PioRange(0x3f8, 8)), List.of(), List.of(), List.of(), 0, 0, 0, Console.NONE);
        byte[] b = BinaryConfigCodec.encode(c);
        assertThat(b).hasSize(132 + 8 + 32 + 4);
        assertThat(BinaryConfigCodec.decode(b, "x")).isEqualTo(c);
    }

    @Test
    void refusesNamesThatDoNotFit() {
        assertThatThrownBy(() -> CellConfig.checkName("x".repeat(32))).hasMessageContaining("at most 31");
        assertThatThrownBy(() -> CellConfig.checkName("a\u0000b")).hasMessageContaining("U+0000");
    }
}
