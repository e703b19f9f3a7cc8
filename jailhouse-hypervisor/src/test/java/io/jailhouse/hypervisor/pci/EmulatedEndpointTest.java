package io.jailhouse.hypervisor.pci;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.PciCapability;
import io.jailhouse.hypervisor.device.InertMmioDevice;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The header policy every emulated endpoint shares, BAR sizing and BAR decoding (spec 7). */
class EmulatedEndpointTest {
    /** An endpoint with a 32-bit BAR0 (4 KiB, decoded), a 64-bit BAR2/3 (16 KiB, decoded) and two capabilities. */
    static final class Endpoint extends EmulatedEndpoint {
        final MmioDevice bar0 = new InertMmioDevice();
        final MmioDevice bar2 = new InertMmioDevice();
        final List<String> moved = new ArrayList<>();

        Endpoint(MmioWindowTable windows) {
            super(0x00d8, List.of(0xfffff000L, 0L, 0xffffc000L, 0xffffffffL, 0L, 0L),
                    new int[] {0, 0, Pci.BAR_MEM_TYPE_64, 0, 0, 0},
                    List.of(new PciCapability(Pci.CAP_ID_MSI, 0x60, 14, PciCapability.WRITE),
                            new PciCapability(0x10, 0x80, 0x14, 0)),
                    windows);
        }

        @Override
        protected int readRegister(int dword) {
            return switch (dword) {
                case Pci.VENDOR_ID -> 0x293e8086;
                case Pci.CACHE_LINE -> 0x0080_0000; // header type 0x80 (multi-function), to see it stay
                default -> dword < Pci.LEGACY_CONFIG_SIZE ? 0 : -1;
            };
        }

        @Override
        protected MmioDevice barDevice(int n) {
            return n == 0 ? bar0 : n == 2 ? bar2 : null;
        }

        @Override
        protected void barWindowChanged(int n, long base) {
            moved.add(n + "@" + (base < 0 ? "gone" : Long.toHexString(base)));
        }
    }

    private final MmioWindowTable windows = new MmioWindowTable();
    private final List<String> events = new ArrayList<>();
    private Endpoint ep;

    @BeforeEach
    void setUp() {
        windows.addListener((owner, index, oldBase, newBase, size, device) -> events.add(String.format(
                "%d: %s -> %s (0x%x)", index, oldBase < 0 ? "-" : Long.toHexString(oldBase),
                newBase < 0 ? "-" : Long.toHexString(newBase), size)));
        ep = new Endpoint(windows);
    }

    private void write(int reg, int size, int value) {
        assertThat(ep.acceptsConfigWrite(reg, size, value)).as("write to 0x%x", reg).isTrue();
        ep.writeConfig(reg, size, value);
    }

    @Test
    void headerWritePolicy() {
        assertThat(ep.acceptsConfigWrite(0x00, 2)).as("vendor id").isFalse();
        assertThat(ep.acceptsConfigWrite(0x08, 4)).as("class/revision").isFalse();
        assertThat(ep.acceptsConfigWrite(0x04, 4)).as("command/status").isTrue();
        assertThat(ep.acceptsConfigWrite(0x06, 2)).as("status").isTrue();
        assertThat(ep.acceptsConfigWrite(0x0c, 1)).as("cache line").isTrue();
        assertThat(ep.acceptsConfigWrite(0x0d, 1)).as("latency timer").isTrue();
        assertThat(ep.acceptsConfigWrite(0x0c, 2)).isTrue();
        assertThat(ep.acceptsConfigWrite(0x0f, 1)).as("BIST").isTrue();
        assertThat(ep.acceptsConfigWrite(0x0e, 1)).as("header type").isFalse();
        assertThat(ep.acceptsConfigWrite(0x0c, 4)).as("covers the header type").isFalse();
        assertThat(ep.acceptsConfigWrite(0x10, 4)).as("BAR").isTrue();
        assertThat(ep.acceptsConfigWrite(0x26, 1)).as("BAR5 byte").isTrue();
        assertThat(ep.acceptsConfigWrite(0x28, 4)).as("CardBus CIS").isFalse();
        assertThat(ep.acceptsConfigWrite(0x2c, 4)).as("subsystem").isFalse();
        assertThat(ep.acceptsConfigWrite(0x30, 4)).as("ROM BAR: accepted, ignored").isTrue();
        assertThat(ep.acceptsConfigWrite(0x34, 1)).as("capability pointer").isFalse();
        assertThat(ep.acceptsConfigWrite(0x3c, 1)).as("interrupt line").isTrue();
        assertThat(ep.acceptsConfigWrite(0x3d, 1)).as("interrupt pin").isFalse();
        assertThat(ep.acceptsConfigWrite(0x3c, 2)).isFalse();
        assertThat(ep.acceptsConfigWrite(0x3c, 4)).isFalse();
        assertThat(ep.acceptsConfigWrite(0x02, 4)).as("crosses a dword").isFalse();
        assertThat(ep.acceptsConfigWrite(0x04, 3)).isFalse();
    }

    @Test
    void capabilityWritesOnlyWhereTheConfigAllows() {
        assertThat(ep.acceptsConfigWrite(0x60, 4)).as("writable MSI cap").isTrue();
        assertThat(ep.acceptsConfigWrite(0x6c, 2)).as("its last two bytes").isTrue();
        assertThat(ep.acceptsConfigWrite(0x6c, 4)).as("runs past its 14 bytes").isFalse();
        assertThat(ep.acceptsConfigWrite(0x80, 4)).as("read-only cap").isFalse();
        assertThat(ep.acceptsConfigWrite(0x50, 4)).as("no cap").isFalse();
        assertThat(ep.acceptsConfigWrite(0x1000, 4)).as("beyond config space").isFalse();
    }

    @Test
    void romBarReadsZeroAndIgnoresWrites() {
        write(0x30, 4, 0xfffff801);
        assertThat(ep.readConfig(0x30, 4)).isZero();
    }

    @Test
    void commandKeepsOnlyWritableBitsAndStatusWritesAreIgnored() {
        write(Pci.COMMAND, 4, 0xffff_ffff);
        assertThat(ep.readConfig(Pci.COMMAND, 2)).isEqualTo(Pci.CMD_MEM | Pci.CMD_MASTER | Pci.CMD_INTX_OFF);
        assertThat(ep.readConfig(Pci.STATUS, 2)).isEqualTo(Pci.STS_CAPS);
        write(Pci.COMMAND, 1, 0);
        assertThat(ep.command()).isEqualTo(Pci.CMD_INTX_OFF);
        assertThat(ep.readConfig(0x0e, 1)).as("header type not changed by a 0x0c write").isEqualTo(0x80);
    }

    @Test
    void barSizingReadsBackTheMask() {
        write(Pci.BAR0, 4, 0xffffffff);
        assertThat(ep.readConfig(Pci.BAR0, 4)).isEqualTo(0xfffff000);
        assertThat(ep.barSize(0)).isEqualTo(0x1000);
        write(Pci.BAR0 + 4, 4, 0xffffffff);
        assertThat(ep.readConfig(Pci.BAR0 + 4, 4)).as("BAR1 has no mask").isZero();

        write(Pci.BAR0 + 8, 4, 0xffffffff);
        write(Pci.BAR0 + 12, 4, 0xffffffff);
        assertThat(ep.readConfig(Pci.BAR0 + 8, 4)).as("type bits stay").isEqualTo(0xffffc004);
        assertThat(ep.readConfig(Pci.BAR0 + 12, 4)).isEqualTo(0xffffffff);
        assertThat(ep.barSize(2)).isEqualTo(0x4000);
        assertThat(ep.barSize(3)).as("upper half").isZero();
        write(Pci.BAR0 + 9, 1, 0x12);
        assertThat(ep.readConfig(Pci.BAR0 + 8, 4)).as("byte writes merge").isEqualTo(0xffff1004 & 0xffffc004);
    }

    @Test
    void barWindowsAppearWithMemMoveWhenReprogrammedAndDisappear() {
        write(Pci.BAR0, 4, 0xfe000000);
        write(Pci.BAR0 + 8, 4, 0x80000000);
        write(Pci.BAR0 + 12, 4, 0x1);
        assertThat(windows.current().count()).as("not decoded before MEM").isZero();

        write(Pci.COMMAND, 2, Pci.CMD_MEM);
        assertThat(windows.baseOf(ep, 0)).isEqualTo(0xfe000000L);
        assertThat(windows.baseOf(ep, 2)).isEqualTo(0x1_8000_0000L);
        var w = windows.current();
        assertThat(w.device(w.indexOf(0xfe000ffcL, 4))).isSameAs(ep.bar0);
        assertThat(w.indexOf(0xfe001000L, 4)).isNegative();
        assertThat(w.device(w.indexOf(0x1_8000_3ff8L, 8))).isSameAs(ep.bar2);

        write(Pci.BAR0, 4, 0xfe100000); // moves while decoded
        assertThat(windows.baseOf(ep, 0)).isEqualTo(0xfe100000L);
        assertThat(windows.current().indexOf(0xfe000000L, 4)).isNegative();

        write(Pci.COMMAND, 2, Pci.CMD_MASTER); // MEM off
        assertThat(windows.current().count()).isZero();
        assertThat(events).containsExactly(
                "0: - -> fe000000 (0x1000)", "2: - -> 180000000 (0x4000)",
                "0: fe000000 -> fe100000 (0x1000)",
                "0: fe100000 -> - (0x1000)", "2: 180000000 -> - (0x4000)");
        assertThat(ep.moved).containsExactly("0@fe000000", "2@180000000", "0@fe100000", "0@gone", "2@gone");
    }

    @Test
    void rewritingTheSameValuesChangesNothing() {
        write(Pci.BAR0, 4, 0xfe000000);
        write(Pci.COMMAND, 2, Pci.CMD_MEM);
        events.clear();
        write(Pci.BAR0, 4, 0xfe000000);
        write(Pci.BAR0, 4, 0xfe000fff); // bits outside the mask
        write(Pci.COMMAND, 2, Pci.CMD_MEM);
        assertThat(events).isEmpty();
    }

    @Test
    void resetRestoresBarsAndCommandAndRemovesWindows() {
        write(Pci.BAR0, 4, 0xfe000000);
        write(Pci.BAR0 + 8, 4, 0x80000000);
        write(Pci.COMMAND, 2, Pci.CMD_MEM | Pci.CMD_MASTER);
        ep.reset();
        assertThat(ep.readConfig(Pci.BAR0, 4)).isZero();
        assertThat(ep.readConfig(Pci.BAR0 + 8, 4)).isEqualTo(Pci.BAR_MEM_TYPE_64);
        assertThat(ep.command()).isZero();
        assertThat(windows.current().count()).isZero();
        assertThat(ep.windowBase(0)).isEqualTo(-1);
    }
}
