package io.jailhouse.hypervisor.pci;

/**
 * A PCI function the daemon emulates for one cell, at the BDF the cell's
 * config gives it (ivshmem, or an emulated stand-in for a physical device).
 * {@link PciConfigSpace} routes the cell's config-space accesses here.
 *
 * <p>Accesses always stay inside one dword: {@code reg & 3} plus
 * {@code size} (1, 2 or 4) is at most 4, and {@code reg} is below
 * {@link Pci#CONFIG_SIZE}. Everything but {@link #reset()} is called on the
 * cell's vCPU threads and keeps the hot-path rules: no allocation, no lock,
 * no logging, no exception.
 */
public interface VirtualPciFunction {
    /** bus << 8 | device << 3 | function. */
    int bdf();

    /** The value at {@code reg}, in the low {@code size*8} bits. Reads of an assigned function never fail. */
    int readConfig(int reg, int size);

    /**
     * Whether the cell may write {@code size} bytes at {@code reg} at all
     * (the header write policy, capability write permissions). A refused
     * write is fatal for the cell.
     */
    boolean acceptsConfigWrite(int reg, int size);

    /**
     * Whether the cell may write {@code value} there: {@link #acceptsConfigWrite(int, int)}
     * plus any rule that depends on the value (ivshmem: an MSI-X vector it
     * would enable must not target a CPU outside the cell).
     */
    default boolean acceptsConfigWrite(int reg, int size, int value) {
        return acceptsConfigWrite(reg, size);
    }

    /**
     * Performs a write that {@link #acceptsConfigWrite(int, int, int)}
     * accepted. A write it would refuse (another vCPU of the cell may have
     * changed something in between) is ignored.
     */
    void writeConfig(int reg, int size, int value);

    /**
     * Back to power-on state (cell creation, start, load/shutdown): called
     * on the management thread while the cell's CPUs are parked.
     */
    void reset();
}
