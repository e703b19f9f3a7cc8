package io.jailhouse.boundary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MessageBudgetTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aBurstGoesThenTheRateAndWhatGoesOverIsCounted() {
        long t0 = System.nanoTime() + SECOND; // after construction: the budget is full
        MessageBudget b = new MessageBudget(10, 2);
        int sent = 0;
        for (int i = 0; i < 1000; i++) {
            sent += b.tryTake(1, t0) ? 1 : 0;
        }
        assertThat(sent).isEqualTo(10);
        assertThat(b.takeDropped()).isEqualTo(990);
        assertThat(b.takeDropped()).isZero();

        assertThat(b.tryTake(1, t0 + SECOND / 4)).as("a quarter second regains half a unit, which is not one").isFalse();
        assertThat(b.tryTake(1, t0 + SECOND / 2)).as("the quarter was kept: half a second regains one unit").isTrue();
        assertThat(b.tryTake(1, t0 + SECOND / 2)).isFalse();
        assertThat(b.tryTake(1, t0 + SECOND)).as("another half second, another unit").isTrue();
        assertThat(b.takeDropped()).isEqualTo(2);
    }

    @Test
    void aLongSilenceFillsTheBudgetButNeverBeyondTheBurst() {
        long t0 = System.nanoTime() + SECOND;
        MessageBudget b = new MessageBudget(100, 11_520);
        assertThat(b.tryTake(100, t0)).isTrue();
        assertThat(b.available(t0 + 365L * 24 * 3600 * SECOND)).isEqualTo(100);
        assertThat(b.tryTake(101, t0 + 366L * 24 * 3600 * SECOND)).as("more than the burst never goes").isFalse();
    }

    @Test
    void timeGoingBackwardsGainsNothing() {
        long t0 = System.nanoTime() + SECOND;
        MessageBudget b = new MessageBudget(3, 1);
        assertThat(b.tryTake(3, t0)).isTrue();
        assertThat(b.tryTake(1, t0 - 10 * SECOND)).isFalse();
        assertThat(b.tryTake(1, t0 + SECOND)).isTrue();
    }

    @Test
    void aBudgetNeedsAPositiveBurstAndRate() {
        assertThatThrownBy(() -> new MessageBudget(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MessageBudget(1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
