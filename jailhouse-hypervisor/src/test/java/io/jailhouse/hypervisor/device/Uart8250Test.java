package io.jailhouse.hypervisor.device;

import static io.jailhouse.hypervisor.device.Uart8250.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Uart8250Test {
    private static final int BASE = 0x3f8;

    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final Uart8250 uart = new Uart8250(BASE, output::write);

    private int in(int reg) {
        assertThat(uart.accepts(BASE + reg, 1, false)).isTrue();
        return uart.read(BASE + reg, 1);
    }

    private void out(int reg, int value) {
        assertThat(uart.accepts(BASE + reg, 1, true)).isTrue();
        uart.write(BASE + reg, 1, value);
    }

    private String output() {
        return output.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void powersUpAsA16550() {
        assertThat(in(IER)).isZero();
        assertThat(in(IIR_FCR)).isEqualTo(0x01);
        assertThat(in(LCR)).isZero();
        assertThat(in(MCR)).isZero();
        assertThat(in(LSR)).isEqualTo(0x60);
        assertThat(in(MSR)).isEqualTo(0xb0);
        assertThat(in(SCR)).isZero();
        assertThat(uart.divisor()).isZero();
        assertThat(uart.base()).isEqualTo(BASE);
    }

    /** The inmate library's init when the console divider is not 0 (spec 5.4), then its putc loop. */
    @Test
    void inmateInitAndPolledOutput() {
        out(LCR, 0x80);
        out(RBR_THR, 1);
        out(IER, 0);
        out(LCR, 0x03);
        assertThat(uart.divisor()).isEqualTo(1);
        assertThat(uart.lcr()).isEqualTo(0x03);
        assertThat(uart.ier()).isZero();

        for (char c : "Hello\r\n".toCharArray()) {
            int polls = 0;
            while ((in(LSR) & LSR_THRE) == 0) {
                assertThat(++polls).isLessThan(10);
            }
            out(RBR_THR, c);
        }
        assertThat(output()).isEqualTo("Hello\r\n");
    }

    @Test
    void dlabSwitchesOffsetsZeroAndOneToTheDivisorLatch() {
        out(IER, 0x05);
        out(LCR, 0x83);
        out(RBR_THR, 0x0c); // DLL
        out(IER, 0x12);     // DLM
        assertThat(in(RBR_THR)).isEqualTo(0x0c);
        assertThat(in(IER)).isEqualTo(0x12);
        assertThat(uart.divisor()).isEqualTo(0x120c);
        assertThat(output()).as("a DLL write is not output").isEmpty();

        out(LCR, 0x03);
        assertThat(in(IER)).as("IER unchanged by DLM writes").isEqualTo(0x05);
        assertThat(uart.divisor()).isEqualTo(0x120c);
        out(RBR_THR, 'x');
        assertThat(output()).isEqualTo("x");
        assertThat(uart.divisor()).isEqualTo(0x120c);
    }

    @Test
    void lcrKeepsAllItsBits() {
        for (int v = 0; v < 256; v++) {
            out(LCR, v);
            assertThat(in(LCR)).isEqualTo(v);
            assertThat(uart.lcr()).isEqualTo(v);
        }
    }

    @Test
    void ierAndMcrKeepOnlyTheBitsA16550Has() {
        out(IER, 0xff);
        assertThat(in(IER)).isEqualTo(0x0f);
        out(MCR, 0xff);
        assertThat(in(MCR)).isEqualTo(0x1f);
    }

    @Test
    void scratchRegisterHoldsAnyByte() {
        for (int v : new int[] {0x00, 0x55, 0xaa, 0xff, 0x5a}) {
            out(SCR, v);
            assertThat(in(SCR)).isEqualTo(v);
        }
    }

    @Test
    void lsrAlwaysShowsAnEmptyTransmitter() {
        for (int i = 0; i < 100; i++) {
            out(RBR_THR, 'a' + i % 26);
            assertThat(in(LSR) & (LSR_THRE | LSR_TEMT)).isEqualTo(0x60);
        }
        assertThat(output.size()).isEqualTo(100);
    }

    @Test
    void writesToLsrAndMsrAreIgnored() {
        out(LSR, 0xff);
        out(MSR, 0xff);
        assertThat(in(LSR)).isEqualTo(0x60);
        assertThat(in(MSR)).isEqualTo(0xb0);
    }

    @Test
    void loopbackTurnsTransmittedBytesIntoReceivedOnes() {
        out(MCR, MCR_LOOP);
        out(RBR_THR, 0x55);
        assertThat(output()).isEmpty();
        assertThat(in(LSR)).isEqualTo(0x61);
        assertThat(in(RBR_THR)).isEqualTo(0x55);
        assertThat(in(LSR)).as("reading RBR clears DR").isEqualTo(0x60);

        out(MCR, 0);
        out(RBR_THR, 'z');
        assertThat(output()).isEqualTo("z");
        assertThat(in(LSR)).isEqualTo(0x60);
    }

    @Test
    void loopbackWithoutFifoOverrunsOnTheSecondUnreadByte() {
        out(MCR, MCR_LOOP);
        out(RBR_THR, 1);
        out(RBR_THR, 2);
        assertThat(in(LSR)).isEqualTo(0x60 | LSR_OE | LSR_DR);
        assertThat(in(LSR)).as("reading LSR clears OE").isEqualTo(0x60 | LSR_DR);
        assertThat(in(RBR_THR)).as("the new byte replaced the unread one").isEqualTo(2);
        assertThat(in(LSR)).isEqualTo(0x60);
        assertThat(in(RBR_THR)).as("an empty RBR reads its last byte again").isEqualTo(2);
    }

    @Test
    void loopbackWithFifoQueuesSixteenBytes() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        out(MCR, MCR_LOOP);
        for (int i = 0; i < 17; i++) {
            out(RBR_THR, 0x30 + i);
        }
        assertThat(in(LSR)).isEqualTo(0x60 | LSR_OE | LSR_DR);
        for (int i = 0; i < 16; i++) {
            assertThat(in(LSR) & LSR_DR).isEqualTo(LSR_DR);
            assertThat(in(RBR_THR)).isEqualTo(0x30 + i);
        }
        assertThat(in(LSR)).as("the 17th byte was lost").isEqualTo(0x60);
    }

    @Test
    void fcrClearsTheReceiveFifoAndShowsInIir() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        assertThat(in(IIR_FCR)).isEqualTo(0xc1);
        assertThat(uart.fifoEnabled()).isTrue();
        out(MCR, MCR_LOOP);
        out(RBR_THR, 1);
        out(RBR_THR, 2);
        out(IIR_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
        assertThat(in(LSR)).isEqualTo(0x60);

        out(RBR_THR, 3);
        out(IIR_FCR, 0);
        assertThat(in(IIR_FCR)).isEqualTo(0x01);
        assertThat(in(LSR)).as("turning FIFOs off clears them").isEqualTo(0x60);

        out(RBR_THR, 4);
        out(IIR_FCR, FCR_CLEAR_RCVR); // without bit 0 the other bits do nothing
        assertThat(in(LSR)).isEqualTo(0x61);
        out(IIR_FCR, FCR_ENABLE_FIFO);
        assertThat(in(LSR)).as("switching FIFOs on clears them").isEqualTo(0x60);
    }

    @Test
    void iirShowsAThreInterruptUntilIirIsRead() {
        assertThat(in(IIR_FCR)).isEqualTo(0x01);
        out(IER, IER_THRI);
        assertThat(in(IIR_FCR)).isEqualTo(0x02);
        assertThat(in(IIR_FCR)).as("reading IIR acknowledged it").isEqualTo(0x01);
        out(RBR_THR, 'a');
        assertThat(in(IIR_FCR)).as("THR emptied again").isEqualTo(0x02);
        out(RBR_THR, 'b');
        out(IER, 0);
        assertThat(in(IIR_FCR)).as("disabling the interrupt withdraws it").isEqualTo(0x01);
        out(IER, IER_THRI);
        out(IER, IER_THRI | IER_RDI);
        assertThat(in(IIR_FCR)).isEqualTo(0x02);
        out(IER, IER_THRI);
        assertThat(in(IIR_FCR)).as("only a 0-to-1 change of THRI raises it").isEqualTo(0x01);
        assertThat(output()).isEqualTo("ab");
    }

    @Test
    void iirReportsTheHighestPriorityInterrupt() {
        out(MCR, MCR_LOOP);
        in(MSR); // take the deltas of entering loopback
        out(IER, IER_RLSI | IER_RDI | IER_THRI | IER_MSI);
        assertThat(in(IIR_FCR)).isEqualTo(0x02);
        assertThat(in(IIR_FCR)).isEqualTo(0x01);

        out(MCR, MCR_LOOP | MCR_DTR); // DSR changes: modem status interrupt
        assertThat(in(IIR_FCR)).isEqualTo(0x00);
        assertThat(in(MSR)).isEqualTo(MSR_DSR | MSR_DDSR);
        assertThat(in(IIR_FCR)).as("reading MSR cleared it").isEqualTo(0x01);

        out(RBR_THR, 7); // received data, and THR empty again
        assertThat(in(IIR_FCR)).isEqualTo(0x04);
        out(RBR_THR, 8); // overrun: line status
        assertThat(in(IIR_FCR)).isEqualTo(0x06);
        assertThat(in(LSR) & LSR_OE).isEqualTo(LSR_OE);
        assertThat(in(IIR_FCR)).isEqualTo(0x04);
        assertThat(in(RBR_THR)).isEqualTo(8);
        assertThat(in(IIR_FCR)).as("THRE, pending since the last THR write").isEqualTo(0x02);
        assertThat(in(IIR_FCR)).isEqualTo(0x01);
    }

    @Test
    void fifoBelowItsTriggerLevelReportsACharacterTimeout() {
        out(IIR_FCR, FCR_ENABLE_FIFO | 0x40); // trigger level 4
        out(MCR, MCR_LOOP);
        out(IER, IER_RDI);
        out(RBR_THR, 1);
        assertThat(in(IIR_FCR)).isEqualTo(0xc0 | 0x0c);
        out(RBR_THR, 2);
        out(RBR_THR, 3);
        out(RBR_THR, 4);
        assertThat(in(IIR_FCR)).isEqualTo(0xc0 | 0x04);
        for (int i = 0; i < 4; i++) {
            in(RBR_THR);
        }
        assertThat(in(IIR_FCR)).isEqualTo(0xc1);
    }

    @Test
    void msrReflectsMcrInLoopback() {
        out(MCR, MCR_LOOP);
        assertThat(in(MSR)).as("all lines dropped: deltas for CTS, DSR, DCD")
                .isEqualTo(MSR_DCTS | MSR_DDSR | MSR_DDCD);
        assertThat(in(MSR)).isZero();

        out(MCR, MCR_LOOP | MCR_RTS);
        assertThat(in(MSR)).isEqualTo(MSR_CTS | MSR_DCTS);
        out(MCR, MCR_LOOP | MCR_DTR);
        assertThat(in(MSR)).isEqualTo(MSR_DSR | MSR_DDSR | MSR_DCTS);
        out(MCR, MCR_LOOP | MCR_OUT1);
        assertThat(in(MSR)).as("RI rising: no delta").isEqualTo(MSR_RI | MSR_DDSR);
        out(MCR, MCR_LOOP | MCR_OUT2);
        assertThat(in(MSR)).as("RI falling: TERI").isEqualTo(MSR_DCD | MSR_TERI | MSR_DDCD);
        out(MCR, MCR_LOOP | 0x0f);
        assertThat(in(MSR) & 0xf0).isEqualTo(0xf0);

        out(MCR, 0);
        assertThat(in(MSR)).as("back to the external lines").isEqualTo(0xb0 | MSR_TERI);
        assertThat(in(MSR)).isEqualTo(0xb0);
    }

    /** Linux's 8250 autoconfig test: loopback with OUT2 and RTS must read back DCD and CTS. */
    @Test
    void passesLinuxsLoopbackProbe() {
        out(MCR, MCR_LOOP | 0x0a);
        assertThat(in(MSR) & 0xf0).isEqualTo(0x90);
    }

    @Test
    void acceptsOneTwoAndFourByteAccessesInsideItsPorts() {
        for (int reg = 0; reg < 8; reg++) {
            assertThat(uart.accepts(BASE + reg, 1, false)).isTrue();
            assertThat(uart.accepts(BASE + reg, 1, true)).isTrue();
            assertThat(uart.accepts(BASE + reg, 2, true)).isEqualTo(reg <= 6);
            assertThat(uart.accepts(BASE + reg, 4, false)).isEqualTo(reg <= 4);
            assertThat(uart.accepts(BASE + reg, 3, false)).isFalse();
            assertThat(uart.accepts(BASE + reg, 8, false)).isFalse();
        }
        assertThat(uart.accepts(BASE - 1, 1, false)).isFalse();
        assertThat(uart.accepts(BASE - 1, 2, false)).isFalse();
        assertThat(uart.accepts(BASE + 8, 1, true)).isFalse();
    }

    @Test
    void wideAccessesActOnTheAddressedRegisterWithTheLowByte() {
        uart.write(BASE + SCR - 1, 2, 0x1234); // MSR at offset 6: ignored, not SCR
        assertThat(in(SCR)).isZero();
        uart.write(BASE + LCR, 4, 0x1234_5683);
        assertThat(uart.lcr()).isEqualTo(0x83);
        assertThat(uart.read(BASE + LCR, 4)).isEqualTo(0x83);
        uart.write(BASE + RBR_THR, 2, 0xab01);
        assertThat(uart.divisor()).isEqualTo(1);
        uart.write(BASE + LCR, 2, 0x0003);
        uart.write(BASE + RBR_THR, 4, 0x4142_4344);
        assertThat(output()).isEqualTo("D");
        assertThat(uart.read(BASE + LSR, 2)).isEqualTo(0x60);
        uart.write(BASE + SCR - 3, 4, 0x99); // MCR
        assertThat(uart.mcr()).isEqualTo(0x19);
    }

    @Test
    void resetRestoresPowerOnState() {
        out(LCR, 0x83);
        out(RBR_THR, 3);
        out(LCR, 0x03);
        out(IER, 0x0f);
        out(MCR, MCR_LOOP);
        out(RBR_THR, 1);
        out(SCR, 0x77);
        out(IIR_FCR, 0x01);
        uart.reset();
        powersUpAsA16550();
        assertThat(uart.fifoEnabled()).isFalse();
    }

    @Test
    void refusesABaseWhoseEightPortsDoNotFit() {
        assertThatThrownBy(() -> new Uart8250(0xfff9, b -> { })).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Uart8250(-1, b -> { })).isInstanceOf(IllegalArgumentException.class);
        assertThat(new Uart8250(0xfff8, b -> { }).accepts(0xffff, 1, true)).isTrue();
    }

    /** What the interrupt output did: one letter per change, H(igh) or L(ow). */
    private final StringBuilder edges = new StringBuilder();
    private final Uart8250 wired = new Uart8250(BASE, b -> { }, high -> edges.append(high ? 'H' : 'L'));

    private void wiredOut(int reg, int value) {
        wired.write(BASE + reg, 1, value);
    }

    private int wiredIn(int reg) {
        return wired.read(BASE + reg, 1);
    }

    /** Linux's 8250 driver: OUT2 on, THRE interrupts enabled; each byte sent empties THR again: one rising edge each. */
    @Test
    void theInterruptLineRisesWhenTheTransmitterEmptiesAndFallsWhenIirIsRead() {
        wiredOut(IER, IER_THRI);
        assertThat(edges).as("without OUT2 the line stays low").isEmpty();
        assertThat(wired.irqAsserted()).isFalse();
        wiredOut(MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
        assertThat(edges).hasToString("H");
        assertThat(wiredIn(IIR_FCR) & 0x0f).isEqualTo(IIR_THRI);
        assertThat(edges).hasToString("HL");
        assertThat(wiredIn(IIR_FCR) & 0x0f).isEqualTo(IIR_NO_INT);
        wiredOut(RBR_THR, 'a');
        wiredOut(RBR_THR, 'b'); // no read of IIR between: the line stays high, one edge
        assertThat(edges).hasToString("HLH");
        wiredOut(IER, 0);
        assertThat(edges).hasToString("HLHL");
        assertThat(wired.irqAsserted()).isFalse();
    }

    @Test
    void receivedDataRaisesTheLineUntilItIsRead() {
        wiredOut(MCR, MCR_OUT2 | MCR_LOOP);
        wiredOut(IER, IER_RDI);
        assertThat(edges).isEmpty();
        wiredOut(RBR_THR, 'x'); // looped back into the receiver
        assertThat(edges).hasToString("H");
        assertThat(wiredIn(IIR_FCR) & 0x0f).isEqualTo(IIR_RDI);
        assertThat(edges).as("reading IIR does not acknowledge received data").hasToString("H");
        assertThat(wiredIn(RBR_THR)).isEqualTo('x');
        assertThat(edges).hasToString("HL");
        wiredOut(MCR, MCR_LOOP);
        wiredOut(RBR_THR, 'y');
        assertThat(edges).as("OUT2 off gates the line").hasToString("HL");
        wiredOut(MCR, MCR_LOOP | MCR_OUT2);
        assertThat(edges).hasToString("HLH");
        wired.reset();
        assertThat(edges).hasToString("HLHL");
    }
}
