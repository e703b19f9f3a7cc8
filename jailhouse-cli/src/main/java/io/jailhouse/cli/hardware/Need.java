package io.jailhouse.cli.hardware;

/** How much the hypervisor depends on a checked feature. */
public enum Need {
    /** Without it the hypervisor cannot run: the check fails. */
    REQUIRED,
    /** Needed for strict partitioning (one host CPU per cell CPU, isolated); relaxed mode runs without it. */
    STRICT,
    /**
     * Keeps host tasks off the cell CPUs in strict partitioning; without it each
     * cell CPU still has its own host CPU, pinned, but host tasks share it.
     */
    ISOLATION,
    /** Used when present; something is slower or unavailable without it. */
    OPTIONAL,
    /** Reported for the user's information only. */
    INFORMATIONAL
}
