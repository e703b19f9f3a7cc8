package io.jailhouse.config.host;

/**
 * A PCI function's configuration space as read from sysfs. Linux gives
 * unprivileged readers only the first 64 bytes; reads beyond what is there
 * fail with a message that says so instead of returning zeros.
 */
final class PciConfigSpace {
    static final int HEADER_BYTES = 64;
    static final int CONVENTIONAL_BYTES = 256;

    private final byte[] bytes;
    private final String source;

    PciConfigSpace(byte[] bytes, String source) throws HostDataException {
        if (bytes.length < HEADER_BYTES) {
            throw new HostDataException(source, "only " + bytes.length + " bytes; a PCI configuration header has "
                    + HEADER_BYTES);
        }
        this.bytes = bytes;
        this.source = source;
    }

    int size() {
        return bytes.length;
    }

    String source() {
        return source;
    }

    int u8(int off) throws HostDataException {
        check(off, 1);
        return bytes[off] & 0xff;
    }

    int u16(int off) throws HostDataException {
        check(off, 2);
        return (bytes[off] & 0xff) | (bytes[off + 1] & 0xff) << 8;
    }

    long u32(int off) throws HostDataException {
        check(off, 4);
        return (bytes[off] & 0xffL) | (bytes[off + 1] & 0xffL) << 8 | (bytes[off + 2] & 0xffL) << 16
                | (bytes[off + 3] & 0xffL) << 24;
    }

    private void check(int off, int width) throws HostDataException {
        if (off < 0 || off + width > bytes.length) {
            String hint = bytes.length == HEADER_BYTES
                    ? " (Linux shows only 64 bytes of configuration space to users other than root)" : "";
            throw new HostDataException(source, String.format("offset 0x%x is beyond the %d bytes readable%s",
                    off, bytes.length, hint));
        }
    }
}
