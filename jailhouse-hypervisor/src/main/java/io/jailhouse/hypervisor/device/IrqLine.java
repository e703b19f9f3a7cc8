package io.jailhouse.hypervisor.device;

/**
 * An interrupt line a device model drives, as its output pin would: the
 * level it holds. The interrupt controller behind it decides what an edge or
 * a level means (an edge-triggered IOAPIC pin fires on the rising edge).
 * Called on vCPU threads: implementations allocate nothing.
 */
@FunctionalInterface
public interface IrqLine {
    /** A line wired to nothing. */
    IrqLine NONE = high -> {
    };

    void set(boolean high);
}
