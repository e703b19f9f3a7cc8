package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

/**
 * Fuzz target: the UART model driven by what a guest can do to it (any
 * port near its eight, any width, any value, reads and writes in any
 * order). It refuses what it does not serve, reads fit their width, it
 * transmits at most one byte per THR write, and a reset always brings back
 * the power-up state.
 */
@Tag("fuzz")
class Uart8250FuzzTest {
    private static final int BASE = 0x2f8;

    record Access(int offset, int size, boolean write, int value) {
    }

    @Provide
    Arbitrary<List<Access>> accesses() {
        Arbitrary<Integer> values = Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(0, 1, 0x80, 0xff,
                0x100, -1, Uart8250.LCR_DLAB, Uart8250.MCR_LOOP, Uart8250.FCR_ENABLE_FIFO | Uart8250.FCR_CLEAR_XMIT));
        Arbitrary<Access> access = Combinators.combine(Arbitraries.integers().between(-3, 10),
                Arbitraries.of(1, 2, 4, 3, 0, 8), Arbitraries.of(true, false), values).as(Access::new);
        return access.list().ofMinSize(1).ofMaxSize(200);
    }

    @Property(edgeCases = net.jqwik.api.EdgeCasesMode.NONE) // edge values are in the inputs; generated ones grow with the tries
    void theUartServesOnlyItsPortsAndNeverTransmitsMoreThanItWasGiven(@ForAll("accesses") List<Access> accesses) {
        long[] sent = new long[1];
        Uart8250 uart = new Uart8250(BASE, b -> sent[0]++);
        long thrWrites = 0;
        for (Access a : accesses) {
            int port = BASE + a.offset();
            boolean inside = a.offset() >= 0 && a.offset() < Uart8250.PORTS;
            boolean served = a.write() ? uart.acceptsWrite(port, a.size(), a.value()) : uart.accepts(port, a.size(), false);
            if (!inside) {
                assertThat(served).as("%s outside the UART", a).isFalse();
            }
            if (!served) {
                continue;
            }
            if (a.write()) {
                uart.write(port, a.size(), a.value());
                thrWrites += a.offset() == Uart8250.RBR_THR ? 1 : 0;
            } else {
                long v = uart.read(port, a.size()) & 0xffffffffL;
                if (a.size() < 4) {
                    assertThat(v).as("%s reads within its width", a).isLessThan(1L << (8 * a.size()));
                }
            }
        }
        assertThat(sent[0]).as("bytes transmitted").isLessThanOrEqualTo(thrWrites);
        uart.reset();
        assertThat(uart.ier()).isZero();
        assertThat(uart.lcr()).isZero();
        assertThat(uart.mcr()).isZero();
        assertThat(uart.read(BASE + Uart8250.LSR, 1)).isEqualTo(Uart8250.LSR_THRE | Uart8250.LSR_TEMT);
    }
}
