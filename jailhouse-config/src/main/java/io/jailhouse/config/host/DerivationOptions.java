package io.jailhouse.config.host;

import io.jailhouse.config.MemoryRegion;

/**
 * The choices {@code jailhouse config create} leaves to the user.
 *
 * @param hypervisorMemory bytes of {@code hypervisor_memory} ({@code --mem-hv})
 * @param inmateMemory bytes of the root cell's inmate memory window ({@code --mem-inmates})
 * @param console the tty to use as debug console, or {@code none} ({@code -c})
 */
public record DerivationOptions(long hypervisorMemory, long inmateMemory, String console) {
    public static final long DEFAULT_HYPERVISOR_MEMORY = 6L << 20;
    /**
     * 76 MiB after 6 MiB of hypervisor memory at 0x3a000000 ends at 0x3f200000:
     * the window then holds every bundled demo cell's memory (0x3a600000 up to
     * the ivshmem regions below 0x3f200000).
     */
    public static final long DEFAULT_INMATE_MEMORY = 76L << 20;
    public static final String DEFAULT_CONSOLE = "ttyS0";

    public DerivationOptions {
        check("--mem-hv", hypervisorMemory);
        check("--mem-inmates", inmateMemory);
        if (Long.compareUnsigned(hypervisorMemory + inmateMemory, hypervisorMemory) < 0) {
            throw new IllegalArgumentException("--mem-hv plus --mem-inmates does not fit 64 bits");
        }
        if (console == null || console.isBlank()) {
            throw new IllegalArgumentException("-c needs a console name like ttyS0, or none");
        }
    }

    public static DerivationOptions defaults() {
        return new DerivationOptions(DEFAULT_HYPERVISOR_MEMORY, DEFAULT_INMATE_MEMORY, DEFAULT_CONSOLE);
    }

    private static void check(String option, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException(option + " must be larger than 0");
        }
        if ((size & (MemoryRegion.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(option + " " + size + " is not a multiple of 4 KiB");
        }
    }
}
