package io.jailhouse.hypervisor.device;

/**
 * A device on the port I/O bus. Called on vCPU threads, so implementations
 * follow the hot-path rules: no allocation, no lock, no logging, no exception.
 */
public interface PioDevice {
    /**
     * Whether this device serves an access of {@code size} bytes (1, 2, 4) at
     * {@code port}; false = invalid access (the cell fails with upstream's FATAL).
     */
    boolean accepts(int port, int size, boolean write);

    /** Value read, in the low size*8 bits. Only called after accepts(...) returned true. */
    int read(int port, int size);

    void write(int port, int size, int value);

    /**
     * Whether this device accepts writing {@code value} ({@code size} bytes at
     * {@code port}). Devices whose refusal depends on the value written
     * override it; the default is {@code accepts(port, size, true)}. The vCPU
     * loop asks this instead of {@link #accepts} for writes.
     */
    default boolean acceptsWrite(int port, int size, int value) {
        return accepts(port, size, true);
    }
}
