package io.jailhouse.cli.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A Linux x86 bzImage, as far as booting it through the 64-bit boot
 * protocol needs: its real-mode setup header (the kernel's
 * Documentation/arch/x86/boot.rst, protocol 2.12 or later).
 *
 * @param bytes the whole file
 * @param setupSects the real-mode setup's 512-byte sectors after the boot sector
 * @param protocol the boot protocol version, 0x020c for 2.12
 * @param prefAddress where the protected-mode kernel wants to run
 * @param initSize the bytes from {@code prefAddress} the kernel needs to decompress and start
 * @param cmdlineSize the longest command line it takes, without the NUL
 * @param compression the payload's compression, from its magic
 */
public record BzImage(byte[] bytes, int setupSects, int protocol, long prefAddress, long initSize,
        long cmdlineSize, Compression compression) {

    static final int SETUP_HEADER_START = 0x1f0;
    static final int BOOT_FLAG = 0x1fe;
    static final int JUMP = 0x200;
    static final int HEADER_MAGIC = 0x202;
    static final int VERSION = 0x206;
    static final int XLOADFLAGS = 0x236;
    static final int CMDLINE_SIZE = 0x238;
    static final int PAYLOAD_OFFSET = 0x248;
    static final int PAYLOAD_LENGTH = 0x24c;
    static final int PREF_ADDRESS = 0x258;
    static final int INIT_SIZE = 0x260;
    /** The header fields read here end with init_size. */
    static final int MIN_HEADER_END = INIT_SIZE + 4;
    static final int XLF_KERNEL_64 = 1;
    static final int MIN_PROTOCOL = 0x020c;

    /** A payload's compression and upstream's factor for the initrd's distance. */
    public enum Compression {
        GZIP(7), BZIP2(4), LZMA(8), XZ(9), LZO(6), LZ4(6), ZSTD(9), UNKNOWN(9);

        /** Upstream's {@code -k} default: the initrd at load address + factor x bzImage size. */
        public final int sizeFactor;

        Compression(int sizeFactor) {
            this.sizeFactor = sizeFactor;
        }

        static Compression ofMagic(byte[] b, int at) {
            if (matches(b, at, 0x1f, 0x8b)) {
                return GZIP;
            }
            if (matches(b, at, 'B', 'Z', 'h')) {
                return BZIP2;
            }
            if (matches(b, at, 0x5d, 0x00, 0x00)) {
                return LZMA;
            }
            if (matches(b, at, 0xfd, '7', 'z', 'X', 'Z', 0x00)) {
                return XZ;
            }
            if (matches(b, at, 0x89, 'L', 'Z', 'O')) {
                return LZO;
            }
            if (matches(b, at, 0x02, 0x21, 0x4c, 0x18)) {
                return LZ4;
            }
            if (matches(b, at, 0x28, 0xb5, 0x2f, 0xfd)) {
                return ZSTD;
            }
            return UNKNOWN;
        }

        private static boolean matches(byte[] b, int at, int... magic) {
            if (at < 0 || at + magic.length > b.length) {
                return false;
            }
            for (int i = 0; i < magic.length; i++) {
                if ((b[at + i] & 0xff) != magic[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Reads the header of {@code bytes}, the file {@code name}; says what is wrong with it otherwise. */
    public static BzImage parse(String name, byte[] bytes) throws LinuxBootException {
        if (bytes.length < MIN_HEADER_END) {
            throw new LinuxBootException(name + ": " + bytes.length + " bytes, too short for a bzImage's setup header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getShort(BOOT_FLAG) != (short) 0xaa55 || b.getInt(HEADER_MAGIC) != 0x53726448) {
            throw new LinuxBootException(name + ": not a Linux bzImage (no boot flag 0xaa55 at 0x1fe and \"HdrS\" at 0x202)");
        }
        int protocol = Short.toUnsignedInt(b.getShort(VERSION));
        if (protocol < MIN_PROTOCOL) {
            throw new LinuxBootException(String.format(
                    "%s: boot protocol %d.%02d; booting in a cell needs 2.12 or later (a 64-bit entry)",
                    name, protocol >> 8, protocol & 0xff));
        }
        if ((b.getShort(XLOADFLAGS) & XLF_KERNEL_64) == 0) {
            throw new LinuxBootException(name + ": the kernel has no 64-bit entry (xloadflags at 0x236 lacks XLF_KERNEL_64)");
        }
        int setupSects = Byte.toUnsignedInt(bytes[0x1f1]);
        if (setupSects == 0) {
            setupSects = 4; // the boot protocol's rule for old images
        }
        long setupEnd = (setupSects + 1L) * 512;
        if (setupEnd >= bytes.length) {
            throw new LinuxBootException(name + ": the real-mode setup (" + setupSects
                    + " sectors) leaves no protected-mode kernel in " + bytes.length + " bytes");
        }
        if (headerEnd(bytes) > setupEnd) {
            throw new LinuxBootException(String.format("%s: the setup header ends at 0x%x, beyond the setup code",
                    name, headerEnd(bytes)));
        }
        long prefAddress = b.getLong(PREF_ADDRESS);
        long initSize = Integer.toUnsignedLong(b.getInt(INIT_SIZE));
        if (initSize == 0 || prefAddress < setupEnd || prefAddress % 0x1000 != 0) {
            throw new LinuxBootException(String.format(
                    "%s: pref_address 0x%x or init_size 0x%x in the setup header cannot be used", name, prefAddress,
                    initSize));
        }
        long payloadOffset = Integer.toUnsignedLong(b.getInt(PAYLOAD_OFFSET));
        Compression compression = Compression.ofMagic(bytes, (int) Math.min(Integer.MAX_VALUE, setupEnd + payloadOffset));
        long cmdlineSize = Integer.toUnsignedLong(b.getInt(CMDLINE_SIZE));
        return new BzImage(bytes, setupSects, protocol, prefAddress, initSize, cmdlineSize, compression);
    }

    /** Where the setup header ends: 0x202 plus the short jump's offset at 0x201. */
    static int headerEnd(byte[] bytes) {
        return HEADER_MAGIC + Byte.toUnsignedInt(bytes[JUMP + 1]);
    }

    /** The setup header as the file holds it, from 0x1f0 to its end: what the zero page copies. */
    public byte[] setupHeader() {
        return Arrays.copyOfRange(bytes, SETUP_HEADER_START, headerEnd(bytes));
    }

    /** Where the whole file goes so that its protected-mode part starts at {@link #prefAddress}. */
    public long loadAddress() {
        return prefAddress - (setupSects + 1L) * 512;
    }

    /** The end of the kernel's decompression and start-up space: nothing else may be loaded below it. */
    public long initEnd() {
        return prefAddress + initSize;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BzImage other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return String.format("BzImage[%d bytes, protocol %d.%02d, pref_address 0x%x, init_size 0x%x, %s]",
                bytes.length, protocol >> 8, protocol & 0xff, prefAddress, initSize, compression);
    }
}
