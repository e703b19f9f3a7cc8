package io.jailhouse.cli.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.cli.linux.LinuxBootLayout.E820Entry;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The zero page, setup_data and placement of `cell linux` (spec 14), byte for byte. */
public class LinuxBootParamsTest {
    static final long PREF = 0x1000000;
    static final long INIT_SIZE = 0xa00000;
    static final int SETUP_SECTS = 0x1b;
    static final int IMAGE_BYTES = 0x150000;

    /** A bzImage's first bytes as the kernel's build lays them out (boot protocol 2.15, lz4 payload). */
    public static byte[] bzImage(int protocol, int xloadflags) {
        byte[] b = new byte[IMAGE_BYTES];
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.put(0x1f1, (byte) SETUP_SECTS);
        h.putShort(0x1fe, (short) 0xaa55);
        h.put(0x200, (byte) 0xeb).put(0x201, (byte) 0x6a); // jmp short: the header ends at 0x26c
        h.putInt(0x202, 0x53726448);
        h.putShort(0x206, (short) protocol);
        h.put(0x211, (byte) 0x01); // loadflags: LOADED_HIGH, kept in the copy
        h.putShort(0x236, (short) xloadflags);
        h.putInt(0x238, 2047);
        h.putInt(0x248, 0x3a0); // payload_offset
        h.putLong(0x258, PREF);
        h.putInt(0x260, (int) INIT_SIZE);
        h.putInt(0x264, 0x190); // handover_offset: the header's last field here
        h.putInt(0x270, 0x12345678); // after the header's end (0x26c): not copied
        int payload = (SETUP_SECTS + 1) * 512 + 0x3a0;
        h.put(payload, (byte) 0x02).put(payload + 1, (byte) 0x21).put(payload + 2, (byte) 0x4c).put(payload + 3, (byte) 0x18);
        return b;
    }

    static CellConfig linuxDemo() throws Exception {
        return ConfigFiles.read(Path.of("../configs/x86/linux-demo.yaml"), CellConfig.class);
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void theSetupHeaderIsReadAsTheBootProtocolDefinesIt() throws Exception {
        BzImage k = BzImage.parse("bzImage", bzImage(0x020f, 0x7f));
        assertThat(k.setupSects()).isEqualTo(SETUP_SECTS);
        assertThat(k.protocol()).isEqualTo(0x020f);
        assertThat(k.prefAddress()).isEqualTo(PREF);
        assertThat(k.initSize()).isEqualTo(INIT_SIZE);
        assertThat(k.cmdlineSize()).isEqualTo(2047);
        assertThat(k.compression()).isEqualTo(BzImage.Compression.LZ4);
        assertThat(k.loadAddress()).isEqualTo(PREF - (SETUP_SECTS + 1) * 512L);
        assertThat(k.setupHeader()).hasSize(0x26c - 0x1f0);
    }

    @Test
    void whatIsNoUsableBzImageIsRefusedWithTheReason() {
        assertThatThrownBy(() -> BzImage.parse("k", new byte[100])).hasMessageContaining("k: 100 bytes, too short");
        byte[] noMagic = bzImage(0x020f, 1);
        noMagic[0x202] = 'X';
        assertThatThrownBy(() -> BzImage.parse("k", noMagic)).hasMessageContaining("not a Linux bzImage");
        assertThatThrownBy(() -> BzImage.parse("k", bzImage(0x020a, 1))).hasMessageContaining("boot protocol 2.10");
        assertThatThrownBy(() -> BzImage.parse("k", bzImage(0x020f, 0))).hasMessageContaining("no 64-bit entry");
    }

    @Test
    void theKernelGoesToItsPreferredAddressAndTheInitrdAfterItsDecompressionSpace() throws Exception {
        BzImage k = BzImage.parse("bzImage", bzImage(0x020f, 1));
        LinuxBootLayout l = LinuxBootLayout.of(linuxDemo(), k, 700_000, OptionalInt.empty(), 10);
        assertThat(l.kernelAddress()).isEqualTo(k.loadAddress());
        // Upstream's lz4 factor (6) puts it at load + 6 x 1.3 MiB = inside [pref, pref + init_size): moved up.
        assertThat(k.loadAddress() + 6L * IMAGE_BYTES).isLessThan(PREF + INIT_SIZE);
        assertThat(l.initrdAddress()).isEqualTo(PREF + INIT_SIZE);
        // A larger -k than the window is kept, page-aligned.
        LinuxBootLayout far = LinuxBootLayout.of(linuxDemo(), k, 700_000, OptionalInt.of(9), 10);
        assertThat(far.initrdAddress()).isEqualTo(LinuxBootLayout.pageAlign(k.loadAddress() + 9L * IMAGE_BYTES))
                .isGreaterThan(PREF + INIT_SIZE);
        assertThat(l.memoryMap()).containsExactly(new E820Entry(0, 0x100000, 1), new E820Entry(0x100000, 0x1000, 2),
                new E820Entry(0x200000, 0x4700000, 1));
        assertThat(l.standardIoapic()).isTrue();
        assertThat(l.uartFlags()).isEqualTo(0b11); // 0x3f8 and 0x2f8; 0xe010 is none of the four
    }

    @Test
    void theZeroPageSetupDataAndCommandLineAreWhereTheKernelAndTheLoaderLook() throws Exception {
        byte[] image = bzImage(0x020f, 1);
        BzImage k = BzImage.parse("bzImage", image);
        byte[] cmdline = "console=ttyS0 x".getBytes(StandardCharsets.US_ASCII);
        LinuxBootLayout l = LinuxBootLayout.of(linuxDemo(), k, 4096, OptionalInt.empty(), cmdline.length);
        byte[] p = LinuxBootParams.encode(k, l, cmdline);
        ByteBuffer b = le(p);

        assertThat(p).hasSize(0x112c + cmdline.length + 1);
        assertThat(p[0x1e8]).isEqualTo((byte) 3);
        // The setup header is the file's, from 0x1f0 to its end, but for the fields the tool sets.
        assertThat(p[0x1f1]).isEqualTo((byte) SETUP_SECTS);
        assertThat(b.getInt(0x202)).isEqualTo(0x53726448);
        assertThat(p[0x211]).isEqualTo((byte) 1);
        assertThat(b.getLong(0x258)).isEqualTo(PREF);
        assertThat(b.getInt(0x260)).isEqualTo((int) INIT_SIZE);
        assertThat(b.getInt(0x264)).isEqualTo(0x190);
        assertThat(b.getInt(0x270)).isZero();
        assertThat(p[0x210] & 0xff).isEqualTo(0xff);
        assertThat(b.getInt(0x218)).isEqualTo((int) l.initrdAddress());
        assertThat(b.getInt(0x21c)).isEqualTo(4096);
        assertThat(b.getInt(0x228)).isEqualTo(0x212c);
        assertThat(b.getLong(0x230)).isEqualTo(PREF); // kernel_alignment, as upstream's loader reads it
        assertThat(b.getLong(0x250)).isEqualTo(0x2000);
        assertThat(b.getLong(0x2d0)).isZero();
        assertThat(b.getLong(0x2d8)).isEqualTo(0x100000);
        assertThat(b.getInt(0x2e0)).isEqualTo(1);
        assertThat(b.getLong(0x2e4)).isEqualTo(0x100000);
        assertThat(b.getLong(0x2ec)).isEqualTo(0x1000);
        assertThat(b.getInt(0x2f4)).isEqualTo(2);
        assertThat(b.getLong(0x2f8)).isEqualTo(0x200000);
        assertThat(b.getLong(0x300)).isEqualTo(0x4700000);
        assertThat(b.getInt(0x308)).isEqualTo(1);
        assertThat(Arrays.copyOfRange(p, 0x30c, 0x1000)).containsOnly(0);

        int sd = 0x1000;
        assertThat(b.getLong(sd)).isZero();
        assertThat(b.getInt(sd + 8)).isEqualTo(6);
        assertThat(b.getInt(sd + 12)).isEqualTo(284);
        assertThat(b.getShort(sd + 16)).isEqualTo((short) 2);
        assertThat(b.getShort(sd + 18)).isEqualTo((short) 1);
        // pm_timer_address, num_cpus, pci_mmconfig_base, tsc_khz, apic_khz: the loader's
        assertThat(Arrays.copyOfRange(p, sd + 20, sd + 40)).containsOnly(0);
        assertThat(p[sd + 40]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(p, sd + 41, sd + 296)).containsOnly(0); // cpu_ids: the loader's
        assertThat(b.getInt(sd + 296)).isEqualTo(0b11);

        assertThat(Arrays.copyOfRange(p, 0x112c, 0x112c + cmdline.length)).isEqualTo(cmdline);
        assertThat(p[p.length - 1]).isZero();
    }

    @Test
    void aCellThatCannotBootLinuxIsRefusedWithWhatIsWrongAndWhere() throws Exception {
        BzImage k = BzImage.parse("bzImage", bzImage(0x020f, 1));
        CellConfig demo = linuxDemo();
        assertThatThrownBy(() -> LinuxBootLayout.of(demo.withCpuResetAddress(0xffff0), k, 0, OptionalInt.empty(), 0))
                .hasMessageContaining("cell \"linux-demo\": cpu_reset_address is 0xffff0");
        CellConfig small = demo.withMemoryRegions(demo.memoryRegions().stream()
                .map(r -> r.virtStart() == 0x200000 ? new io.jailhouse.config.MemoryRegion(r.physStart(), r.virtStart(),
                        0x1000000, r.flags()) : r).toList());
        assertThatThrownBy(() -> LinuxBootLayout.of(small, k, 0, OptionalInt.empty(), 0))
                .hasMessageContaining("the kernel and its decompression space")
                .hasMessageContaining(String.format("0x%x-0x%x", k.loadAddress(), PREF + INIT_SIZE - 1));
        assertThatThrownBy(() -> LinuxBootLayout.of(demo, k, 0x5000000, OptionalInt.empty(), 0))
                .hasMessageContaining("the initrd (83886080 bytes)");
        assertThatThrownBy(() -> LinuxBootLayout.of(demo, k, 0, OptionalInt.empty(), 3000))
                .hasMessageContaining("the command line has 3000 bytes; at most 2047");
    }
}
