package io.jailhouse.hypervisor.pci;

/** PCI configuration space registers, bits and helpers shared by the config-space classes. */
public final class Pci {
    /** Registers of the type-0 header. */
    public static final int VENDOR_ID = 0x00;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int CLASS_REVISION = 0x08;
    public static final int CACHE_LINE = 0x0c;
    public static final int BAR0 = 0x10;
    /** Last byte of the six BARs. */
    public static final int BAR_END = 0x27;
    public static final int SUBSYSTEM = 0x2c;
    public static final int ROM_BAR = 0x30;
    public static final int CAPABILITY_POINTER = 0x34;
    public static final int INTERRUPT_LINE = 0x3c;
    /** Size of the standard header; capabilities follow. */
    public static final int HEADER_SIZE = 0x40;
    /** Config space of one function through port I/O (8-bit register numbers). */
    public static final int LEGACY_CONFIG_SIZE = 0x100;
    /** Config space of one function through MMCONFIG (4 KiB per function). */
    public static final int CONFIG_SIZE = 0x1000;

    public static final int CMD_IO = 0x0001;
    public static final int CMD_MEM = 0x0002;
    public static final int CMD_MASTER = 0x0004;
    public static final int CMD_INTX_OFF = 0x0400;
    public static final int STS_CAPS = 0x0010;

    public static final int CAP_ID_MSI = 0x05;
    public static final int CAP_ID_VNDR = 0x09;
    public static final int CAP_ID_MSIX = 0x11;
    /** MSI-X message control bits (in the upper half of the capability's first dword). */
    public static final int MSIX_CTRL_FMASK = 0x4000;
    public static final int MSIX_CTRL_ENABLE = 0x8000;

    /** Memory BAR type bits: 64-bit (bits 2:1 = 10). */
    public static final int BAR_MEM_TYPE_64 = 0x4;
    public static final int BAR_IO_SPACE = 0x1;

    /** A BDF no function can have (bdf is 16 bits). */
    public static final int NO_BDF = -1;

    private Pci() {
    }

    /** All ones in the low {@code size} bytes (size 1, 2 or 4). */
    public static int sizeMask(int size) {
        return size >= 4 ? -1 : (1 << (size * 8)) - 1;
    }

    /** The bits of a dword an access of {@code size} bytes at {@code reg} covers. */
    public static int accessMask(int reg, int size) {
        return sizeMask(size) << ((reg & 3) * 8);
    }

    /** Whether an access of {@code size} bytes at {@code reg} is 1, 2 or 4 bytes and stays inside one dword. */
    public static boolean withinDword(int reg, int size) {
        return (size == 1 || size == 2 || size == 4) && (reg & 3) + size <= 4;
    }
}
