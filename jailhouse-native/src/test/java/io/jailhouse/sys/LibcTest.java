package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** libc bindings and errno mapping that need no KVM. */
class LibcTest {
    @Test
    void missingPathIsEnoent(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-device");
        assertThatThrownBy(() -> KvmDevice.open(missing))
                .isInstanceOfSatisfying(NativeException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                    assertThat(e).hasMessage("open(" + missing + "): ENOENT (No such file or directory)");
                });
    }

    @Test
    void ioctlOnAFileThatHasNoneIsEnotty() throws Exception {
        int fd = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        try {
            assertThatThrownBy(() -> Libc.ioctl(fd, KvmDevice.KVM_GET_API_VERSION, 0))
                    .isInstanceOfSatisfying(NativeException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ENOTTY);
                        assertThat(e).hasMessage("ioctl(KVM_GET_API_VERSION): ENOTTY (Inappropriate ioctl for device)");
                    });
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void closingABadDescriptorIsEbadf() {
        assertThatThrownBy(() -> Libc.close(-5))
                .isInstanceOfSatisfying(NativeException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
    }

    @Test
    void errnoIsCapturedPerCallNotLeftOver() throws Exception {
        assertThatThrownBy(() -> Libc.close(-5)).isInstanceOf(NativeException.class);
        int fd = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        Libc.close(fd);
    }

    @Test
    void ioctlNumbersMatchTheKernelMacros() {
        assertThat(KvmDevice.KVM_GET_API_VERSION.code()).isEqualTo(0xAE00L);
        assertThat(KvmDevice.KVM_CHECK_EXTENSION.code()).isEqualTo(0xAE03L);
        assertThat(KvmDevice.KVM_GET_VCPU_MMAP_SIZE.code()).isEqualTo(0xAE04L);
        // _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region) and _IOR(KVMIO, 0x81, struct kvm_regs)
        assertThat(IoctlRequest.iow("KVM_SET_USER_MEMORY_REGION", 0xAE, 0x46, 32).code()).isEqualTo(0x4020AE46L);
        assertThat(IoctlRequest.ior("KVM_GET_REGS", 0xAE, 0x81, 144).code()).isEqualTo(0x8090AE81L);
        assertThat(IoctlRequest.iowr("X", 0xAE, 0x05, 8).code()).isEqualTo(0xC008AE05L);
        assertThatThrownBy(() -> IoctlRequest.iow("X", 0xAE, 1, 1 << 14)).hasMessageContaining("14 bits");
    }

    @Test
    void errnoNames() {
        assertThat(Errno.describe(22)).isEqualTo("EINVAL (Invalid argument)");
        assertThat(Errno.describe(4095)).isEqualTo("errno 4095");
        assertThat(Errno.of(95)).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(new NativeException("x", 4095).errnoName()).isEqualTo("errno 4095");
    }

    @Test
    void capabilityNumbersMatchKvmH() {
        assertThat(KvmCapability.IRQCHIP.number()).isZero();
        assertThat(KvmCapability.IMMEDIATE_EXIT.number()).isEqualTo(136);
        assertThat(KvmCapability.X86_MSR_FILTER.number()).isEqualTo(189);
        assertThat(KvmCapability.XEN_HVM.kernelName()).isEqualTo("KVM_CAP_XEN_HVM");
    }

    @Test
    void pidfdGetfdDuplicatesAnotherProcesssDescriptor() throws Exception {
        int eventFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        int pidfd = Libc.pidfdOpen(ProcessHandle.current().pid());
        int copy = Libc.pidfdGetfd(pidfd, eventFd);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment v = a.allocate(8);
            v.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 5);
            org.assertj.core.api.Assertions.assertThat(Libc.write(eventFd, v)).isEqualTo(8);
            v.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 0);
            org.assertj.core.api.Assertions.assertThat(Libc.read(copy, v)).isEqualTo(8);
            org.assertj.core.api.Assertions.assertThat(v.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0)).isEqualTo(5);
        } finally {
            Libc.close(copy);
            Libc.close(pidfd);
            Libc.close(eventFd);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Libc.pidfdGetfd(-1, 0))
                .isInstanceOf(NativeException.class).hasMessageContaining("pidfd_getfd(0): EBADF");
    }
}
