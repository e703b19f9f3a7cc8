package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PmTimerTest {
    private static final int BASE = 0x408;
    private static final long SECOND = 1_000_000_000L;

    /** A clock the test moves; starts at an arbitrary value, as System.nanoTime does. */
    private long now = -7_000_000_123L;
    private final long start = now;
    private final PmTimer timer = new PmTimer(BASE, () -> now);

    private void advance(long nanos) {
        now = start + nanos;
    }

    private int inl() {
        assertThat(timer.accepts(BASE, 4, false)).isTrue();
        return timer.read(BASE, 4);
    }

    /** floor(ns * 3579545 / 10^9) mod 2^24, the slow and obviously right way. */
    private static int expected(long nanos) {
        return BigInteger.valueOf(nanos).multiply(BigInteger.valueOf(3_579_545))
                .divide(BigInteger.valueOf(SECOND))
                .mod(BigInteger.ONE.shiftLeft(24)).intValueExact();
    }

    @Test
    void startsAtZero() {
        assertThat(inl()).isZero();
    }

    @Test
    void countsAt3579545HzModulo2To24() {
        advance(SECOND);
        assertThat(inl()).isEqualTo(3_579_545);
        advance(5 * SECOND);
        assertThat(inl()).isEqualTo((int) (5 * 3_579_545L % (1 << 24)));
        advance(1_000_000); // 1 ms = 3579.545 ticks, rounded down
        assertThat(inl()).isEqualTo(3579);
        advance(280); // one tick is 279.37 ns
        assertThat(inl()).isEqualTo(1);
        advance(279);
        assertThat(inl()).isZero();
    }

    @Test
    void wrapsAt24Bits() {
        // 2^24 ticks = 4.687 s; the first nanosecond at which the counter is back to 0
        long wrap = (long) Math.ceil((1L << 24) * 1e9 / 3_579_545.0);
        advance(wrap - 1);
        assertThat(inl()).isEqualTo(0xffffff);
        advance(wrap);
        assertThat(inl()).isZero();
        advance(wrap + 3 * 280);
        assertThat(inl()).isEqualTo(3);
    }

    @Test
    void neverShowsBitsAbove24() {
        Random random = new Random(42);
        for (int i = 0; i < 10_000; i++) {
            advance(random.nextLong(0, 1000 * SECOND));
            assertThat(inl() & ~0xffffff).isZero();
        }
    }

    @Test
    void staysExactForUptimesOfYearsAndCenturies() {
        long year = 365L * 24 * 3600 * SECOND;
        for (long nanos : new long[] {year, 10 * year, 100 * year, 292 * year, Long.MAX_VALUE}) {
            now = 0;
            PmTimer fresh = new PmTimer(BASE, () -> now);
            now = nanos;
            assertThat(fresh.read(BASE, 4)).as("after %d ns", nanos).isEqualTo(expected(nanos));
        }
    }

    @Test
    void matchesTheExactFormulaAtRandomTimes() {
        Random random = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            long nanos = random.nextLong(0, Long.MAX_VALUE);
            advance(nanos);
            assertThat(timer.counter()).isEqualTo(expected(nanos));
        }
    }

    @Test
    void isMonotonicBetweenWraps() {
        int last = -1;
        for (long t = 0; t < 4 * SECOND; t += 997_001) {
            advance(t);
            int c = inl();
            assertThat(c).isGreaterThanOrEqualTo(last);
            last = c;
        }
    }

    @Test
    void keepsCountingAcrossTheNanoClocksWrap() {
        now = Long.MAX_VALUE - SECOND / 2;
        PmTimer t = new PmTimer(BASE, () -> now);
        now = Long.MIN_VALUE + SECOND / 2 - 1; // one second later, the clock wrapped
        assertThat(t.read(BASE, 4)).isEqualTo(3_579_545);
    }

    @Test
    void partialReadsReturnTheAddressedBytes() {
        advance(3 * SECOND + 123_456_789);
        int c = inl();
        assertThat(c).isEqualTo(expected(3 * SECOND + 123_456_789));
        assertThat(c & 0xff00).as("a value with bits in every byte").isNotZero();
        assertThat(timer.read(BASE, 1)).isEqualTo(c & 0xff);
        assertThat(timer.read(BASE + 1, 1)).isEqualTo(c >>> 8 & 0xff);
        assertThat(timer.read(BASE + 2, 1)).isEqualTo(c >>> 16 & 0xff);
        assertThat(timer.read(BASE + 3, 1)).isZero();
        assertThat(timer.read(BASE, 2)).isEqualTo(c & 0xffff);
        assertThat(timer.read(BASE + 1, 2)).isEqualTo(c >>> 8 & 0xffff);
        assertThat(timer.read(BASE + 2, 2)).isEqualTo(c >>> 16);
    }

    @Test
    void acceptsAccessesInsideItsFourPortsAndIgnoresWrites() {
        for (int off = 0; off < 4; off++) {
            assertThat(timer.accepts(BASE + off, 1, false)).isTrue();
            assertThat(timer.accepts(BASE + off, 1, true)).isTrue();
            assertThat(timer.accepts(BASE + off, 2, false)).isEqualTo(off <= 2);
            assertThat(timer.accepts(BASE + off, 4, true)).isEqualTo(off == 0);
            assertThat(timer.accepts(BASE + off, 3, false)).isFalse();
        }
        assertThat(timer.accepts(BASE - 1, 1, false)).isFalse();
        assertThat(timer.accepts(BASE + 4, 1, false)).isFalse();

        advance(SECOND);
        timer.write(BASE, 4, 0);
        timer.write(BASE + 1, 1, 0xff);
        assertThat(inl()).isEqualTo(3_579_545);
    }

    @Test
    void runsOnTheSystemClockByDefault() throws InterruptedException {
        PmTimer real = new PmTimer(BASE);
        int first = real.read(BASE, 4);
        Thread.sleep(20);
        int second = real.read(BASE, 4);
        int elapsed = (second - first) & 0xffffff;
        assertThat(elapsed).isBetween(3579545 / 50, 3579545 * 3); // at least 20 ms, well under 4.6 s
    }

    @Test
    void refusesABaseWhosePortsDoNotFit() {
        assertThatThrownBy(() -> new PmTimer(0xfffd)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PmTimer(-4)).isInstanceOf(IllegalArgumentException.class);
    }
}
