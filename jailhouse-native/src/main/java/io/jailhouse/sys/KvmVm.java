package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A KVM virtual machine ({@code KVM_CREATE_VM}): its memory slots, in-kernel
 * interrupt controller, vCPUs and interrupt wiring.
 */
public final class KvmVm implements AutoCloseable {
    static final IoctlRequest KVM_CREATE_VCPU = IoctlRequest.io("KVM_CREATE_VCPU", KvmDevice.KVMIO, 0x41);
    static final IoctlRequest KVM_SET_USER_MEMORY_REGION = IoctlRequest.iow("KVM_SET_USER_MEMORY_REGION",
            KvmDevice.KVMIO, 0x46, KvmStructs.USERSPACE_MEMORY_REGION.byteSize());
    static final IoctlRequest KVM_SET_TSS_ADDR = IoctlRequest.io("KVM_SET_TSS_ADDR", KvmDevice.KVMIO, 0x47);
    static final IoctlRequest KVM_SET_IDENTITY_MAP_ADDR = IoctlRequest.iow("KVM_SET_IDENTITY_MAP_ADDR",
            KvmDevice.KVMIO, 0x48, 8);
    static final IoctlRequest KVM_CREATE_IRQCHIP = IoctlRequest.io("KVM_CREATE_IRQCHIP", KvmDevice.KVMIO, 0x60);
    static final IoctlRequest KVM_IRQ_LINE = IoctlRequest.iow("KVM_IRQ_LINE", KvmDevice.KVMIO, 0x61,
            KvmStructs.IRQ_LEVEL.byteSize());
    static final IoctlRequest KVM_SET_GSI_ROUTING = IoctlRequest.iow("KVM_SET_GSI_ROUTING", KvmDevice.KVMIO, 0x6a,
            KvmStructs.IRQ_ROUTING_HEADER.byteSize());
    static final IoctlRequest KVM_IRQFD = IoctlRequest.iow("KVM_IRQFD", KvmDevice.KVMIO, 0x76, KvmStructs.IRQFD.byteSize());
    static final IoctlRequest KVM_IOEVENTFD = IoctlRequest.iow("KVM_IOEVENTFD", KvmDevice.KVMIO, 0x79,
            KvmStructs.IOEVENTFD.byteSize());
    static final IoctlRequest KVM_ENABLE_CAP = IoctlRequest.iow("KVM_ENABLE_CAP", KvmDevice.KVMIO, 0xa3,
            KvmStructs.ENABLE_CAP.byteSize());
    static final IoctlRequest KVM_SIGNAL_MSI = IoctlRequest.iow("KVM_SIGNAL_MSI", KvmDevice.KVMIO, 0xa5, KvmStructs.MSI.byteSize());
    static final IoctlRequest KVM_X86_SET_MSR_FILTER = IoctlRequest.iow("KVM_X86_SET_MSR_FILTER", KvmDevice.KVMIO, 0xc6,
            KvmStructs.MSR_FILTER.byteSize());

    /** Memory slot flag: guest writes exit to user space as MMIO. */
    public static final int MEM_READONLY = 2;
    /** ioeventfd flags. */
    public static final int IOEVENTFD_DATAMATCH = 1;
    public static final int IOEVENTFD_PIO = 2;
    public static final int IOEVENTFD_DEASSIGN = 4;
    public static final int IRQFD_DEASSIGN = 1;
    public static final int IRQ_ROUTING_IRQCHIP = 1;
    public static final int IRQ_ROUTING_MSI = 2;
    /** {@code KVM_IRQCHIP_IOAPIC}: the in-kernel IOAPIC, 24 pins. */
    public static final int IRQCHIP_IOAPIC = 2;
    public static final int IOAPIC_PINS = 24;

    private final KvmDevice kvm;
    private int fd;

    KvmVm(KvmDevice kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public int fd() {
        if (fd < 0) {
            throw new IllegalStateException("VM is closed");
        }
        return fd;
    }

    /** {@code KVM_CHECK_EXTENSION} on the VM (some capabilities are per VM). */
    public boolean has(KvmCapability cap) throws NativeException {
        return Libc.ioctl(fd(), KvmDevice.KVM_CHECK_EXTENSION, cap.number()) > 0;
    }

    /** Creates the in-kernel local APICs, IOAPIC and PIC ({@code KVM_CREATE_IRQCHIP}); before any vCPU. */
    public void createIrqchip() throws NativeException {
        Libc.ioctl(fd(), KVM_CREATE_IRQCHIP, 0);
    }

    /** Three pages of guest-physical space KVM needs on Intel for real-mode emulation ({@code KVM_SET_TSS_ADDR}). */
    public void setTssAddress(long address) throws NativeException {
        Libc.ioctl(fd(), KVM_SET_TSS_ADDR, address);
    }

    /** One page of guest-physical space for KVM's identity page table ({@code KVM_SET_IDENTITY_MAP_ADDR}). */
    public void setIdentityMapAddress(long address) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(JAVA_LONG);
            m.set(JAVA_LONG, 0, address);
            Libc.ioctl(fd(), KVM_SET_IDENTITY_MAP_ADDR, m);
        }
    }

    /**
     * Maps {@code host} at guest-physical {@code guestAddress} as slot
     * {@code slot} ({@code KVM_SET_USER_MEMORY_REGION}); a {@code null} host
     * segment with size 0 deletes the slot.
     */
    public void setUserMemoryRegion(int slot, int flags, long guestAddress, MemorySegment host) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.USERSPACE_MEMORY_REGION);
            m.set(JAVA_INT, 0, slot);
            m.set(JAVA_INT, 4, flags);
            m.set(JAVA_LONG, 8, guestAddress);
            m.set(JAVA_LONG, 16, host == null ? 0 : host.byteSize());
            m.set(JAVA_LONG, 24, host == null ? 0 : host.address());
            try {
                Libc.ioctl(fd(), KVM_SET_USER_MEMORY_REGION, m);
            } catch (NativeException e) {
                throw new NativeException("ioctl(KVM_SET_USER_MEMORY_REGION) slot " + slot + " at 0x"
                        + Long.toHexString(guestAddress) + " size 0x" + Long.toHexString(host == null ? 0 : host.byteSize()),
                        e.errnoValue());
            }
        }
    }

    /** Creates vCPU {@code id} (its local APIC id) and maps its {@code kvm_run} page. */
    public KvmVcpu createVcpu(int id) throws NativeException {
        int vfd = Libc.ioctl(fd(), KVM_CREATE_VCPU, id);
        return new KvmVcpu(id, vfd, kvm.vcpuMmapSize());
    }

    /** {@code KVM_ENABLE_CAP} on the VM with up to four arguments. */
    public void enableCapability(KvmCapability cap, long... args) throws NativeException {
        if (args.length > 4) {
            throw new IllegalArgumentException("KVM_ENABLE_CAP takes at most 4 arguments");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.ENABLE_CAP);
            m.set(JAVA_INT, 0, cap.number());
            for (int i = 0; i < args.length; i++) {
                m.set(JAVA_LONG, 8 + 8L * i, args[i]);
            }
            try {
                Libc.ioctl(fd(), KVM_ENABLE_CAP, m);
            } catch (NativeException e) {
                throw new NativeException("ioctl(KVM_ENABLE_CAP " + cap.kernelName() + ")", e.errnoValue());
            }
        }
    }

    /**
     * Wires an eventfd to a guest write ({@code KVM_IOEVENTFD}): a write of
     * {@code length} bytes at {@code address} (a port with {@link #IOEVENTFD_PIO})
     * signals {@code eventFd} in the kernel, without an exit to user space.
     */
    public void ioeventfd(long address, int length, int eventFd, int flags, long dataMatch) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.IOEVENTFD);
            m.set(JAVA_LONG, 0, dataMatch);
            m.set(JAVA_LONG, 8, address);
            m.set(JAVA_INT, 16, length);
            m.set(JAVA_INT, 20, eventFd);
            m.set(JAVA_INT, 24, flags);
            Libc.ioctl(fd(), KVM_IOEVENTFD, m);
        }
    }

    /** Wires an eventfd to a GSI ({@code KVM_IRQFD}): a write to {@code eventFd} raises the GSI in the kernel. */
    public void irqfd(int eventFd, int gsi, int flags) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.IRQFD);
            m.set(JAVA_INT, 0, eventFd);
            m.set(JAVA_INT, 4, gsi);
            m.set(JAVA_INT, 8, flags);
            Libc.ioctl(fd(), KVM_IRQFD, m);
        }
    }

    /** Injects one MSI ({@code KVM_SIGNAL_MSI}); returns whether it was delivered (>0) or blocked (0). */
    public int signalMsi(long address, int data) throws NativeException {
        int r = signalMsiQuietly(address, data);
        if (r < 0) {
            throw new NativeException("ioctl(KVM_SIGNAL_MSI)", -r);
        }
        return r;
    }

    /** A {@code struct kvm_msi} per thread, so raising an MSI from a device model allocates nothing. */
    private static final ThreadLocal<MemorySegment> MSI_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(KvmStructs.MSI));

    /**
     * Injects one MSI without allocating (for device models on vCPU
     * threads); returns 1 delivered, 0 blocked by the guest, or the negated
     * errno.
     */
    public int signalMsiQuietly(long address, int data) {
        MemorySegment m = MSI_BUFFER.get();
        m.set(JAVA_INT, 0, (int) address);
        m.set(JAVA_INT, 4, (int) (address >>> 32));
        m.set(JAVA_INT, 8, data);
        m.set(JAVA_INT, 12, 0);
        return Libc.ioctlRaw(fd, KVM_SIGNAL_MSI.code(), m.address());
    }

    /** A {@code struct kvm_irq_level} per thread, so a device model driving a line allocates nothing. */
    private static final ThreadLocal<MemorySegment> IRQ_LEVEL_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(KvmStructs.IRQ_LEVEL));

    /**
     * Sets the level of interrupt line {@code gsi} of the in-kernel irqchip
     * ({@code KVM_IRQ_LINE}): high asserts a level-triggered IOAPIC pin until
     * it is set low again.
     */
    public void irqLine(int gsi, boolean high) throws NativeException {
        int r = irqLineQuietly(gsi, high);
        if (r < 0) {
            throw new NativeException("ioctl(KVM_IRQ_LINE)", -r);
        }
    }

    /** As {@link #irqLine} without allocating (for device models); returns 0 or the negated errno. */
    public int irqLineQuietly(int gsi, boolean high) {
        MemorySegment m = IRQ_LEVEL_BUFFER.get();
        m.set(JAVA_INT, 0, gsi);
        m.set(JAVA_INT, 4, high ? 1 : 0);
        return Libc.ioctlRaw(fd, KVM_IRQ_LINE.code(), m.address());
    }

    /** One MSI route of the VM's GSI routing table. */
    public record MsiRoute(int gsi, long address, int data) {
    }

    /** Replaces the VM's GSI routing table with these MSI routes ({@code KVM_SET_GSI_ROUTING}). */
    public void setGsiRouting(List<MsiRoute> routes) throws NativeException {
        setGsiRouting(routes, false);
    }

    /**
     * Replaces the VM's GSI routing table ({@code KVM_SET_GSI_ROUTING}, which
     * replaces all of it) with these MSI routes, plus, with
     * {@code keepIoapic}, the default routes of the in-kernel IOAPIC's pins
     * (GSI n = pin n) so that its interrupts keep working.
     */
    public void setGsiRouting(List<MsiRoute> routes, boolean keepIoapic) throws NativeException {
        int pins = keepIoapic ? IOAPIC_PINS : 0;
        try (Arena a = Arena.ofConfined()) {
            long es = KvmStructs.IRQ_ROUTING_ENTRY.byteSize();
            MemorySegment m = a.allocate(KvmStructs.IRQ_ROUTING_HEADER.byteSize() + es * (routes.size() + pins), 8);
            m.set(JAVA_INT, 0, routes.size() + pins);
            long o = KvmStructs.IRQ_ROUTING_HEADER.byteSize();
            for (int pin = 0; pin < pins; pin++, o += es) {
                m.set(JAVA_INT, o, pin);
                m.set(JAVA_INT, o + 4, IRQ_ROUTING_IRQCHIP);
                m.set(JAVA_INT, o + 16, IRQCHIP_IOAPIC);
                m.set(JAVA_INT, o + 20, pin);
            }
            for (MsiRoute r : routes) {
                m.set(JAVA_INT, o, r.gsi());
                m.set(JAVA_INT, o + 4, IRQ_ROUTING_MSI);
                m.set(JAVA_INT, o + 16, (int) r.address());
                m.set(JAVA_INT, o + 20, (int) (r.address() >>> 32));
                m.set(JAVA_INT, o + 24, r.data());
                o += es;
            }
            Libc.ioctl(fd(), KVM_SET_GSI_ROUTING, m);
        }
    }

    /** A range of an MSR filter: {@code count} MSRs from {@code base}; bit set = access allowed in the kernel. */
    public record MsrFilterRange(int flags, int base, byte[] bitmap, int count) {
        public static final int READ = 1;
        public static final int WRITE = 2;
    }

    /**
     * Installs an MSR filter ({@code KVM_X86_SET_MSR_FILTER}); with
     * {@code KVM_CAP_X86_USER_SPACE_MSR} enabled for filtered MSRs, accesses
     * the filter denies exit to user space instead of faulting.
     *
     * @param defaultDeny false: MSRs in no range are allowed
     */
    public void setMsrFilter(boolean defaultDeny, List<MsrFilterRange> ranges) throws NativeException {
        if (ranges.size() > 16) {
            throw new IllegalArgumentException("an MSR filter has at most 16 ranges");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(KvmStructs.MSR_FILTER);
            m.set(JAVA_INT, 0, defaultDeny ? 1 : 0);
            long o = 8;
            for (MsrFilterRange r : ranges) {
                MemorySegment bitmap = a.allocate(Math.max(8, r.bitmap().length), 8);
                MemorySegment.copy(r.bitmap(), 0, bitmap, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, r.bitmap().length);
                m.set(JAVA_INT, o, r.flags());
                m.set(JAVA_INT, o + 4, r.count());
                m.set(JAVA_INT, o + 8, r.base());
                m.set(JAVA_LONG, o + 16, bitmap.address());
                o += KvmStructs.MSR_FILTER_RANGE.byteSize();
            }
            Libc.ioctl(fd(), KVM_X86_SET_MSR_FILTER, m);
        }
    }

    @Override
    public void close() throws NativeException {
        if (fd >= 0) {
            int f = fd;
            fd = -1;
            Libc.close(f);
        }
    }
}
