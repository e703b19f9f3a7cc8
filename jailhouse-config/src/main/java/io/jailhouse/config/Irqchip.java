package io.jailhouse.config;

/**
 * {@code struct jailhouse_irqchip} (32 bytes): an IOAPIC and the pins a cell
 * gets of it.
 *
 * @param id x86: {@code (iommu_index << 16) | source BDF}
 * @param pinBitmap 128 pins, 16 bytes
 */
public record Irqchip(long address, long id, long pinBase, Bitmap pinBitmap) {
    public static final int BYTES = 32;
    public static final int PIN_BITMAP_BYTES = 16;
}
