package io.jailhouse.hypervisor.device;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * Bytes the current thread allocates while running some code, for the tests
 * that hold the vCPU paths to allocating nothing (architecture section 4).
 * A JVM that cannot count per-thread allocation skips such a test.
 */
public final class AllocationMeter {
    private final com.sun.management.ThreadMXBean threads;

    private AllocationMeter(com.sun.management.ThreadMXBean threads) {
        this.threads = threads;
    }

    /** The meter, or the calling test is skipped (assumption) where the JVM has none. */
    public static AllocationMeter get() {
        assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean,
                "this JVM cannot count per-thread allocation");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "this JVM cannot count per-thread allocation");
        threads.setThreadAllocatedMemoryEnabled(true);
        return new AllocationMeter(threads);
    }

    /**
     * Runs {@code work} twice, the first time as a warm-up (class
     * initialisation, linkage, compilation), and returns what the second run
     * allocated, in bytes.
     *
     * @param sink receives what {@code work} returned each time, so that it cannot be optimised away
     */
    public long bytesAfterWarmUp(LongSupplier work, long[] sink) {
        sink[0] += work.getAsLong();
        long before = threads.getCurrentThreadAllocatedBytes();
        sink[0] += work.getAsLong();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }
}
