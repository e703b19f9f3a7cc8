package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MmioBusTest {

    private final MmioDevice ioapic = new InertMmioDevice();
    private final MmioDevice testdev = new InertMmioDevice();
    private final MmioDevice mmconfig = new InertMmioDevice();

    /** Added out of order on purpose: the bus sorts. */
    private MmioBus bus() {
        return MmioBus.builder()
                .add(0xfec00000L, 0x1000, ioapic)
                .add(0x101000L, 0x1000, testdev)
                .add(0xe0000000L, 0x10000000L, mmconfig)
                .build();
    }

    @Test
    void regionsAreSortedByBase() {
        MmioBus bus = bus();
        assertThat(bus.count()).isEqualTo(3);
        assertThat(bus.base(0)).isEqualTo(0x101000L);
        assertThat(bus.size(0)).isEqualTo(0x1000L);
        assertThat(bus.device(0)).isSameAs(testdev);
        assertThat(bus.base(1)).isEqualTo(0xe0000000L);
        assertThat(bus.device(1)).isSameAs(mmconfig);
        assertThat(bus.base(2)).isEqualTo(0xfec00000L);
        assertThat(bus.device(2)).isSameAs(ioapic);
    }

    @Test
    void findsTheRegionHoldingAnAccess() {
        MmioBus bus = bus();
        assertThat(bus.indexOf(0x101000L, 4)).isEqualTo(0);
        assertThat(bus.indexOf(0x101ff8L, 8)).isEqualTo(0);
        assertThat(bus.indexOf(0x101fffL, 1)).isEqualTo(0);
        assertThat(bus.indexOf(0xe0000000L, 4)).isEqualTo(1);
        assertThat(bus.indexOf(0xefffffffL, 1)).isEqualTo(1);
        assertThat(bus.indexOf(0xfec00010L, 4)).isEqualTo(2);
        assertThat(bus.indexOf(0xfec00ffcL, 4)).isEqualTo(2);
    }

    @Test
    void addressesOutsideEveryRegionAreNotFound() {
        MmioBus bus = bus();
        assertThat(bus.indexOf(0, 4)).isEqualTo(-1);
        assertThat(bus.indexOf(0x100fffL, 1)).isEqualTo(-1);
        assertThat(bus.indexOf(0x102000L, 1)).isEqualTo(-1);
        assertThat(bus.indexOf(0xdfffffffL, 1)).isEqualTo(-1);
        assertThat(bus.indexOf(0xf0000000L, 4)).isEqualTo(-1);
        assertThat(bus.indexOf(0xfec01000L, 4)).isEqualTo(-1);
        assertThat(bus.indexOf(Long.MAX_VALUE, 8)).isEqualTo(-1);
        assertThat(bus.indexOf(-1L, 1)).isEqualTo(-1);
        assertThat(bus.indexOf(Long.MIN_VALUE, 8)).isEqualTo(-1);
    }

    @Test
    void anAccessCrossingARegionsEndIsNotFound() {
        MmioBus bus = bus();
        assertThat(bus.indexOf(0x101ffcL, 8)).isEqualTo(-1);
        assertThat(bus.indexOf(0x101fffL, 2)).isEqualTo(-1);
        assertThat(bus.indexOf(0x100fffL, 2)).as("starts before the region").isEqualTo(-1);
        assertThat(bus.indexOf(0xfec00ffeL, 4)).isEqualTo(-1);
    }

    @Test
    void adjacentRegionsDoNotServeAnAccessAcrossTheirBorder() {
        MmioDevice a = new InertMmioDevice();
        MmioDevice b = new InertMmioDevice();
        MmioBus bus = MmioBus.builder().add(0x1000, 0x1000, a).add(0x2000, 0x1000, b).build();
        assertThat(bus.indexOf(0x1ffc, 4)).isEqualTo(0);
        assertThat(bus.indexOf(0x2000, 4)).isEqualTo(1);
        assertThat(bus.indexOf(0x1ffc, 8)).isEqualTo(-1);
    }

    @Test
    void nonPositiveSizesAreNotFound() {
        MmioBus bus = bus();
        assertThat(bus.indexOf(0x101000L, 0)).isEqualTo(-1);
        assertThat(bus.indexOf(0x101000L, -4)).isEqualTo(-1);
    }

    @Test
    void regionsAtTheTopOfTheAddressSpaceWork() {
        MmioBus bus = MmioBus.builder().add(Long.MAX_VALUE - 0xfff, 0x1000, ioapic).build();
        assertThat(bus.indexOf(Long.MAX_VALUE - 7, 8)).isEqualTo(0);
        assertThat(bus.indexOf(Long.MAX_VALUE, 1)).isEqualTo(0);
        assertThat(bus.indexOf(Long.MAX_VALUE, 2)).isEqualTo(-1);
        assertThatThrownBy(() -> MmioBus.builder().add(Long.MAX_VALUE - 0xfff, 0x1001, ioapic))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusesOverlapsNamingBothRegions() {
        MmioBus.Builder b = MmioBus.builder().add(0xfec00000L, 0x1000, ioapic);
        assertThatThrownBy(() -> b.add(0xfec00800L, 0x1000, testdev))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0xfec00800-0xfec017ff")
                .hasMessageContaining("0xfec00000-0xfec00fff");
        assertThatThrownBy(() -> b.add(0xfebff000L, 0x1001, testdev)).hasMessageContaining("overlaps");
        assertThatThrownBy(() -> b.add(0, 0x1_0000_0000L, testdev)).hasMessageContaining("overlaps");
        b.add(0xfebff000L, 0x1000, testdev).add(0xfec01000L, 0x1000, mmconfig); // touching is fine
        assertThat(b.build().count()).isEqualTo(3);
    }

    @Test
    void refusesEmptyOrNegativeRegions() {
        MmioBus.Builder b = MmioBus.builder();
        assertThatThrownBy(() -> b.add(0x1000, 0, ioapic)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x1000, -1, ioapic)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(-0x1000, 0x1000, ioapic)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x1000, 0x1000, null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void manyRegionsAreFoundByBinarySearch() {
        MmioBus.Builder b = MmioBus.builder();
        MmioDevice[] devices = new MmioDevice[1000];
        for (int i = devices.length - 1; i >= 0; i--) {
            devices[i] = new InertMmioDevice();
            b.add(0x1000_0000L + i * 0x2000L, 0x1000, devices[i]); // a gap of one page after each
        }
        MmioBus bus = b.build();
        for (int i = 0; i < devices.length; i++) {
            long base = 0x1000_0000L + i * 0x2000L;
            assertThat(bus.indexOf(base, 4)).isEqualTo(i);
            assertThat(bus.device(bus.indexOf(base + 0xff8, 8))).isSameAs(devices[i]);
            assertThat(bus.indexOf(base + 0x1000, 1)).isEqualTo(-1);
            assertThat(bus.indexOf(base - 1, 1)).isEqualTo(-1);
        }
    }

    @Test
    void anEmptyBusFindsNothing() {
        MmioBus bus = MmioBus.builder().build();
        assertThat(bus.count()).isZero();
        assertThat(bus.indexOf(0, 1)).isEqualTo(-1);
    }
}
