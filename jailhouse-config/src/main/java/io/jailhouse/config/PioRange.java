package io.jailhouse.config;

/** {@code struct jailhouse_pio} (4 bytes): the whitelisted port range [base, base+length). */
public record PioRange(int base, int length) {
    public static final int BYTES = 4;

    public boolean contains(int port, int width) {
        return port >= base && port + width <= base + length;
    }

    /** Last port (inclusive); callers check length first. */
    public int last() {
        return base + length - 1;
    }

    public boolean overlaps(PioRange o) {
        return MemoryRegion.overlaps(base, length, o.base, o.length);
    }

    @Override
    public String toString() {
        return String.format("0x%x-0x%x", base, base + length - 1);
    }
}
