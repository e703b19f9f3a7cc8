package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One virtual CPU of a {@link KvmVm}: its descriptor, its mapped
 * {@link KvmRun} page and buffers for its register sets. {@link #run} is the
 * hot path: one ioctl, no exception, no allocation. Everything else is for
 * set-up, reset and failure reports.
 *
 * <p>Register buffers belong to this vCPU and must only be used by the thread
 * that runs it (KVM serializes vCPU ioctls anyway).
 */
public final class KvmVcpu implements AutoCloseable {
    static final IoctlRequest KVM_RUN = IoctlRequest.io("KVM_RUN", KvmDevice.KVMIO, 0x80);
    static final IoctlRequest KVM_GET_REGS = IoctlRequest.ior("KVM_GET_REGS", KvmDevice.KVMIO, 0x81, KvmStructs.REGS.byteSize());
    static final IoctlRequest KVM_SET_REGS = IoctlRequest.iow("KVM_SET_REGS", KvmDevice.KVMIO, 0x82, KvmStructs.REGS.byteSize());
    static final IoctlRequest KVM_GET_SREGS = IoctlRequest.ior("KVM_GET_SREGS", KvmDevice.KVMIO, 0x83, KvmStructs.SREGS.byteSize());
    static final IoctlRequest KVM_SET_SREGS = IoctlRequest.iow("KVM_SET_SREGS", KvmDevice.KVMIO, 0x84, KvmStructs.SREGS.byteSize());
    static final IoctlRequest KVM_GET_MSRS = IoctlRequest.iowr("KVM_GET_MSRS", KvmDevice.KVMIO, 0x88, KvmStructs.MSRS_HEADER.byteSize());
    static final IoctlRequest KVM_SET_MSRS = IoctlRequest.iow("KVM_SET_MSRS", KvmDevice.KVMIO, 0x89, KvmStructs.MSRS_HEADER.byteSize());
    static final IoctlRequest KVM_GET_LAPIC = IoctlRequest.ior("KVM_GET_LAPIC", KvmDevice.KVMIO, 0x8e, KvmStructs.LAPIC_STATE.byteSize());
    static final IoctlRequest KVM_SET_LAPIC = IoctlRequest.iow("KVM_SET_LAPIC", KvmDevice.KVMIO, 0x8f, KvmStructs.LAPIC_STATE.byteSize());
    static final IoctlRequest KVM_SET_CPUID2 = IoctlRequest.iow("KVM_SET_CPUID2", KvmDevice.KVMIO, 0x90, KvmStructs.CPUID2_HEADER.byteSize());
    static final IoctlRequest KVM_GET_MP_STATE = IoctlRequest.ior("KVM_GET_MP_STATE", KvmDevice.KVMIO, 0x98, KvmStructs.MP_STATE.byteSize());
    static final IoctlRequest KVM_SET_MP_STATE = IoctlRequest.iow("KVM_SET_MP_STATE", KvmDevice.KVMIO, 0x99, KvmStructs.MP_STATE.byteSize());
    static final IoctlRequest KVM_GET_TSC_KHZ = IoctlRequest.io("KVM_GET_TSC_KHZ", KvmDevice.KVMIO, 0xa3);
    static final IoctlRequest KVM_SET_VCPU_EVENTS = IoctlRequest.iow("KVM_SET_VCPU_EVENTS", KvmDevice.KVMIO, 0xa0,
            KvmStructs.VCPU_EVENTS.byteSize());
    static final IoctlRequest KVM_GET_XCRS = IoctlRequest.ior("KVM_GET_XCRS", KvmDevice.KVMIO, 0xa6, KvmStructs.XCRS.byteSize());

    public static final int MP_STATE_RUNNABLE = 0;
    public static final int MP_STATE_UNINITIALIZED = 1;
    public static final int MP_STATE_INIT_RECEIVED = 2;
    public static final int MP_STATE_HALTED = 3;
    public static final int MP_STATE_SIPI_RECEIVED = 4;

    private final int id;
    private final Arena arena = Arena.ofShared();
    private final MemoryMapping runMapping;
    private final KvmRun run;
    private final MemorySegment regs;
    private final MemorySegment sregs;
    private final long runRequest = KVM_RUN.code();
    private int fd;

    KvmVcpu(int id, int fd, int mmapSize) throws NativeException {
        this.id = id;
        this.fd = fd;
        try {
            this.runMapping = MemoryMapping.ofFile(fd, 0, mmapSize, true);
        } catch (NativeException e) {
            Libc.close(fd);
            arena.close();
            throw e;
        }
        this.run = new KvmRun(runMapping.segment());
        this.regs = arena.allocate(KvmStructs.REGS);
        this.sregs = arena.allocate(KvmStructs.SREGS);
    }

    /** The vCPU id given at creation (the local APIC id). */
    public int id() {
        return id;
    }

    public int fd() {
        return fd;
    }

    public KvmRun kvmRun() {
        return run;
    }

    /**
     * Enters the guest until the next exit to user space.
     *
     * @return 0, or the negated errno ({@code -EINTR} after a kick, {@code -EAGAIN}, ...)
     */
    public int run() {
        return Libc.ioctlRaw(fd, runRequest, 0);
    }

    // ---- general registers

    /** Fetches the general registers ({@code KVM_GET_REGS}) into this vCPU's buffer. */
    public void loadRegisters() throws NativeException {
        Libc.ioctl(fd, KVM_GET_REGS, regs);
    }

    /** Writes this vCPU's register buffer back ({@code KVM_SET_REGS}). */
    public void storeRegisters() throws NativeException {
        Libc.ioctl(fd, KVM_SET_REGS, regs);
    }

    public long register(X86Register r) {
        return regs.get(JAVA_LONG, r.offset());
    }

    public void setRegister(X86Register r, long value) {
        regs.set(JAVA_LONG, r.offset(), value);
    }

    /** Sets every general register to 0 in the buffer. */
    public void clearRegisters() {
        regs.fill((byte) 0);
    }

    // ---- special registers

    public void loadSpecialRegisters() throws NativeException {
        Libc.ioctl(fd, KVM_GET_SREGS, sregs);
    }

    public void storeSpecialRegisters() throws NativeException {
        Libc.ioctl(fd, KVM_SET_SREGS, sregs);
    }

    /**
     * Sets a segment register in the buffer, with the access rights given as
     * the VMX AR-byte format (type bits 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13,
     * D/B 14, G 15), as Jailhouse states them.
     */
    public void setSegment(X86Segment seg, int selector, long base, int limit, int accessRights) {
        long o = seg.offset();
        sregs.set(JAVA_LONG, o, base);
        sregs.set(JAVA_INT, o + 8, limit);
        sregs.set(JAVA_SHORT, o + 12, (short) selector);
        sregs.set(JAVA_BYTE, o + 14, (byte) (accessRights & 0xf));
        sregs.set(JAVA_BYTE, o + 15, (byte) (accessRights >> 7 & 1));
        sregs.set(JAVA_BYTE, o + 16, (byte) (accessRights >> 5 & 3));
        sregs.set(JAVA_BYTE, o + 17, (byte) (accessRights >> 14 & 1));
        sregs.set(JAVA_BYTE, o + 18, (byte) (accessRights >> 4 & 1));
        sregs.set(JAVA_BYTE, o + 19, (byte) (accessRights >> 13 & 1));
        sregs.set(JAVA_BYTE, o + 20, (byte) (accessRights >> 15 & 1));
        sregs.set(JAVA_BYTE, o + 21, (byte) (accessRights >> 12 & 1));
        sregs.set(JAVA_BYTE, o + 22, (byte) 0);
    }

    public int segmentSelector(X86Segment seg) {
        return sregs.get(JAVA_SHORT, seg.offset() + 12) & 0xffff;
    }

    public long segmentBase(X86Segment seg) {
        return sregs.get(JAVA_LONG, seg.offset());
    }

    /** The segment's access rights in VMX AR-byte format (see {@link #setSegment}). */
    public int segmentAccessRights(X86Segment seg) {
        long o = seg.offset();
        return (sregs.get(JAVA_BYTE, o + 14) & 0xf)
                | (sregs.get(JAVA_BYTE, o + 18) & 1) << 4
                | (sregs.get(JAVA_BYTE, o + 16) & 3) << 5
                | (sregs.get(JAVA_BYTE, o + 15) & 1) << 7
                | (sregs.get(JAVA_BYTE, o + 21) & 1) << 12
                | (sregs.get(JAVA_BYTE, o + 19) & 1) << 13
                | (sregs.get(JAVA_BYTE, o + 17) & 1) << 14
                | (sregs.get(JAVA_BYTE, o + 20) & 1) << 15;
    }

    private static final long GDT = 8 * KvmStructs.SEGMENT.byteSize();
    private static final long IDT = GDT + KvmStructs.DTABLE.byteSize();
    private static final long CR0 = IDT + KvmStructs.DTABLE.byteSize();
    private static final long CR2 = CR0 + 8;
    private static final long CR3 = CR0 + 16;
    private static final long CR4 = CR0 + 24;
    private static final long CR8 = CR0 + 32;
    private static final long EFER = CR0 + 40;
    private static final long APIC_BASE = CR0 + 48;
    private static final long INTERRUPT_BITMAP = CR0 + 56;

    public void setDescriptorTables(long gdtBase, int gdtLimit, long idtBase, int idtLimit) {
        sregs.set(JAVA_LONG, GDT, gdtBase);
        sregs.set(JAVA_SHORT, GDT + 8, (short) gdtLimit);
        sregs.set(JAVA_LONG, IDT, idtBase);
        sregs.set(JAVA_SHORT, IDT + 8, (short) idtLimit);
    }

    public long cr0() {
        return sregs.get(JAVA_LONG, CR0);
    }

    public long cr3() {
        return sregs.get(JAVA_LONG, CR3);
    }

    public long cr4() {
        return sregs.get(JAVA_LONG, CR4);
    }

    public long efer() {
        return sregs.get(JAVA_LONG, EFER);
    }

    public long apicBaseFromSregs() {
        return sregs.get(JAVA_LONG, APIC_BASE);
    }

    /** Sets the control registers and EFER in the buffer; clears CR2, CR8 and pending interrupts. */
    public void setControlRegisters(long cr0, long cr3, long cr4, long efer) {
        sregs.set(JAVA_LONG, CR0, cr0);
        sregs.set(JAVA_LONG, CR2, 0L);
        sregs.set(JAVA_LONG, CR3, cr3);
        sregs.set(JAVA_LONG, CR4, cr4);
        sregs.set(JAVA_LONG, CR8, 0L);
        sregs.set(JAVA_LONG, EFER, efer);
        for (int i = 0; i < 4; i++) {
            sregs.set(JAVA_LONG, INTERRUPT_BITMAP + 8L * i, 0L);
        }
    }

    // ---- MSRs, CPUID, LAPIC, MP state, TSC, XCRs

    /** Sets one MSR ({@code KVM_SET_MSRS}); fails when KVM refuses it. */
    public void setMsr(int index, long value) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.MSRS_HEADER.byteSize() + KvmStructs.MSR_ENTRY.byteSize(), 8);
            m.set(JAVA_INT, 0, 1);
            m.set(JAVA_INT, 8, index);
            m.set(JAVA_LONG, 16, value);
            int n = Libc.ioctl(fd, KVM_SET_MSRS, m);
            if (n != 1) {
                throw new NativeException("ioctl(KVM_SET_MSRS) of MSR 0x" + Integer.toHexString(index), Errno.EINVAL.value());
            }
        }
    }

    public long getMsr(int index) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.MSRS_HEADER.byteSize() + KvmStructs.MSR_ENTRY.byteSize(), 8);
            m.set(JAVA_INT, 0, 1);
            m.set(JAVA_INT, 8, index);
            int n = Libc.ioctl(fd, KVM_GET_MSRS, m);
            if (n != 1) {
                throw new NativeException("ioctl(KVM_GET_MSRS) of MSR 0x" + Integer.toHexString(index), Errno.EINVAL.value());
            }
            return m.get(JAVA_LONG, 16);
        }
    }

    public void setCpuid(List<CpuidEntry> entries) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            long es = KvmStructs.CPUID_ENTRY2.byteSize();
            MemorySegment m = a.allocate(KvmStructs.CPUID2_HEADER.byteSize() + es * entries.size(), 8);
            m.set(JAVA_INT, 0, entries.size());
            long o = KvmStructs.CPUID2_HEADER.byteSize();
            for (CpuidEntry e : entries) {
                m.set(JAVA_INT, o, e.function());
                m.set(JAVA_INT, o + 4, e.index());
                m.set(JAVA_INT, o + 8, e.flags());
                m.set(JAVA_INT, o + 12, e.eax());
                m.set(JAVA_INT, o + 16, e.ebx());
                m.set(JAVA_INT, o + 20, e.ecx());
                m.set(JAVA_INT, o + 24, e.edx());
                o += es;
            }
            Libc.ioctl(fd, KVM_SET_CPUID2, m);
        }
    }

    /** The local APIC register page as KVM holds it ({@code KVM_GET_LAPIC}), 1024 bytes. */
    public byte[] getLapic() throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.LAPIC_STATE);
            Libc.ioctl(fd, KVM_GET_LAPIC, m);
            return m.toArray(JAVA_BYTE);
        }
    }

    public void setLapic(byte[] state) throws NativeException {
        if (state.length != KvmStructs.LAPIC_STATE.byteSize()) {
            throw new IllegalArgumentException("LAPIC state is " + KvmStructs.LAPIC_STATE.byteSize() + " bytes, not " + state.length);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.LAPIC_STATE);
            MemorySegment.copy(state, 0, m, JAVA_BYTE, 0, state.length);
            Libc.ioctl(fd, KVM_SET_LAPIC, m);
        }
    }

    public int mpState() throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.MP_STATE);
            Libc.ioctl(fd, KVM_GET_MP_STATE, m);
            return m.get(JAVA_INT, 0);
        }
    }

    public void setMpState(int state) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.MP_STATE);
            m.set(JAVA_INT, 0, state);
            Libc.ioctl(fd, KVM_SET_MP_STATE, m);
        }
    }

    /**
     * Drops every pending or half-delivered exception, interrupt and NMI
     * ({@code KVM_SET_VCPU_EVENTS} with an empty struct): a CPU reset must not
     * carry an interrupt of the previous run into the new one.
     */
    public void clearPendingEvents() throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.VCPU_EVENTS);
            m.set(JAVA_INT, KvmStructs.VCPU_EVENTS_FLAGS, KvmStructs.VCPUEVENT_VALID_NMI_PENDING);
            Libc.ioctl(fd, KVM_SET_VCPU_EVENTS, m);
        }
    }

    /** The guest TSC frequency KVM uses for this vCPU, in kHz. */
    public int tscKhz() throws NativeException {
        return Libc.ioctl(fd, KVM_GET_TSC_KHZ, 0);
    }

    /** The guest's extended control register {@code xcr} ({@code KVM_GET_XCRS}); 0 if KVM does not report it. */
    public long xcr(int xcr) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.XCRS);
            Libc.ioctl(fd, KVM_GET_XCRS, m);
            int n = Math.min(16, m.get(JAVA_INT, 0));
            for (int i = 0; i < n; i++) {
                long o = 8 + 16L * i;
                if (m.get(JAVA_INT, o) == xcr) {
                    return m.get(JAVA_LONG, o + 8);
                }
            }
            return 0;
        }
    }

    @Override
    public void close() throws NativeException {
        if (fd >= 0) {
            int f = fd;
            fd = -1;
            try {
                runMapping.close();
            } finally {
                arena.close();
                Libc.close(f);
            }
        }
    }
}
