package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.ByteSink;

/**
 * Jailhouse's hypercall interface (spec 3) as this hypervisor offers it.
 * Under KVM a cell's {@code vmcall} never reaches user space, so the calls
 * go through an I/O port instead: the guest writes the code with a 32-bit
 * {@code OUT} to {@link #PORT}, with the first argument in RDI and the second
 * in RSI, and reads the result with a 32-bit {@code IN} from the same port
 * (the inmate library's {@code jailhouse_call*}). Codes, arguments, results
 * and errors are upstream's.
 */
final class Hypercall {
    /** The hypercall port; documented in docs/hypercalls.md and inmates/lib/include/jailhouse/hypercall.h. */
    static final int PORT = 0x5f0;

    static final int DISABLE = 0;
    static final int CELL_CREATE = 1;
    static final int CELL_START = 2;
    static final int CELL_SET_LOADABLE = 3;
    static final int CELL_DESTROY = 4;
    static final int HYPERVISOR_GET_INFO = 5;
    static final int CELL_GET_STATE = 6;
    static final int CPU_GET_INFO = 7;
    static final int DEBUG_CONSOLE_PUTC = 8;

    static final int INFO_MEM_POOL_SIZE = 0;
    static final int INFO_MEM_POOL_USED = 1;
    static final int INFO_REMAP_POOL_SIZE = 2;
    static final int INFO_REMAP_POOL_USED = 3;
    static final int INFO_NUM_CELLS = 4;
    static final int CPU_INFO_STAT_BASE = 1000;

    static final int EPERM = 1;
    static final int EIO = 5;
    static final int EINVAL = 22;
    static final int ENOSYS = 38;

    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private Hypercall() {
    }

    /** Writes ASCII text; constants only, so no allocation happens on a vCPU thread. */
    static void putText(ByteSink out, String text) {
        for (int i = 0; i < text.length(); i++) {
            out.put((byte) text.charAt(i));
        }
    }

    static void putDecimal(ByteSink out, long value) {
        if (value < 0) {
            out.put((byte) '-');
            value = -value;
        }
        long div = 1;
        while (div <= value / 10) {
            div *= 10;
        }
        for (; div > 0; div /= 10) {
            out.put((byte) ('0' + value / div % 10));
        }
    }

    static void putHex16(ByteSink out, long value) {
        for (int shift = 60; shift >= 0; shift -= 4) {
            out.put(HEX[(int) (value >>> shift) & 0xf]);
        }
    }
}
