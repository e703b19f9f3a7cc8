package io.jailhouse.hypervisor.device;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The ACPI PM1a event block of QEMU's x86 machines (spec 13), eight ports
 * below the PM timer: PM1a_STS (16 bits, write 1 to clear) at {@code base},
 * PM1a_EN (16 bits) at {@code base + 2}. TMR_STS (bit 0 of the status) is set
 * every time bit 23 of the PM timer toggles, every 2<sup>23</sup> ticks
 * (2.34 s); while TMR_STS and TMR_EN (bit 0 of the enable register) are both
 * set, the SCI, a level-triggered line (GSI 9), is asserted. No other status
 * bit is ever set here (no power button, no sleep states); the other enable
 * bits read back what was written.
 *
 * <p>The status is derived from the timer: TMR_STS is set when more toggles
 * happened than the last clear accounted for, so nothing counts ticks. The
 * SCI is driven by one thread, which exists only where the SCI is wired: it
 * sleeps until the next toggle while TMR_EN is set (else until an enable
 * write), and while TMR_STS and TMR_EN both hold it pulses the line at once
 * and again every {@value #REPULSE_MILLIS} ms. A level-triggered pin of the
 * in-kernel IOAPIC latches the interrupt until its EOI either way; a line
 * held high would be delivered a second time by the early EOIs this kind of
 * host gives level-triggered interrupts, before the guest's handler clears
 * the status (spec 12). A guest that leaves the status set still gets the
 * interrupt again, as from a level it never cleared. Guest accesses (vCPU
 * threads) allocate nothing, take no lock and only wake the thread.
 */
public final class Pm1EventBlock implements PioDevice, AutoCloseable {
    /** PM1a_STS and PM1a_EN. */
    public static final int PORTS = 4;
    /** The event block sits this far below the PM timer on QEMU's machines. */
    public static final int BELOW_PM_TIMER = 8;
    public static final int TMR_STS = 0x0001;
    public static final int TMR_EN = 0x0001;
    /** The SCI of QEMU's machines. */
    public static final int SCI_GSI = 9;
    static final long TOGGLE_TICKS = 1L << 23;

    /** Re-delivery interval while the guest leaves TMR_STS set with TMR_EN on. */
    public static final long REPULSE_MILLIS = 250;
    private static final long REPULSE_NANOS = REPULSE_MILLIS * 1_000_000;

    /** An interrupt line the SCI thread pulses (high, then low). */
    @FunctionalInterface
    public interface InterruptLine {
        void pulse();
    }

    private final int base;
    private final PmTimer timer;
    /** null: the cell was not granted the SCI's pin, so the status is there but nothing interrupts. */
    private final InterruptLine sci;
    private final Thread sciThread;
    /** Toggles of timer bit 23 accounted for by the last clear of TMR_STS. */
    private final AtomicLong cleared = new AtomicLong();
    private volatile int enable;
    private volatile boolean closed;

    /**
     * @param timer the cell's PM timer, whose bit 23 sets TMR_STS
     * @param sci the SCI line, or null if the cell may not have it
     * @param name names the SCI thread
     */
    public Pm1EventBlock(int base, PmTimer timer, InterruptLine sci, String name) {
        if (base < 0 || base > 0x10000 - PORTS) {
            throw new IllegalArgumentException(String.format("PM1 event block base port 0x%x", base));
        }
        this.base = base;
        this.timer = Objects.requireNonNull(timer, "timer");
        this.sci = sci;
        this.sciThread = sci == null ? null
                : Thread.ofPlatform().daemon().name("pm1-sci-" + name).unstarted(this::driveSci);
    }

    public int base() {
        return base;
    }

    /** Whether the SCI is wired (the cell was granted its IOAPIC pin). */
    public boolean interrupts() {
        return sci != null;
    }

    /** Starts the SCI thread (where the SCI is wired). */
    public void start() {
        if (sciThread != null) {
            sciThread.start();
        }
    }

    private long toggles() {
        return timer.ticks() / TOGGLE_TICKS;
    }

    /** PM1a_STS as the guest reads it. */
    public int status() {
        return toggles() > cleared.get() ? TMR_STS : 0;
    }

    public int enable() {
        return enable;
    }

    /** Whether the SCI should be asserted now. */
    boolean asserted() {
        return (enable & TMR_EN) != 0 && (status() & TMR_STS) != 0;
    }

    @Override
    public boolean accepts(int port, int size, boolean write) {
        return PioDevice.within(base, PORTS, port, size);
    }

    @Override
    public int read(int port, int size) {
        int value = (status() | enable << 16) >>> (8 * (port - base));
        return size == 4 ? value : value & ((1 << (8 * size)) - 1);
    }

    @Override
    public void write(int port, int size, int value) {
        int at = port - base;
        long mask = size == 4 ? 0xffffffffL : (1L << (8 * size)) - 1;
        long shifted = (value & mask) << (8 * at);
        long touched = mask << (8 * at);
        if ((shifted & TMR_STS) != 0) {
            long now = toggles();
            cleared.accumulateAndGet(now, Math::max); // write 1 to clear
        }
        if ((touched >>> 16 & 0xffff) != 0) {
            int enMask = (int) (touched >>> 16 & 0xffff);
            enable = enable & ~enMask | (int) (shifted >>> 16) & enMask;
        }
        if (sciThread != null) {
            LockSupport.unpark(sciThread); // the level and the next deadline may have changed
        }
    }

    /** Cell reset (start, load): status and enable cleared. */
    public void reset() {
        enable = 0;
        cleared.accumulateAndGet(toggles(), Math::max);
        if (sciThread != null) {
            LockSupport.unpark(sciThread);
        }
    }

    /** The SCI thread: pulses while asserted (at once, then every REPULSE), sleeps to the next toggle. */
    private void driveSci() {
        boolean wasAsserted = false;
        long lastPulse = 0;
        while (!closed) {
            boolean now = asserted();
            if (now && (!wasAsserted || System.nanoTime() - lastPulse >= REPULSE_NANOS)) {
                sci.pulse();
                lastPulse = System.nanoTime();
            }
            wasAsserted = now;
            long wait = (enable & TMR_EN) != 0 ? timer.nanosUntil((toggles() + 1) * TOGGLE_TICKS) : Long.MAX_VALUE;
            if (now) {
                wait = Math.min(wait, REPULSE_NANOS - (System.nanoTime() - lastPulse));
            }
            if (wait == Long.MAX_VALUE) {
                LockSupport.park(this);
            } else {
                LockSupport.parkNanos(this, Math.max(wait, 1)); // or until a guest write wakes it
            }
        }
    }

    /** Stops the SCI thread (before the VM it drives a line of goes). */
    @Override
    public void close() {
        closed = true;
        if (sciThread != null && sciThread.isAlive()) {
            LockSupport.unpark(sciThread);
            try {
                sciThread.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
