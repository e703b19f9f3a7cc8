package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PioBusTest {
    /** A device that takes any access; the bus, not the device, is under test. */
    static final class Dummy implements PioDevice {
        @Override
        public boolean accepts(int port, int size, boolean write) {
            return true;
        }

        @Override
        public int read(int port, int size) {
            return 0;
        }

        @Override
        public void write(int port, int size, int value) {
        }
    }

    private final PioDevice uart = new Dummy();
    private final PioDevice pm = new Dummy();
    private final PioDevice diag = new Dummy();

    private PioBus bus() {
        return PioBus.builder().add(0x3f8, 8, uart).add(0x408, 4, pm).add(0x80, 1, diag).build();
    }

    @Test
    void findsTheOwnerOfEveryPort() {
        PioBus bus = bus();
        for (int p = 0x3f8; p <= 0x3ff; p++) {
            assertThat(bus.deviceAt(p)).isSameAs(uart);
        }
        for (int p = 0x408; p <= 0x40b; p++) {
            assertThat(bus.deviceAt(p)).isSameAs(pm);
        }
        assertThat(bus.deviceAt(0x80)).isSameAs(diag);
        assertThat(bus.deviceAt(0x3f7)).isNull();
        assertThat(bus.deviceAt(0x400)).isNull();
        assertThat(bus.deviceAt(0x40c)).isNull();
        assertThat(bus.deviceAt(0x7f)).isNull();
        assertThat(bus.deviceAt(0x81)).isNull();
        assertThat(bus.deviceAt(0)).isNull();
        assertThat(bus.deviceAt(0xffff)).isNull();
    }

    @Test
    void portsOutsideTheIoSpaceHaveNoDevice() {
        PioBus bus = PioBus.builder().add(0, 0x10000, uart).build();
        assertThat(bus.deviceAt(0)).isSameAs(uart);
        assertThat(bus.deviceAt(0xffff)).isSameAs(uart);
        assertThat(bus.deviceAt(-1)).isNull();
        assertThat(bus.deviceAt(0x10000)).isNull();
        assertThat(bus.deviceAt(Integer.MIN_VALUE)).isNull();
        assertThat(bus.deviceFor(0xffff, 1)).isSameAs(uart);
        assertThat(bus.deviceFor(0xffff, 2)).isNull();
        assertThat(bus.deviceFor(0xfffe, 2)).isSameAs(uart);
        assertThat(bus.deviceFor(0xfffc, 4)).isSameAs(uart);
        assertThat(bus.deviceFor(0xfffd, 4)).isNull();
        assertThat(bus.deviceFor(-1, 1)).isNull();
    }

    @Test
    void anAccessMustStayWithinOneDevice() {
        PioBus bus = bus();
        assertThat(bus.deviceFor(0x3f8, 4)).isSameAs(uart);
        assertThat(bus.deviceFor(0x3fc, 4)).isSameAs(uart);
        assertThat(bus.deviceFor(0x3fe, 2)).isSameAs(uart);
        assertThat(bus.deviceFor(0x3ff, 1)).isSameAs(uart);
        assertThat(bus.deviceFor(0x3fd, 4)).as("0x400 is nobody's").isNull();
        assertThat(bus.deviceFor(0x3ff, 2)).isNull();
        assertThat(bus.deviceFor(0x3f6, 4)).isNull();
        assertThat(bus.deviceFor(0x80, 1)).isSameAs(diag);
        assertThat(bus.deviceFor(0x80, 2)).isNull();
        assertThat(bus.deviceFor(0x7f, 2)).isNull();
        assertThat(bus.deviceFor(0x500, 1)).isNull();
    }

    @Test
    void anAccessAcrossTwoAdjacentDevicesHasNoDevice() {
        PioDevice other = new Dummy();
        PioBus bus = PioBus.builder().add(0x3f8, 8, uart).add(0x400, 8, other).build();
        assertThat(bus.deviceFor(0x3fe, 2)).isSameAs(uart);
        assertThat(bus.deviceFor(0x3ff, 2)).isNull();
        assertThat(bus.deviceFor(0x3fe, 4)).isNull();
        assertThat(bus.deviceFor(0x400, 4)).isSameAs(other);
    }

    @Test
    void oneDeviceInAdjacentRangesServesAccessesAcrossThem() {
        PioBus bus = PioBus.builder().add(0x3f8, 4, uart).add(0x3fc, 4, uart).build();
        assertThat(bus.deviceFor(0x3fa, 4)).isSameAs(uart);
    }

    @Test
    void sizesOutsideOneToFourHaveNoDevice() {
        PioBus bus = bus();
        assertThat(bus.deviceFor(0x3f8, 0)).isNull();
        assertThat(bus.deviceFor(0x3f8, -1)).isNull();
        assertThat(bus.deviceFor(0x3f8, 8)).isNull();
    }

    @Test
    void refusesOverlapsNamingBothRanges() {
        PioBus.Builder b = PioBus.builder().add(0x3f8, 8, uart);
        assertThatThrownBy(() -> b.add(0x3fc, 8, pm))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0x3fc-0x403")
                .hasMessageContaining("0x3f8-0x3ff");
        assertThatThrownBy(() -> b.add(0x3f0, 9, pm)).hasMessageContaining("overlaps");
        assertThatThrownBy(() -> b.add(0x3ff, 1, pm)).hasMessageContaining("overlaps");
        assertThatThrownBy(() -> b.add(0x300, 0x200, pm)).hasMessageContaining("overlaps");
        b.add(0x3f0, 8, pm).add(0x400, 1, diag); // touching is fine
        assertThat(b.build().deviceAt(0x3f7)).isSameAs(pm);
    }

    @Test
    void refusesRangesOutsideTheIoSpace() {
        PioBus.Builder b = PioBus.builder();
        assertThatThrownBy(() -> b.add(0xfffc, 8, uart))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0xfffc");
        assertThatThrownBy(() -> b.add(-1, 2, uart)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x10000, 1, uart)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x3f8, 0, uart)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x3f8, -8, uart)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x3f8, Integer.MAX_VALUE, uart)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.add(0x3f8, 8, null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aBuiltBusIsNotChangedByItsBuilder() {
        PioBus.Builder b = PioBus.builder().add(0x3f8, 8, uart);
        PioBus bus = b.build();
        b.add(0x2f8, 8, pm);
        assertThat(bus.deviceAt(0x2f8)).isNull();
        assertThat(b.build().deviceAt(0x2f8)).isSameAs(pm);
    }

    @Test
    void anEmptyBusHasNoDevices() {
        PioBus bus = PioBus.builder().build();
        assertThat(bus.deviceAt(0x3f8)).isNull();
        assertThat(bus.deviceFor(0x3f8, 1)).isNull();
    }
}
