package io.jailhouse.config;

/**
 * The x86 arm of the platform info: PM timer port, APIC mode, VT-d interrupt
 * limit and the TSC/APIC frequencies (0 = measure at enable). Its last 28
 * bytes are unused and must be zero.
 */
public record X86Platform(int pmTimerAddress, int apicMode, int padding, long vtdInterruptLimit, long tscKhz,
        long apicKhz) implements ArchPlatform {
    public static final int APIC_MODE_AUTO = 0;
    public static final int APIC_MODE_XAPIC = 1;
    public static final int APIC_MODE_X2APIC = 2;
    public static final String[] APIC_MODE_NAMES = {"auto", "xapic", "x2apic"};
    public static final int USED_BYTES = 16;
}
