package io.jailhouse.boundary;

/**
 * A cell's PCI devices cannot be set up as configured; the message names the
 * cell, the device (index and BDF) and, where it matters, the memory region.
 * Thrown before anything is taken, so a refused config changes nothing.
 */
public final class PciConfigException extends Exception {
    private final boolean busy;

    public PciConfigException(String message) {
        this(message, false);
    }

    /** @param busy the config is fine but collides with a cell that exists (upstream: -EBUSY, else -EINVAL) */
    public PciConfigException(String message, boolean busy) {
        super(message);
        this.busy = busy;
    }

    /** Whether the refusal is a conflict with another cell (EBUSY) rather than a bad config (EINVAL). */
    public boolean busy() {
        return busy;
    }
}
