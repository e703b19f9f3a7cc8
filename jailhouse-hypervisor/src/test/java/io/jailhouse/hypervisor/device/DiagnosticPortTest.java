package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DiagnosticPortTest {
    private final DiagnosticPort port = new DiagnosticPort();

    @Test
    void byteAccessesToPort80AreIgnored() {
        assertThat(port.accepts(0x80, 1, true)).isTrue();
        assertThat(port.accepts(0x80, 1, false)).isTrue();
        port.write(0x80, 1, 0xab);
        assertThat(port.read(0x80, 1)).isZero();
    }

    @Test
    void widerAccessesAndOtherPortsAreInvalid() {
        assertThat(port.accepts(0x80, 2, true)).isFalse();
        assertThat(port.accepts(0x80, 4, false)).isFalse();
        assertThat(port.accepts(0x7f, 1, true)).isFalse();
        assertThat(port.accepts(0x81, 1, true)).isFalse();
    }
}
