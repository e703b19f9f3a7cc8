package io.jailhouse.protocol;

import java.util.List;
import java.util.Map;

/**
 * Exit counters of one cell under upstream's names ({@code vmexits_total},
 * {@code vmexits_pio}, ...), summed over the cell and per CPU.
 *
 * @param total counter name to the sum over the cell's CPUs, in upstream's order
 * @param perCpu logical CPU number to that CPU's counters
 * @param note why a cell has no counters (the root cell), or null
 */
public record CellStatistics(int cellId, String cellName, Map<String, Long> total,
        Map<Integer, Map<String, Long>> perCpu, String note) {
    /** Upstream's statistics file names, in index order (spec section 3). */
    public static final List<String> NAMES = List.of("vmexits_total", "vmexits_mmio", "vmexits_management",
            "vmexits_hypercall", "vmexits_pio", "vmexits_xapic", "vmexits_cr", "vmexits_cpuid",
            "vmexits_xsetbv", "vmexits_exception", "vmexits_msr_other", "vmexits_msr_x2apic_icr");

    /**
     * Upstream virtualizes the root cell and counts its exits; here the root
     * cell is the host Linux itself, which never leaves a VM.
     */
    public static final String ROOT_NOTE = "the root cell is the host Linux itself, not a VM: it makes no VM exits "
            + "for the hypervisor to count";

    /** A cell's counters. */
    public CellStatistics(int cellId, String cellName, Map<String, Long> total, Map<Integer, Map<String, Long>> perCpu) {
        this(cellId, cellName, total, perCpu, null);
    }

    /** The root cell's answer: no counters, and why. */
    public static CellStatistics ofRoot(String rootName) {
        return new CellStatistics(0, rootName, Map.of(), Map.of(), ROOT_NOTE);
    }

    /** Whether the cell has counters at all (the root cell has none). */
    public boolean counted() {
        return note == null;
    }
}
