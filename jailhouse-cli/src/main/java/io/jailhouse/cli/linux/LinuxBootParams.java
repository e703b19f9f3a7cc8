package io.jailhouse.cli.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The boot parameters image loaded at {@link LinuxBootLayout#PARAMS_ADDRESS}
 * (spec 14): the zero page, then the {@code SETUP_JAILHOUSE} setup_data at
 * {@link LinuxBootLayout#SETUP_DATA_ADDRESS}, then the NUL-terminated
 * command line. The loader fills in what only the cell knows (the comm
 * region's platform fields and the CPUs' APIC IDs).
 */
public final class LinuxBootParams {
    static final int ZERO_PAGE_BYTES = 0x1000;
    static final int E820_ENTRIES = 0x1e8;
    static final int TYPE_OF_LOADER = 0x210;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21c;
    static final int CMD_LINE_PTR = 0x228;
    /** kernel_alignment: upstream's tool stores the kernel's address here as a u64, and its loader reads it. */
    static final int KERNEL_ADDRESS = 0x230;
    static final int SETUP_DATA = 0x250;
    static final int E820_TABLE = 0x2d0;
    static final int E820_ENTRY_BYTES = 20;
    /** "Undefined" boot loader: one that has no id of its own. */
    static final int LOADER_TYPE_UNDEFINED = 0xff;

    public static final int SETUP_JAILHOUSE = 6;
    public static final int SETUP_DATA_VERSION = 2;
    /** The kernel accepts exactly this compatible_version. */
    public static final int SETUP_DATA_COMPATIBLE_VERSION = 1;
    static final int SETUP_DATA_HEADER_BYTES = 16;
    static final int SETUP_DATA_PAYLOAD_BYTES = 284;
    public static final int SETUP_DATA_BYTES = SETUP_DATA_HEADER_BYTES + SETUP_DATA_PAYLOAD_BYTES;
    /** Payload offsets from setup_data's start. */
    static final int SD_VERSION = 16;
    static final int SD_COMPATIBLE_VERSION = 18;
    static final int SD_STANDARD_IOAPIC = 40;
    static final int SD_FLAGS = 296;

    private LinuxBootParams() {
    }

    /** The image: {@code cmdline} is the command line's bytes without the NUL. */
    public static byte[] encode(BzImage kernel, LinuxBootLayout layout, byte[] cmdline) {
        int setupDataOffset = (int) (LinuxBootLayout.SETUP_DATA_ADDRESS - LinuxBootLayout.PARAMS_ADDRESS);
        int cmdlineOffset = (int) (LinuxBootLayout.CMDLINE_ADDRESS - LinuxBootLayout.PARAMS_ADDRESS);
        ByteBuffer b = ByteBuffer.allocate(cmdlineOffset + cmdline.length + 1).order(ByteOrder.LITTLE_ENDIAN);

        b.put(E820_ENTRIES, (byte) layout.memoryMap().size());
        b.put(BzImage.SETUP_HEADER_START, kernel.setupHeader());
        b.put(TYPE_OF_LOADER, (byte) LOADER_TYPE_UNDEFINED);
        b.putInt(RAMDISK_IMAGE, (int) layout.initrdAddress());
        b.putInt(RAMDISK_SIZE, (int) layout.initrdSize());
        b.putInt(CMD_LINE_PTR, (int) LinuxBootLayout.CMDLINE_ADDRESS);
        b.putLong(KERNEL_ADDRESS, kernel.prefAddress());
        b.putLong(SETUP_DATA, LinuxBootLayout.SETUP_DATA_ADDRESS);
        int at = E820_TABLE;
        for (LinuxBootLayout.E820Entry e : layout.memoryMap()) {
            b.putLong(at, e.address()).putLong(at + 8, e.size()).putInt(at + 16, e.type());
            at += E820_ENTRY_BYTES;
        }

        b.putLong(setupDataOffset, 0); // next: the only entry
        b.putInt(setupDataOffset + 8, SETUP_JAILHOUSE);
        b.putInt(setupDataOffset + 12, SETUP_DATA_PAYLOAD_BYTES);
        b.putShort(setupDataOffset + SD_VERSION, (short) SETUP_DATA_VERSION);
        b.putShort(setupDataOffset + SD_COMPATIBLE_VERSION, (short) SETUP_DATA_COMPATIBLE_VERSION);
        b.put(setupDataOffset + SD_STANDARD_IOAPIC, (byte) (layout.standardIoapic() ? 1 : 0));
        b.putInt(setupDataOffset + SD_FLAGS, layout.uartFlags());

        b.put(cmdlineOffset, cmdline); // the NUL is the buffer's last, zero byte
        return b.array();
    }
}
