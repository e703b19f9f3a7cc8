package io.jailhouse.cli;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting for a condition, not for a time: polls every 10 ms and fails naming what did not come. */
final class Await {
    private Await() {
    }

    static void until(BooleanSupplier condition, String what) throws InterruptedException {
        until(condition, what, Duration.ofSeconds(20));
    }

    static void until(BooleanSupplier condition, String what, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
