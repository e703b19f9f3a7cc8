package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The ACPI PM1a event block: TMR_STS on timer bit-23 toggles, write 1 to clear, TMR_EN, the SCI's level. */
class Pm1EventBlockTest {
    private static final int BASE = 0x600;
    /** Nanoseconds of 2^23 PM-timer ticks, plus one so a toggle is surely past. */
    private static final long TOGGLE_NANOS = (1L << 23) * 1_000_000_000L / PmTimer.FREQUENCY_HZ + 1;

    private final AtomicLong now = new AtomicLong(1_000);
    private final PmTimer timer = new PmTimer(0x608, now::get);
    /** SCI pulses, with the time of each. */
    private final java.util.List<Long> pulses = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Pm1EventBlock block;

    private Pm1EventBlock withSci(PmTimer t) {
        block = new Pm1EventBlock(BASE, t, () -> pulses.add(System.nanoTime()), "test");
        return block;
    }

    private Pm1EventBlock withSci() {
        return withSci(timer);
    }

    private void awaitPulses(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pulses.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(pulses).as("SCI pulses").hasSizeGreaterThanOrEqualTo(n);
    }

    @AfterEach
    void close() {
        if (block != null) {
            block.close();
        }
    }

    @Test
    void tmrStsIsSetWhenTimerBit23TogglesAndClearedByWritingOne() {
        Pm1EventBlock b = withSci();
        assertThat(b.read(BASE, 2)).isZero();
        now.addAndGet(TOGGLE_NANOS - 1_000_000); // just before the first toggle
        assertThat(timer.counter() & 1 << 23).isZero();
        assertThat(b.read(BASE, 2)).isZero();
        now.addAndGet(1_000_000);
        assertThat(timer.counter() & 1 << 23).isNotZero();
        assertThat(b.read(BASE, 2)).isEqualTo(Pm1EventBlock.TMR_STS);
        assertThat(b.read(BASE, 1)).isEqualTo(1);
        assertThat(b.read(BASE + 1, 1)).isZero();

        b.write(BASE, 2, 0); // writing 0 clears nothing
        assertThat(b.read(BASE, 2)).isEqualTo(Pm1EventBlock.TMR_STS);
        b.write(BASE, 2, 0xfffe); // nor do the other bits
        assertThat(b.read(BASE, 2)).isEqualTo(Pm1EventBlock.TMR_STS);
        b.write(BASE, 2, Pm1EventBlock.TMR_STS);
        assertThat(b.read(BASE, 2)).isZero();

        // several toggles while nobody looks still read as one pending status; the next toggle sets it again
        now.addAndGet(3 * TOGGLE_NANOS);
        assertThat(b.read(BASE, 2)).isEqualTo(Pm1EventBlock.TMR_STS);
        b.write(BASE, 1, 1);
        assertThat(b.read(BASE, 2)).isZero();
        now.addAndGet(TOGGLE_NANOS);
        assertThat(b.read(BASE, 2)).isEqualTo(Pm1EventBlock.TMR_STS);
    }

    @Test
    void theEnableRegisterReadsBackWhatWasWrittenInAnyWidth() {
        Pm1EventBlock b = withSci();
        b.write(BASE + 2, 2, 0x0121);
        assertThat(b.read(BASE + 2, 2)).isEqualTo(0x0121);
        b.write(BASE + 3, 1, 0x05);
        assertThat(b.read(BASE + 2, 2)).isEqualTo(0x0521);
        b.write(BASE, 4, 0xabcd_0000); // status half: all zeros, so nothing cleared; enable = 0xabcd
        assertThat(b.enable()).isEqualTo(0xabcd);
        assertThat(b.read(BASE, 4)).isEqualTo(0xabcd_0000);
        now.addAndGet(TOGGLE_NANOS);
        assertThat(b.read(BASE, 4)).isEqualTo(0xabcd_0001);
        assertThat(b.accepts(BASE + 3, 2, false)).isFalse();
        assertThat(b.accepts(BASE + 4, 1, true)).isFalse();
        assertThat(b.accepts(BASE, 4, true)).isTrue();
    }

    @Test
    void theSciIsAssertedWhileTmrStsAndTmrEnAreBothSet() {
        Pm1EventBlock b = withSci();
        now.addAndGet(TOGGLE_NANOS);
        assertThat(b.asserted()).isFalse();
        b.write(BASE + 2, 2, Pm1EventBlock.TMR_EN);
        assertThat(b.asserted()).isTrue();
        b.write(BASE, 2, b.read(BASE, 2)); // what ioapic-demo's handler does
        assertThat(b.asserted()).isFalse();
        now.addAndGet(TOGGLE_NANOS);
        assertThat(b.asserted()).isTrue();
        b.write(BASE + 2, 2, 0);
        assertThat(b.asserted()).isFalse();
        b.write(BASE + 2, 2, Pm1EventBlock.TMR_EN);
        assertThat(b.asserted()).isTrue();
        b.reset(); // cell start: enable and status cleared
        assertThat(b.asserted()).isFalse();
        assertThat(b.read(BASE, 4)).isZero();
    }

    @Test
    void enablingWithTheStatusPendingPulsesTheSciAtOnce() throws Exception {
        Pm1EventBlock b = withSci();
        b.start();
        now.addAndGet(TOGGLE_NANOS);
        b.write(BASE + 2, 2, Pm1EventBlock.TMR_EN);
        awaitPulses(1);
        b.write(BASE, 2, Pm1EventBlock.TMR_STS);
        assertThat(b.asserted()).isFalse();
    }

    @Test
    void theTogglesPulseTheSciWhileTheGuestWaitsAndAgainWhileItLeavesTheStatusSet() throws Exception {
        // A clock running in real time, put 20 ms short of a toggle once the timer counts from it.
        AtomicLong shift = new AtomicLong();
        PmTimer realTimer = new PmTimer(0x608, () -> System.nanoTime() + shift.get());
        shift.set(TOGGLE_NANOS - TimeUnit.MILLISECONDS.toNanos(20));
        Pm1EventBlock b = withSci(realTimer);
        b.start();
        b.write(BASE + 2, 2, Pm1EventBlock.TMR_EN);
        awaitPulses(1);
        assertThat(b.read(BASE, 2)).as("the toggle set the status").isEqualTo(Pm1EventBlock.TMR_STS);
        // Left set, the status interrupts again, as a level the guest never cleared would.
        awaitPulses(2);
        assertThat(pulses.get(1) - pulses.get(0)).isGreaterThanOrEqualTo(
                TimeUnit.MILLISECONDS.toNanos(Pm1EventBlock.REPULSE_MILLIS));
        b.write(BASE, 2, Pm1EventBlock.TMR_STS);
        assertThat(b.asserted()).isFalse();
    }

    @Test
    void withoutTheSciPinTheStatusIsThereButNothingInterrupts() {
        Pm1EventBlock b = new Pm1EventBlock(BASE, timer, null, "test");
        assertThat(b.interrupts()).isFalse();
        b.start(); // no thread to start
        b.write(BASE + 2, 2, Pm1EventBlock.TMR_EN);
        now.addAndGet(TOGGLE_NANOS);
        assertThat(b.read(BASE, 2)).isEqualTo(Pm1EventBlock.TMR_STS);
        b.write(BASE, 2, 1);
        assertThat(b.read(BASE, 2)).isZero();
        b.close();
    }

    @Test
    void theBaseMustLeaveRoomForItsFourPorts() {
        assertThatThrownBy(() -> new Pm1EventBlock(0xfffd, timer, null, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Pm1EventBlock(-1, timer, null, "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void guestAccessesAllocateNothing() {
        AllocationMeter meter = AllocationMeter.get();
        Pm1EventBlock b = new Pm1EventBlock(BASE, timer, () -> pulses.add(0L), "test");
        long[] sink = {0};
        long allocated = meter.bytesAfterWarmUp(() -> {
            long s = 0;
            for (int i = 0; i < 100_000; i++) {
                s += b.read(BASE, 2);
                b.write(BASE + 2, 2, i & 1);
                b.write(BASE, 2, 1);
                now.addAndGet(i % 1000 == 0 ? TOGGLE_NANOS : 1);
            }
            return s;
        }, sink);
        assertThat(allocated).isLessThan(16 * 1024);
    }
}
