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
