package io.jailhouse.boundary;

import io.jailhouse.config.Console;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A cell's comm region (spec 2): the 4 KiB page, shared with the guest,
 * through which the hypervisor tells an inmate about its platform and the two
 * exchange state and management messages. x86 layout, revision 2, 76 bytes
 * used, little-endian.
 *
 * <p>The guest reads and writes the page concurrently (it is mapped into the
 * cell), so every field is accessed with volatile semantics through
 * VarHandles of naturally aligned layouts: the offsets are aligned, and the
 * page must be at least 8-byte aligned, as a mapped page is.
 */
public final class CommRegion {
    /** Size of the page. */
    public static final int SIZE = 4096;
    /** Bytes of the x86 layout; the rest of the page is zero. */
    public static final int USED_BYTES = 76;

    public static final int OFFSET_SIGNATURE = 0;
    public static final int OFFSET_REVISION = 6;
    public static final int OFFSET_CELL_STATE = 8;
    public static final int OFFSET_MSG_TO_CELL = 12;
    public static final int OFFSET_REPLY_FROM_CELL = 16;
    public static final int OFFSET_FLAGS = 20;
    public static final int OFFSET_CONSOLE = 24;
    public static final int OFFSET_PCI_MMCONFIG_BASE = 56;
    public static final int OFFSET_PM_TIMER_ADDRESS = 64;
    public static final int OFFSET_NUM_CPUS = 66;
    public static final int OFFSET_TSC_KHZ = 68;
    public static final int OFFSET_APIC_KHZ = 72;

    /** {@code "JHCOMM"}, without NUL. */
    public static final String SIGNATURE = "JHCOMM";
    public static final int SIGNATURE_LENGTH = 6;
    /** {@code COMM_REGION_ABI_REVISION}. */
    public static final int REVISION = 2;

    public static final int STATE_RUNNING = 0;
    public static final int STATE_RUNNING_LOCKED = 1;
    public static final int STATE_SHUT_DOWN = 2;
    public static final int STATE_FAILED = 3;
    public static final int STATE_FAILED_COMM_REV = 4;

    public static final int MSG_NONE = 0;
    public static final int MSG_SHUTDOWN_REQUEST = 1;
    public static final int MSG_RECONFIG_COMPLETED = 2;

    public static final int REPLY_NONE = 0;
    public static final int REPLY_UNKNOWN = 1;
    public static final int REPLY_REQUEST_DENIED = 2;
    public static final int REPLY_REQUEST_APPROVED = 3;
    public static final int REPLY_RECEIVED = 4;

    public static final int FLAG_DBG_PUTC_PERMITTED = 0x1;
    public static final int FLAG_DBG_PUTC_ACTIVE = 0x2;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();
    private static final VarHandle SHORT = ValueLayout.JAVA_SHORT.withOrder(LE).varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(LE).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(LE).varHandle();

    private final MemorySegment page;

    /**
     * @param page the cell's comm page: at least {@link #SIZE} bytes (only the
     *        first 4096 are used) and at least 8-byte aligned
     */
    public CommRegion(MemorySegment page) {
        Objects.requireNonNull(page, "page");
        if (page.byteSize() < SIZE) {
            throw new IllegalArgumentException("comm region of " + page.byteSize() + " bytes, need " + SIZE);
        }
        if (page.maxByteAlignment() < Long.BYTES) {
            throw new IllegalArgumentException("comm region is not 8-byte aligned");
        }
        this.page = page.asSlice(0, SIZE);
    }

    /** The 4096-byte page. */
    public MemorySegment segment() {
        return page;
    }

    /**
     * Prepares the page for a cell start, as upstream does: zero all of it
     * (so state RUNNING and no message), then fill in the platform fields.
     *
     * @param flags {@code FLAG_*} bits
     * @param console the cell config's console, copied as its 32-byte struct
     * @param pciMmconfigBase from the system config
     * @param pmTimerAddress the PM timer port (u16)
     * @param numCpus number of CPUs in the cell (u16)
     * @param tscKhz TSC frequency (u32)
     * @param apicKhz APIC timer frequency (u32)
     * @throws IllegalArgumentException if a value does not fit its field
     */
    public void initialize(int flags, Console console, long pciMmconfigBase, int pmTimerAddress, int numCpus,
            long tscKhz, long apicKhz) {
        Objects.requireNonNull(console, "console");
        checkRange("pm_timer_address", pmTimerAddress, 0xffff);
        checkRange("num_cpus", numCpus, 0xffff);
        checkRange("tsc_khz", tscKhz, 0xffff_ffffL);
        checkRange("apic_khz", apicKhz, 0xffff_ffffL);

        page.fill((byte) 0);
        byte[] signature = SIGNATURE.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < SIGNATURE_LENGTH; i++) {
            BYTE.setVolatile(page, (long) OFFSET_SIGNATURE + i, signature[i]);
        }
        SHORT.setVolatile(page, (long) OFFSET_REVISION, (short) REVISION);
        INT.setVolatile(page, (long) OFFSET_FLAGS, flags);
        writeConsole(console);
        LONG.setVolatile(page, (long) OFFSET_PCI_MMCONFIG_BASE, pciMmconfigBase);
        SHORT.setVolatile(page, (long) OFFSET_PM_TIMER_ADDRESS, (short) pmTimerAddress);
        SHORT.setVolatile(page, (long) OFFSET_NUM_CPUS, (short) numCpus);
        INT.setVolatile(page, (long) OFFSET_TSC_KHZ, (int) tscKhz);
        INT.setVolatile(page, (long) OFFSET_APIC_KHZ, (int) apicKhz);
        // state, msg_to_cell and reply_from_cell are 0 from the fill: RUNNING, no message
        INT.setVolatile(page, (long) OFFSET_CELL_STATE, STATE_RUNNING);
    }

    /** {@code struct jailhouse_console} (spec 1.2) at {@link #OFFSET_CONSOLE}. */
    private void writeConsole(Console c) {
        long o = OFFSET_CONSOLE;
        LONG.setVolatile(page, o, c.address());
        INT.setVolatile(page, o + 8, (int) c.size());
        SHORT.setVolatile(page, o + 12, (short) c.type());
        SHORT.setVolatile(page, o + 14, (short) c.flags());
        INT.setVolatile(page, o + 16, (int) c.divider());
        INT.setVolatile(page, o + 20, (int) c.gateNr());
        LONG.setVolatile(page, o + 24, c.clockReg());
    }

    private static void checkRange(String field, long value, long max) {
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(String.format("%s %d does not fit its field (0..%d)", field, value, max));
        }
    }

    /** Whether the page starts with the signature and this revision (a guest could have overwritten them). */
    public boolean hasSignature() {
        byte[] signature = SIGNATURE.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < SIGNATURE_LENGTH; i++) {
            if ((byte) BYTE.getVolatile(page, (long) OFFSET_SIGNATURE + i) != signature[i]) {
                return false;
            }
        }
        return revision() == REVISION;
    }

    public int revision() {
        return (short) SHORT.getVolatile(page, (long) OFFSET_REVISION) & 0xffff;
    }

    /** {@code cell_state}, as the hypervisor or the cell last wrote it ({@code STATE_*}, or anything a guest wrote). */
    public int state() {
        return (int) INT.getVolatile(page, (long) OFFSET_CELL_STATE);
    }

    public void setState(int state) {
        INT.setVolatile(page, (long) OFFSET_CELL_STATE, state);
    }

    /** {@code msg_to_cell}. */
    public int message() {
        return (int) INT.getVolatile(page, (long) OFFSET_MSG_TO_CELL);
    }

    /** {@code reply_from_cell}. */
    public int reply() {
        return (int) INT.getVolatile(page, (long) OFFSET_REPLY_FROM_CELL);
    }

    /**
     * Sends {@code message} to the cell (spec 2, step 2): reply := 0, full
     * fence, message := {@code message}. The order matters: a cell that sees
     * the message must not find the previous exchange's reply still there.
     */
    public void send(int message) {
        INT.setVolatile(page, (long) OFFSET_REPLY_FROM_CELL, REPLY_NONE);
        VarHandle.fullFence();
        INT.setVolatile(page, (long) OFFSET_MSG_TO_CELL, message);
    }

    /** msg_to_cell := NONE. */
    public void clearMessage() {
        INT.setVolatile(page, (long) OFFSET_MSG_TO_CELL, MSG_NONE);
    }

    public int flags() {
        return (int) INT.getVolatile(page, (long) OFFSET_FLAGS);
    }

    public long pciMmconfigBase() {
        return (long) LONG.getVolatile(page, (long) OFFSET_PCI_MMCONFIG_BASE);
    }

    public int pmTimerAddress() {
        return (short) SHORT.getVolatile(page, (long) OFFSET_PM_TIMER_ADDRESS) & 0xffff;
    }

    public int numCpus() {
        return (short) SHORT.getVolatile(page, (long) OFFSET_NUM_CPUS) & 0xffff;
    }

    public long tscKhz() {
        return (int) INT.getVolatile(page, (long) OFFSET_TSC_KHZ) & 0xffff_ffffL;
    }

    public long apicKhz() {
        return (int) INT.getVolatile(page, (long) OFFSET_APIC_KHZ) & 0xffff_ffffL;
    }

    /** The console copy, decoded. */
    public Console console() {
        long o = OFFSET_CONSOLE;
        return new Console(
                (long) LONG.getVolatile(page, o),
                (int) INT.getVolatile(page, o + 8) & 0xffff_ffffL,
                (short) SHORT.getVolatile(page, o + 12) & 0xffff,
                (short) SHORT.getVolatile(page, o + 14) & 0xffff,
                (int) INT.getVolatile(page, o + 16) & 0xffff_ffffL,
                (int) INT.getVolatile(page, o + 20) & 0xffff_ffffL,
                (long) LONG.getVolatile(page, o + 24));
    }
}
