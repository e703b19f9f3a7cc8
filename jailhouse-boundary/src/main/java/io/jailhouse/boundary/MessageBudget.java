package io.jailhouse.boundary;

/**
 * How much a guest may make the hypervisor say: a burst, then a steady
 * rate (a token bucket). What goes over is counted, not kept, so the writer
 * can say how much it left out once the budget allows a line again.
 *
 * <p>Allocates nothing (vCPU threads use it on the exit path) and is not
 * thread-safe: each writer has its own, or guards it with its own lock.
 */
public final class MessageBudget {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long burst;
    private final long perSecond;
    private long tokens;
    private long refilledAt;
    private long dropped;

    /**
     * @param burst units that may go at once from a full budget
     * @param perSecond units the budget regains each second, up to {@code burst}
     */
    public MessageBudget(long burst, long perSecond) {
        if (burst <= 0 || perSecond <= 0) {
            throw new IllegalArgumentException("a message budget needs a positive burst and rate, not " + burst
                    + " and " + perSecond);
        }
        this.burst = burst;
        this.perSecond = perSecond;
        this.tokens = burst;
        this.refilledAt = System.nanoTime();
    }

    /**
     * Whether a message of {@code cost} units may go out at {@code nowNanos}
     * (a {@link System#nanoTime} reading); if not, its cost is counted as
     * dropped.
     */
    public boolean tryTake(long cost, long nowNanos) {
        refill(nowNanos);
        if (cost <= tokens) {
            tokens -= cost;
            return true;
        }
        dropped += cost;
        return false;
    }

    /** Units dropped since the last call; the count starts again at zero. */
    public long takeDropped() {
        long d = dropped;
        dropped = 0;
        return d;
    }

    /** Units that may go at once now (for tests and statistics). */
    public long available(long nowNanos) {
        refill(nowNanos);
        return tokens;
    }

    private void refill(long now) {
        long elapsed = now - refilledAt;
        if (elapsed <= 0) {
            return;
        }
        if (tokens == burst) {
            refilledAt = now; // a full budget gains nothing from waiting
            return;
        }
        // a full budget's worth of time (or more) fills it; below that the product cannot overflow
        if (elapsed >= NANOS_PER_SECOND * ((burst - tokens) / perSecond + 1)) {
            tokens = burst;
            refilledAt = now;
            return;
        }
        long gained = elapsed * perSecond / NANOS_PER_SECOND;
        if (gained > 0) {
            tokens = Math.min(burst, tokens + gained);
            refilledAt += gained * NANOS_PER_SECOND / perSecond; // the fraction of a unit is kept for next time
        }
    }
}
