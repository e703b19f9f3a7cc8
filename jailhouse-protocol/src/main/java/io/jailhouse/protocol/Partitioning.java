package io.jailhouse.protocol;

/** How logical cell CPUs map onto host CPUs. */
public enum Partitioning {
    /** Every cell CPU is a distinct existing host CPU, and its vCPU thread is pinned to it. */
    STRICT,
    /**
     * Logical CPUs may share host CPUs (a machine smaller than its config);
     * for development and tests only, as Jailhouse inside QEMU.
     */
    RELAXED
}
