package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A vCPU's {@code struct kvm_run}, the page KVM shares with user space: why
 * the last {@code KVM_RUN} returned and the data of that exit. Read through
 * static final VarHandles at the kernel's fixed offsets (x86-64), so the exit
 * loop reads it without allocation or bounds surprises.
 */
public final class KvmRun {
    public static final int EXIT_UNKNOWN = 0;
    public static final int EXIT_EXCEPTION = 1;
    public static final int EXIT_IO = 2;
    public static final int EXIT_HYPERCALL = 3;
    public static final int EXIT_DEBUG = 4;
    public static final int EXIT_HLT = 5;
    public static final int EXIT_MMIO = 6;
    public static final int EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int EXIT_SHUTDOWN = 8;
    public static final int EXIT_FAIL_ENTRY = 9;
    public static final int EXIT_INTR = 10;
    public static final int EXIT_NMI = 16;
    public static final int EXIT_INTERNAL_ERROR = 17;
    public static final int EXIT_SYSTEM_EVENT = 24;
    public static final int EXIT_X86_RDMSR = 29;
    public static final int EXIT_X86_WRMSR = 30;

    public static final int IO_IN = 0;
    public static final int IO_OUT = 1;

    /** {@code KVM_INTERNAL_ERROR_EMULATION}: the in-kernel emulator met an instruction it cannot do. */
    public static final int INTERNAL_ERROR_EMULATION = 1;

    // struct kvm_run offsets (include/uapi/linux/kvm.h, x86-64)
    static final long IMMEDIATE_EXIT = 1;
    static final long EXIT_REASON = 8;
    static final long EXIT_DATA = 32;
    static final long IO_DIRECTION = EXIT_DATA;
    static final long IO_SIZE = EXIT_DATA + 1;
    static final long IO_PORT = EXIT_DATA + 2;
    static final long IO_COUNT = EXIT_DATA + 4;
    static final long IO_DATA_OFFSET = EXIT_DATA + 8;
    static final long MMIO_PHYS_ADDR = EXIT_DATA;
    static final long MMIO_DATA = EXIT_DATA + 8;
    static final long MMIO_LEN = EXIT_DATA + 16;
    static final long MMIO_IS_WRITE = EXIT_DATA + 20;
    static final long INTERNAL_SUBERROR = EXIT_DATA;
    static final long INTERNAL_NDATA = EXIT_DATA + 4;
    static final long INTERNAL_DATA = EXIT_DATA + 8;
    static final long FAIL_ENTRY_REASON = EXIT_DATA;
    static final long MSR_ERROR = EXIT_DATA;
    static final long MSR_INDEX = EXIT_DATA + 12;
    static final long MSR_DATA = EXIT_DATA + 16;
    static final long VALID_REGS = 288;
    static final long DIRTY_REGS = 296;
    /** Offset of the sync-regs area ({@code struct kvm_sync_regs}: kvm_regs first). */
    public static final long SYNC_REGS = 304;
    /** {@code KVM_SYNC_X86_REGS}: the general registers are mirrored in the sync-regs area. */
    public static final long SYNC_X86_REGS = 1;

    private static final VarHandle BYTE = JAVA_BYTE.varHandle();
    private static final VarHandle SHORT = JAVA_SHORT_UNALIGNED.varHandle();
    private static final VarHandle INT = JAVA_INT_UNALIGNED.varHandle();
    private static final VarHandle LONG = JAVA_LONG_UNALIGNED.varHandle();

    private final MemorySegment page;

    KvmRun(MemorySegment page) {
        this.page = page;
    }

    /** The mapping itself (kvm_run and the PIO data page that follows it). */
    public MemorySegment page() {
        return page;
    }

    /**
     * Asks KVM to mirror the general registers into this page on every exit
     * ({@code kvm_valid_regs}), so an exit handler can read them without a
     * {@code KVM_GET_REGS} ioctl. Needs {@code KVM_CAP_SYNC_REGS}.
     */
    public void syncRegisters(boolean on) {
        LONG.set(page, VALID_REGS, on ? SYNC_X86_REGS : 0L);
    }

    /** A general register as of the last exit (after {@link #syncRegisters}). */
    public long syncedRegister(X86Register r) {
        return (long) LONG.get(page, SYNC_REGS + r.offset());
    }

    /**
     * Changes a general register for the next entry, without
     * {@code KVM_SET_REGS}: the synced registers are written back when marked
     * dirty ({@code kvm_dirty_regs}).
     */
    public void setSyncedRegister(X86Register r, long value) {
        LONG.set(page, SYNC_REGS + r.offset(), value);
        LONG.set(page, DIRTY_REGS, (long) LONG.get(page, DIRTY_REGS) | SYNC_X86_REGS);
    }

    public int exitReason() {
        return (int) INT.get(page, EXIT_REASON);
    }

    /** Makes the next (or the current, if a signal interrupts it) KVM_RUN return at once with EINTR. */
    public void setImmediateExit(boolean on) {
        BYTE.setVolatile(page, IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
    }

    public int ioDirection() {
        return (byte) BYTE.get(page, IO_DIRECTION);
    }

    public int ioSize() {
        return (byte) BYTE.get(page, IO_SIZE) & 0xff;
    }

    public int ioPort() {
        return (short) SHORT.get(page, IO_PORT) & 0xffff;
    }

    public int ioCount() {
        return (int) INT.get(page, IO_COUNT);
    }

    public long ioDataOffset() {
        return (long) LONG.get(page, IO_DATA_OFFSET);
    }

    /** The first PIO datum of this exit ({@code ioSize} bytes at {@code ioDataOffset}). */
    public int ioData() {
        long off = ioDataOffset();
        return switch (ioSize()) {
            case 1 -> (byte) BYTE.get(page, off) & 0xff;
            case 2 -> (short) SHORT.get(page, off) & 0xffff;
            default -> (int) INT.get(page, off);
        };
    }

    /** Sets the value an IN instruction of this exit receives. */
    public void setIoData(int value) {
        long off = ioDataOffset();
        switch (ioSize()) {
            case 1 -> BYTE.set(page, off, (byte) value);
            case 2 -> SHORT.set(page, off, (short) value);
            default -> INT.set(page, off, value);
        }
    }

    public long mmioPhysAddr() {
        return (long) LONG.get(page, MMIO_PHYS_ADDR);
    }

    public int mmioLength() {
        return (int) INT.get(page, MMIO_LEN);
    }

    public boolean mmioIsWrite() {
        return (byte) BYTE.get(page, MMIO_IS_WRITE) != 0;
    }

    /** The written value of an MMIO write exit (little-endian, {@code mmioLength} bytes). */
    public long mmioData() {
        long v = (long) LONG.get(page, MMIO_DATA);
        int len = mmioLength();
        return len >= 8 ? v : v & ((1L << (len * 8)) - 1);
    }

    /** Sets the value an MMIO read of this exit receives. */
    public void setMmioData(long value) {
        LONG.set(page, MMIO_DATA, value);
    }

    public int internalSuberror() {
        return (int) INT.get(page, INTERNAL_SUBERROR);
    }

    public int internalDataCount() {
        return Math.min(16, Math.max(0, (int) INT.get(page, INTERNAL_NDATA)));
    }

    public long internalData(int i) {
        return (long) LONG.get(page, INTERNAL_DATA + 8L * i);
    }

    public long failEntryReason() {
        return (long) LONG.get(page, FAIL_ENTRY_REASON);
    }

    public int msrIndex() {
        return (int) INT.get(page, MSR_INDEX);
    }

    public void setMsrData(long value) {
        LONG.set(page, MSR_DATA, value);
    }
}
