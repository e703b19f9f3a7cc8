package io.jailhouse.hypervisor.device;

/**
 * A device on the MMIO bus; offsets are relative to the device's base.
 * Called on vCPU threads, under the same hot-path rules as {@link PioDevice}.
 */
public interface MmioDevice {
    /** Whether this device serves an access of {@code size} bytes (1, 2, 4, 8) at {@code offset}. */
    boolean accepts(long offset, int size, boolean write);

    /** Value read, in the low size*8 bits. Only called after accepts(...) returned true. */
    long read(long offset, int size);

    void write(long offset, int size, long value);

    /**
     * Whether this device accepts writing {@code value} ({@code size} bytes at
     * {@code offset}). Devices whose refusal depends on the value written
     * override it; the default is {@code accepts(offset, size, true)}. The
     * vCPU loop asks this instead of {@link #accepts} for writes.
     */
    default boolean acceptsWrite(long offset, int size, long value) {
        return accepts(offset, size, true);
    }
}
