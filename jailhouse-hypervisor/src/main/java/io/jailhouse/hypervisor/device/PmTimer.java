package io.jailhouse.hypervisor.device;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The ACPI PM timer: a free-running 24-bit counter at 3.579545 MHz in the
 * 32-bit register at {@code base} (4 ports). The inmate library reads it with
 * {@code inl(base) & 0xffffff} for its clock and busy waits (spec 5.4).
 *
 * <p>The counter is derived from a nanosecond clock on every read instead of
 * being stored, so it needs no thread and no state: ticks = floor(elapsed ns
 * × 3579545 / 10⁹), computed from whole seconds and the remainder so that no
 * intermediate overflows. The multiplication of whole seconds may wrap past
 * 2⁶⁴ after some 80 000 years, which is harmless: 2²⁴ divides 2⁶⁴, so the low
 * 24 bits stay exact. The counter starts at 0 when the device is made.
 *
 * <p>Reads of 1 or 2 bytes return the addressed bytes of the register (bits
 * 24-31 are 0); writes are accepted and ignored (the register is read-only).
 */
public final class PmTimer implements PioDevice {
    /** Number of ports of the PM timer register. */
    public static final int PORTS = 4;
    public static final long FREQUENCY_HZ = 3_579_545L;
    public static final int COUNTER_MASK = 0xffffff;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final int base;
    private final LongSupplier nanoClock;
    private final long origin;

    /** A PM timer at {@code base} driven by {@link System#nanoTime()}. */
    public PmTimer(int base) {
        this(base, System::nanoTime);
    }

    /**
     * @param base first of the four ports
     * @param nanoClock monotonic nanoseconds; the counter counts from its value now
     */
    public PmTimer(int base, LongSupplier nanoClock) {
        if (base < 0 || base > 0x10000 - PORTS) {
            throw new IllegalArgumentException(String.format("PM timer base port 0x%x", base));
        }
        this.base = base;
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.origin = nanoClock.getAsLong();
    }

    public int base() {
        return base;
    }

    /** The current 24-bit counter value. */
    public int counter() {
        return (int) ticks() & COUNTER_MASK;
    }

    /** Ticks since the device was made: the counter without its 24-bit wrap. */
    public long ticks() {
        long elapsed = nanoClock.getAsLong() - origin; // difference stays right across nanoTime wrap
        long seconds = Math.floorDiv(elapsed, NANOS_PER_SECOND);
        long nanos = Math.floorMod(elapsed, NANOS_PER_SECOND); // < 10^9, so nanos * FREQUENCY_HZ < 2^52
        return seconds * FREQUENCY_HZ + nanos * FREQUENCY_HZ / NANOS_PER_SECOND;
    }

    /** Nanoseconds from now until the counter reaches {@code ticks} (0 if it has). */
    public long nanosUntil(long ticks) {
        long left = ticks - ticks();
        if (left <= 0) {
            return 0;
        }
        // Rounded up, so that a wait of this long never ends a tick early.
        return left / FREQUENCY_HZ * NANOS_PER_SECOND + ((left % FREQUENCY_HZ) * NANOS_PER_SECOND + FREQUENCY_HZ - 1)
                / FREQUENCY_HZ;
    }

    @Override
    public boolean accepts(int port, int size, boolean write) {
        return PioDevice.within(base, PORTS, port, size);
    }

    @Override
    public int read(int port, int size) {
        int value = counter() >>> (8 * (port - base));
        return size == 4 ? value : value & ((1 << (8 * size)) - 1);
    }

    @Override
    public void write(int port, int size, int value) {
        // Read-only register; upstream lets cells write it without effect.
    }
}
