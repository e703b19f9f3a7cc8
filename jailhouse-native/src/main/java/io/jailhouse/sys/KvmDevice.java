package io.jailhouse.sys;

import java.nio.file.Path;

/**
 * The KVM system device, {@code /dev/kvm}: what the kernel's KVM supports.
 * VMs are created from it (next step of the VMM); this class answers the
 * questions asked before that.
 */
public final class KvmDevice implements AutoCloseable {
    public static final Path DEFAULT_PATH = Path.of("/dev/kvm");
    /** The only KVM API version there has ever been in mainline Linux ({@code KVM_API_VERSION}). */
    public static final int API_VERSION = 12;

    static final int KVMIO = 0xAE;
    static final IoctlRequest KVM_GET_SUPPORTED_CPUID = IoctlRequest.iowr("KVM_GET_SUPPORTED_CPUID", KVMIO, 0x05,
            KvmStructs.CPUID2_HEADER.byteSize());
    /** Room for the supported-CPUID table; KVM answers E2BIG if it has more entries. */
    private static final int MAX_CPUID_ENTRIES = 256;
    public static final IoctlRequest KVM_GET_API_VERSION = IoctlRequest.io("KVM_GET_API_VERSION", KVMIO, 0x00);
    public static final IoctlRequest KVM_CREATE_VM = IoctlRequest.io("KVM_CREATE_VM", KVMIO, 0x01);
    public static final IoctlRequest KVM_CHECK_EXTENSION = IoctlRequest.io("KVM_CHECK_EXTENSION", KVMIO, 0x03);
    public static final IoctlRequest KVM_GET_VCPU_MMAP_SIZE = IoctlRequest.io("KVM_GET_VCPU_MMAP_SIZE", KVMIO, 0x04);

    private final Path path;
    private int fd;

    private KvmDevice(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /**
     * Why KVM cannot be used here, or empty when {@code /dev/kvm} exists and
     * opens: tests that need KVM skip with this reason, loudly.
     */
    public static java.util.Optional<String> unavailableReason() {
        if (!java.nio.file.Files.exists(DEFAULT_PATH)) {
            return java.util.Optional.of(DEFAULT_PATH + " does not exist on this machine");
        }
        try {
            open().close();
            return java.util.Optional.empty();
        } catch (NativeException e) {
            return java.util.Optional.of(e.getMessage());
        }
    }

    /** Opens {@code /dev/kvm}. */
    public static KvmDevice open() throws NativeException {
        return open(DEFAULT_PATH);
    }

    /** Opens the KVM device at {@code path} read-write, not inherited by child processes. */
    public static KvmDevice open(Path path) throws NativeException {
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        return new KvmDevice(path, fd);
    }

    public Path path() {
        return path;
    }

    /** The descriptor, for the VM and vCPU code that builds on this one. */
    public int fd() {
        checkOpen();
        return fd;
    }

    /** {@code KVM_GET_API_VERSION}; {@link #API_VERSION} on every kernel this project supports. */
    public int apiVersion() throws NativeException {
        return Libc.ioctl(fd(), KVM_GET_API_VERSION, 0);
    }

    /** {@code KVM_CHECK_EXTENSION}: 0 if absent, else 1 or a capability-specific value. */
    public int checkExtension(int capability) throws NativeException {
        return Libc.ioctl(fd(), KVM_CHECK_EXTENSION, capability);
    }

    public int checkExtension(KvmCapability capability) throws NativeException {
        return checkExtension(capability.number());
    }

    public boolean has(KvmCapability capability) throws NativeException {
        return checkExtension(capability) > 0;
    }

    /** {@code KVM_GET_VCPU_MMAP_SIZE}: bytes to map of each vCPU fd (the {@code kvm_run} area and what follows). */
    public int vcpuMmapSize() throws NativeException {
        return Libc.ioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
    }

    /** Creates a VM ({@code KVM_CREATE_VM}, default machine type). */
    public KvmVm createVm() throws NativeException {
        int vmFd = Libc.ioctl(fd(), KVM_CREATE_VM, 0);
        return new KvmVm(this, vmFd);
    }

    /** The CPUID leaves KVM can give a guest ({@code KVM_GET_SUPPORTED_CPUID}). */
    public java.util.List<CpuidEntry> supportedCpuid() throws NativeException {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            long es = KvmStructs.CPUID_ENTRY2.byteSize();
            java.lang.foreign.MemorySegment m = a.allocate(KvmStructs.CPUID2_HEADER.byteSize() + es * MAX_CPUID_ENTRIES, 8);
            m.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, MAX_CPUID_ENTRIES);
            Libc.ioctl(fd(), KVM_GET_SUPPORTED_CPUID, m);
            int n = m.get(java.lang.foreign.ValueLayout.JAVA_INT, 0);
            java.util.List<CpuidEntry> out = new java.util.ArrayList<>(n);
            long o = KvmStructs.CPUID2_HEADER.byteSize();
            for (int i = 0; i < n; i++, o += es) {
                int[] v = new int[7];
                for (int k = 0; k < 7; k++) {
                    v[k] = m.get(java.lang.foreign.ValueLayout.JAVA_INT, o + 4L * k);
                }
                out.add(new CpuidEntry(v[0], v[1], v[2], v[3], v[4], v[5], v[6]));
            }
            return out;
        }
    }

    private void checkOpen() {
        if (fd < 0) {
            throw new IllegalStateException(path + " is closed");
        }
    }

    /** Closes the device; closing twice is allowed and does nothing. */
    @Override
    public void close() throws NativeException {
        if (fd >= 0) {
            int f = fd;
            fd = -1;
            Libc.close(f);
        }
    }

    @Override
    public String toString() {
        return "KvmDevice[" + path + (fd >= 0 ? ", fd " + fd : ", closed") + "]";
    }
}
