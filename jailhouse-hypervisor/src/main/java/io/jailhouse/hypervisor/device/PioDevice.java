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

    /** Whether a 1-, 2- or 4-byte access at {@code port} lies within the {@code count} ports from {@code base}. */
    static boolean within(int base, int count, int port, int size) {
        int offset = port - base;
        return (size == 1 || size == 2 || size == 4) && offset >= 0 && offset <= count - size;
    }
}
