package io.jailhouse.hypervisor.device;

/**
 * A device that knows upstream's own FATAL line for the accesses it refuses
 * (the PCI config space and MSI-X regions print lines naming the device and
 * register instead of the bus's generic {@code Invalid PIO} or
 * {@code Invalid MMIO/RAM} line).
 *
 * <p>The device records what it refused when {@code accepts} or
 * {@code acceptsWrite} returns false, in one atomic store and without
 * allocating; the vCPU asks for the line afterwards, outside the exit loop.
 * If two vCPUs of a cell are refused by the same device at the same moment,
 * each may print the other's line (both are FATAL for the cell anyway).
 */
public interface FaultReporter {
    /**
     * The FATAL line, without a line break, for the last access this device
     * refused; null when the bus's generic line applies (the device refused
     * nothing, or refused an access upstream reports generically). Formats a
     * String: not for the exit loop.
     */
    String lastFaultLine();
}
