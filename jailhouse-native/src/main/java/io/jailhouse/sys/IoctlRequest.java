package io.jailhouse.sys;

/**
 * An ioctl request number with the name used in error messages. The numbers
 * are built as Linux's {@code _IO/_IOR/_IOW/_IOWR} macros build them
 * (asm-generic/ioctl.h, which x86 uses): direction in bits 30-31, argument
 * size in bits 16-29, type in bits 8-15, number in bits 0-7.
 */
public record IoctlRequest(String name, long code) {
    private static final int DIR_NONE = 0;
    private static final int DIR_WRITE = 1;
    private static final int DIR_READ = 2;
    private static final int SIZE_BITS = 14;

    public IoctlRequest {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("an ioctl request needs a name for its error messages");
        }
    }

    /** {@code _IO(type, nr)}: no argument struct. */
    public static IoctlRequest io(String name, int type, int nr) {
        return new IoctlRequest(name, encode(DIR_NONE, type, nr, 0));
    }

    /** {@code _IOR(type, nr, size)}: the kernel writes {@code size} bytes to the argument. */
    public static IoctlRequest ior(String name, int type, int nr, long size) {
        return new IoctlRequest(name, encode(DIR_READ, type, nr, size));
    }

    /** {@code _IOW(type, nr, size)}: the kernel reads {@code size} bytes from the argument. */
    public static IoctlRequest iow(String name, int type, int nr, long size) {
        return new IoctlRequest(name, encode(DIR_WRITE, type, nr, size));
    }

    /** {@code _IOWR(type, nr, size)}. */
    public static IoctlRequest iowr(String name, int type, int nr, long size) {
        return new IoctlRequest(name, encode(DIR_READ | DIR_WRITE, type, nr, size));
    }

    private static long encode(int dir, int type, int nr, long size) {
        if (type < 0 || type > 0xff || nr < 0 || nr > 0xff) {
            throw new IllegalArgumentException("ioctl type " + type + " / number " + nr + " must each fit 8 bits");
        }
        if (size < 0 || size >= 1L << SIZE_BITS) {
            throw new IllegalArgumentException("ioctl argument size " + size + " does not fit 14 bits");
        }
        return (long) dir << 30 | size << 16 | (long) type << 8 | nr;
    }

    @Override
    public String toString() {
        return name + "(0x" + Long.toHexString(code) + ")";
    }
}
