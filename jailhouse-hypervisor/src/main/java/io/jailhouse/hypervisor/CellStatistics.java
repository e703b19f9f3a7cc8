package io.jailhouse.hypervisor;

import java.util.List;
import java.util.Map;

/**
 * Exit counters of one cell under upstream's names ({@code vmexits_total},
 * {@code vmexits_pio}, ...), summed over the cell and per CPU.
 *
 * @param total counter name to the sum over the cell's CPUs, in upstream's order
 * @param perCpu logical CPU number to that CPU's counters
 */
public record CellStatistics(int cellId, String cellName, Map<String, Long> total,
        Map<Integer, Map<String, Long>> perCpu) {
    /** Upstream's statistics file names, in index order (spec section 3). */
    public static final List<String> NAMES = List.of("vmexits_total", "vmexits_mmio", "vmexits_management",
            "vmexits_hypercall", "vmexits_pio", "vmexits_xapic", "vmexits_cr", "vmexits_cpuid",
            "vmexits_xsetbv", "vmexits_exception", "vmexits_msr_other", "vmexits_msr_x2apic_icr");
}
