package io.jailhouse.config.host;

import io.jailhouse.config.Console;

/**
 * The host UART named on the command line ({@code ttyS0}) as a Jailhouse
 * debug console, from {@code /sys/class/tty/NAME/{io_type,port,iomem_base,
 * iomem_reg_shift}}; {@code none} means no console.
 */
public final class SerialConsole {
    public static final String NONE = "none";

    // Linux's UPIO_* access types (include/linux/serial_core.h)
    private static final int UPIO_PORT = 0;
    private static final int UPIO_MEM = 2;
    private static final int UPIO_MEM32 = 3;
    private static final long MMIO_WINDOW = 0x1000;
    private static final int PORT_UNKNOWN = 0;

    private SerialConsole() {
    }

    public static Console read(HostRoot root, String name) throws HostDataException {
        if (name.equals(NONE)) {
            return Console.NONE;
        }
        if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
            throw new HostDataException("console '" + name + "'", "not a tty name like ttyS0");
        }
        String dir = "/sys/class/tty/" + name;
        if (!root.exists(dir)) {
            throw new HostDataException(root.describe(dir), "no such tty; name an existing serial port with -c, or -c none");
        }
        if (!root.exists(dir + "/io_type")) {
            throw new HostDataException(root.describe(dir), "not a serial port (no io_type); name a ttyS port, or -c none");
        }
        // The serial driver registers ttyS ports whether or not a UART answers; type 0 means none did.
        if (root.exists(dir + "/type") && parseInt(root, dir + "/type") == PORT_UNKNOWN) {
            throw new HostDataException(root.describe(dir + "/type"),
                    "0: no UART was detected behind " + name + "; name another port with -c, or -c none");
        }
        int ioType = parseInt(root, dir + "/io_type");
        switch (ioType) {
            case UPIO_PORT -> {
                long port = parseLong(root, dir + "/port");
                if (port == 0 || port > 0xffff) {
                    throw new HostDataException(root.describe(dir + "/port"), String.format(
                            "port 0x%x is not a UART's I/O port (is a UART present on %s?)", port, name));
                }
                return new Console(port, 0, Console.TYPE_8250, 0, 0, 0, 0);
            }
            case UPIO_MEM, UPIO_MEM32 -> {
                long base = parseLong(root, dir + "/iomem_base");
                int shift = parseInt(root, dir + "/iomem_reg_shift");
                if (base == 0) {
                    throw new HostDataException(root.describe(dir + "/iomem_base"), "MMIO UART without an address");
                }
                int flags = Console.ACCESS_MMIO;
                if (shift == 2) {
                    flags |= Console.REGDIST_4;
                } else if (shift != 0) {
                    throw new HostDataException(root.describe(dir + "/iomem_reg_shift"),
                            "register shift " + shift + "; the 8250 console driver handles 0 and 2");
                }
                return new Console(base, MMIO_WINDOW, Console.TYPE_8250, flags, 0, 0, 0);
            }
            default -> throw new HostDataException(root.describe(dir + "/io_type"),
                    "UART access type " + ioType + " is not supported (port I/O or 8/32-bit MMIO are)");
        }
    }

    private static long parseLong(HostRoot root, String path) throws HostDataException {
        String v = root.readValue(path);
        try {
            return Long.decode(v);
        } catch (NumberFormatException e) {
            throw new HostDataException(root.describe(path), "'" + v + "' is not a number");
        }
    }

    private static int parseInt(HostRoot root, String path) throws HostDataException {
        long v = parseLong(root, path);
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new HostDataException(root.describe(path), v + " is out of range");
        }
        return (int) v;
    }
}
