package io.jailhouse.config;

/**
 * {@code struct jailhouse_console} (32 bytes): the debug console of the system
 * and the console handed to an inmate through its comm region.
 *
 * @param address PIO port or MMIO base (u64)
 * @param size MMIO size (u32)
 * @param type one of the {@code TYPE_*} codes (u16)
 * @param flags access, register distance, framebuffer and quirk bits (u16)
 * @param divider UART divisor, 0 = leave the UART as it is (u32)
 * @param gateNr clock gate bit, ARM (u32)
 * @param clockReg clock gate register, ARM (u64)
 */
public record Console(long address, long size, int type, int flags, long divider, long gateNr, long clockReg) {
    public static final int BYTES = 32;

    public static final int TYPE_NONE = 0x0000;
    public static final int TYPE_EFIFB = 0x0001;
    public static final int TYPE_8250 = 0x0002;

    public static final int ACCESS_MMIO = 0x0001;
    public static final int REGDIST_4 = 0x0002;

    public static final Console NONE = new Console(0, 0, TYPE_NONE, 0, 0, 0, 0);

    /** Console type names in YAML, by code (index = code). */
    public static final String[] TYPE_NAMES = {
        "none", "efifb", "8250", "pl011", "xuartps", "mvebu", "hscif", "scifa", "imx", "imx-lpuart", "scif"
    };

    public static final FlagNames FLAG_NAMES = FlagNames.of("console",
            "access-mmio", ACCESS_MMIO, "regdist-4", REGDIST_4, "fb-1920x1080", 0x0004,
            "inverted-gate", 0x1000, "mdr-quirk", 0x2000);

    /** An 8250 UART at a PIO port, as the x86 configs use. */
    public static Console pio8250(int port) {
        return new Console(port, 0, TYPE_8250, 0, 0, 0, 0);
    }

    public boolean isMmio() {
        return (flags & ACCESS_MMIO) != 0;
    }

    public static String typeName(int type) {
        return type >= 0 && type < TYPE_NAMES.length ? TYPE_NAMES[type] : Numbers.hex(type);
    }
}
