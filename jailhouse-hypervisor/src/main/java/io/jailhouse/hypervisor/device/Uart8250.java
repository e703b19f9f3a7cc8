package io.jailhouse.hypervisor.device;

import java.util.Objects;

/**
 * A 16550A UART on eight ports from {@code base}, as far as guests can tell
 * it from the real thing: inmates (and Linux's 8250 driver) program the
 * divisor latch, probe the scratch register, FIFO bits and loopback, and then
 * poll LSR before writing THR.
 *
 * <p>Output is taken at once: every THR write goes to the {@link ByteSink}
 * (outside loopback), so the transmitter is always empty and LSR always shows
 * THRE|TEMT. Input exists only through loopback, which feeds a receive FIFO of
 * 16 bytes (1 byte while FIFOs are off), with overrun reported in LSR.
 * Interrupt state is kept as a 16550 keeps it and is visible in IIR; the
 * interrupt output follows it, gated by MCR OUT2 as on a PC's serial port:
 * high while an enabled interrupt is pending (THR empty, data received,
 * line status, modem status).
 *
 * <p>Accesses of 2 and 4 bytes act on the addressed register with the low
 * byte, and reads return that register in the low byte, zero above.
 *
 * <p>Not synchronized, like the hardware: guests serialize the use of a
 * UART themselves. Called on vCPU threads; nothing here allocates.
 */
public final class Uart8250 implements PioDevice {
    /** Number of ports a UART decodes. */
    public static final int PORTS = 8;

    // Register offsets from base.
    public static final int RBR_THR = 0;
    public static final int IER = 1;
    public static final int IIR_FCR = 2;
    public static final int LCR = 3;
    public static final int MCR = 4;
    public static final int LSR = 5;
    public static final int MSR = 6;
    public static final int SCR = 7;

    public static final int LCR_DLAB = 0x80;

    public static final int IER_RDI = 0x01;
    public static final int IER_THRI = 0x02;
    public static final int IER_RLSI = 0x04;
    public static final int IER_MSI = 0x08;

    public static final int IIR_NO_INT = 0x01;
    public static final int IIR_MSI = 0x00;
    public static final int IIR_THRI = 0x02;
    public static final int IIR_RDI = 0x04;
    public static final int IIR_RLSI = 0x06;
    public static final int IIR_RX_TIMEOUT = 0x0c;
    public static final int IIR_FIFOS_ENABLED = 0xc0;

    public static final int FCR_ENABLE_FIFO = 0x01;
    public static final int FCR_CLEAR_RCVR = 0x02;
    public static final int FCR_CLEAR_XMIT = 0x04;

    public static final int MCR_DTR = 0x01;
    public static final int MCR_RTS = 0x02;
    public static final int MCR_OUT1 = 0x04;
    public static final int MCR_OUT2 = 0x08;
    public static final int MCR_LOOP = 0x10;

    public static final int LSR_DR = 0x01;
    public static final int LSR_OE = 0x02;
    public static final int LSR_THRE = 0x20;
    public static final int LSR_TEMT = 0x40;

    public static final int MSR_DCTS = 0x01;
    public static final int MSR_DDSR = 0x02;
    public static final int MSR_TERI = 0x04;
    public static final int MSR_DDCD = 0x08;
    public static final int MSR_CTS = 0x10;
    public static final int MSR_DSR = 0x20;
    public static final int MSR_RI = 0x40;
    public static final int MSR_DCD = 0x80;

    /**
     * Modem inputs outside loopback: nothing is attached, so report a ready
     * peer (carrier, data set ready, clear to send), as a null-modem cable would,
     * so that guests honouring flow control still transmit.
     */
    public static final int EXTERNAL_MODEM_LINES = MSR_DCD | MSR_DSR | MSR_CTS;

    private static final int FIFO_SIZE = 16;
    private static final int[] RX_TRIGGER = {1, 4, 8, 14};

    private final int base;
    private final ByteSink out;
    private final IrqLine irq;
    /** The level last driven on {@link #irq}. */
    private boolean irqLevel;

    private final byte[] rxFifo = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;
    private int lastRx;

    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int dll;
    private int dlm;
    private boolean fifoEnabled;
    private int rxTrigger;
    /** Error bits of LSR, cleared when LSR is read (only OE can happen here). */
    private int lsrErrors;
    /** THRE interrupt pending: set when THR empties with IER_THRI on, cleared by reading it from IIR. */
    private boolean thrInterrupt;
    /** Current modem inputs, MSR bits 4-7. */
    private int modemLines;
    /** MSR delta bits 0-3, cleared when MSR is read. */
    private int modemDeltas;

    /**
     * @param base first of the eight ports (0..0xfff8)
     * @param out receives every byte the guest transmits
     */
    public Uart8250(int base, ByteSink out) {
        this(base, out, IrqLine.NONE);
    }

    /**
     * @param base first of the eight ports (0..0xfff8)
     * @param out receives every byte the guest transmits
     * @param irq the UART's interrupt output (a PC's COM1 drives IRQ 4, COM2 IRQ 3)
     */
    public Uart8250(int base, ByteSink out, IrqLine irq) {
        if (base < 0 || base > 0x10000 - PORTS) {
            throw new IllegalArgumentException(String.format("UART base port 0x%x", base));
        }
        this.base = base;
        this.out = Objects.requireNonNull(out, "out");
        this.irq = Objects.requireNonNull(irq, "irq");
        reset();
    }

    /** Puts the registers into their power-on state (the receive FIFO is emptied). */
    public void reset() {
        rxHead = 0;
        rxCount = 0;
        lastRx = 0;
        ier = 0;
        lcr = 0;
        mcr = 0;
        scr = 0;
        dll = 0;
        dlm = 0;
        fifoEnabled = false;
        rxTrigger = 1;
        lsrErrors = 0;
        thrInterrupt = false;
        modemLines = EXTERNAL_MODEM_LINES;
        modemDeltas = 0;
        updateIrq();
    }

    /** Whether the interrupt output is high now. */
    public boolean irqAsserted() {
        return irqLevel;
    }

    public int base() {
        return base;
    }

    /** The divisor latch, DLM:DLL. */
    public int divisor() {
        return dlm << 8 | dll;
    }

    /** The line control register (data bits, stop bits, parity, break, DLAB). */
    public int lcr() {
        return lcr;
    }

    public int ier() {
        return ier;
    }

    public int mcr() {
        return mcr;
    }

    public boolean fifoEnabled() {
        return fifoEnabled;
    }

    @Override
    public boolean accepts(int port, int size, boolean write) {
        return PioDevice.within(base, PORTS, port, size);
    }

    @Override
    public int read(int port, int size) {
        int v = switch (port - base) {
            case RBR_THR -> (lcr & LCR_DLAB) != 0 ? dll : receive();
            case IER -> (lcr & LCR_DLAB) != 0 ? dlm : ier;
            case IIR_FCR -> readIir();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> readLsr();
            case MSR -> readMsr();
            case SCR -> scr;
            default -> 0; // unreachable after accepts()
        };
        updateIrq(); // reading IIR, RBR, LSR or MSR can clear what was pending
        return v;
    }

    @Override
    public void write(int port, int size, int value) {
        int b = value & 0xff;
        switch (port - base) {
            case RBR_THR -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dll = b;
                } else {
                    transmit(b);
                }
            }
            case IER -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dlm = b;
                } else {
                    writeIer(b & 0x0f); // bits 4-7 are always 0 on a 16550
                }
            }
            case IIR_FCR -> writeFcr(b);
            case LCR -> lcr = b;
            case MCR -> writeMcr(b & 0x1f); // bits 5-7 are always 0 on a 16550
            case SCR -> scr = b;
            default -> {
                // LSR and MSR: writes are meant for factory testing; ignore them as most emulations do.
            }
        }
        updateIrq();
    }

    /** Drives the interrupt output to what is pending, if OUT2 lets it through; only changes reach the line. */
    private void updateIrq() {
        boolean level = (mcr & MCR_OUT2) != 0 && pendingInterrupt() != IIR_NO_INT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    private void transmit(int b) {
        if ((mcr & MCR_LOOP) != 0) {
            enqueueRx(b);
        } else {
            out.put((byte) b);
        }
        // The byte left THR at once, so THR is empty again: THRE re-arms.
        thrInterrupt = (ier & IER_THRI) != 0;
    }

    private void enqueueRx(int b) {
        int capacity = fifoEnabled ? FIFO_SIZE : 1;
        if (rxCount < capacity) {
            rxFifo[(rxHead + rxCount) & (FIFO_SIZE - 1)] = (byte) b;
            rxCount++;
        } else {
            lsrErrors |= LSR_OE;
            if (!fifoEnabled) {
                // Without FIFO the new character replaces the unread one in RBR;
                // with FIFO it stays in the shift register and is lost.
                rxFifo[rxHead] = (byte) b;
            }
        }
    }

    private int receive() {
        if (rxCount > 0) {
            lastRx = rxFifo[rxHead] & 0xff;
            rxHead = (rxHead + 1) & (FIFO_SIZE - 1);
            rxCount--;
        }
        return lastRx; // an empty RBR reads its last character again
    }

    /** The pending interrupt of highest priority, as IIR bits 0-3. */
    private int pendingInterrupt() {
        if ((ier & IER_RLSI) != 0 && lsrErrors != 0) {
            return IIR_RLSI;
        }
        if ((ier & IER_RDI) != 0 && rxCount > 0) {
            // Below the trigger level a FIFO reports a character timeout; no time passes here, so at once.
            return !fifoEnabled || rxCount >= rxTrigger ? IIR_RDI : IIR_RX_TIMEOUT;
        }
        if (thrInterrupt) {
            return IIR_THRI;
        }
        if ((ier & IER_MSI) != 0 && modemDeltas != 0) {
            return IIR_MSI;
        }
        return IIR_NO_INT;
    }

    private int readIir() {
        int id = pendingInterrupt();
        if (id == IIR_THRI) {
            thrInterrupt = false; // reading IIR acknowledges a THRE interrupt (and only that one)
        }
        return id | (fifoEnabled ? IIR_FIFOS_ENABLED : 0);
    }

    private int readLsr() {
        int v = LSR_THRE | LSR_TEMT | lsrErrors | (rxCount > 0 ? LSR_DR : 0);
        lsrErrors = 0;
        return v;
    }

    private int readMsr() {
        int v = modemLines | modemDeltas;
        modemDeltas = 0;
        return v;
    }

    private void writeIer(int v) {
        int enabled = v & ~ier;
        ier = v;
        if ((v & IER_THRI) == 0) {
            thrInterrupt = false;
        } else if ((enabled & IER_THRI) != 0) {
            thrInterrupt = true; // THR is empty, so enabling its interrupt raises it
        }
    }

    private void writeFcr(int v) {
        if ((v & FCR_ENABLE_FIFO) == 0) {
            // The other FCR bits only take effect with bit 0 set; turning FIFOs off clears them.
            if (fifoEnabled) {
                clearRx();
            }
            fifoEnabled = false;
            return;
        }
        if (!fifoEnabled || (v & FCR_CLEAR_RCVR) != 0) {
            clearRx(); // switching FIFO mode also clears the FIFOs
        }
        fifoEnabled = true;
        rxTrigger = RX_TRIGGER[v >>> 6];
        // FCR_CLEAR_XMIT: the transmitter is always empty.
    }

    private void clearRx() {
        rxHead = 0;
        rxCount = 0;
    }

    private void writeMcr(int v) {
        mcr = v;
        int lines = (v & MCR_LOOP) != 0 ? loopbackLines(v) : EXTERNAL_MODEM_LINES;
        int changed = lines ^ modemLines;
        int deltas = 0;
        if ((changed & MSR_CTS) != 0) {
            deltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            deltas |= MSR_DDSR;
        }
        if ((changed & MSR_RI) != 0 && (lines & MSR_RI) == 0) {
            deltas |= MSR_TERI; // trailing edge of RI only
        }
        if ((changed & MSR_DCD) != 0) {
            deltas |= MSR_DDCD;
        }
        modemDeltas |= deltas;
        modemLines = lines;
    }

    /** In loopback the modem outputs are wired to the inputs: RTS-CTS, DTR-DSR, OUT1-RI, OUT2-DCD. */
    private static int loopbackLines(int mcr) {
        return ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    }
}
