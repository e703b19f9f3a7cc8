package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
    void pollSeesWhichDescriptorIsReadable() throws Exception {
        int[] pipe = Libc.pipe(Libc.O_CLOEXEC);
        int eventFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(2 * Libc.POLLFD_BYTES, 8);
            Libc.setPollFd(fds, 0, pipe[0], Libc.POLLIN);
            Libc.setPollFd(fds, 1, eventFd, Libc.POLLIN);
            assertThat(Libc.poll(fds, 2, 10)).as("nothing written yet: timeout").isZero();

            MemorySegment word = a.allocate(8);
            word.set(JAVA_LONG, 0, 0x1122334455667788L);
            assertThat(Libc.write(pipe[1], word)).isEqualTo(8);
            assertThat(Libc.poll(fds, 2, 1000)).isEqualTo(1);
            assertThat(Libc.pollEvents(fds, 0) & Libc.POLLIN).isNotZero();
            assertThat(Libc.pollEvents(fds, 1)).isZero();
            word.fill((byte) 0);
            assertThat(Libc.read(pipe[0], word)).isEqualTo(8);
            assertThat(word.get(JAVA_LONG, 0)).isEqualTo(0x1122334455667788L);

            Libc.close(pipe[1]);
            pipe[1] = -1;
            Libc.setPollFd(fds, 0, pipe[0], Libc.POLLIN);
            assertThat(Libc.poll(fds, 1, 1000)).as("writer gone").isEqualTo(1);
            assertThat(Libc.pollEvents(fds, 0) & Libc.POLLHUP).isNotZero();
            assertThat(Libc.read(pipe[0], word)).as("end of file").isZero();
        } finally {
            Libc.close(pipe[0]);
            if (pipe[1] >= 0) {
                Libc.close(pipe[1]);
            }
            Libc.close(eventFd);
        }
        assertThatThrownBy(() -> Libc.poll(MemorySegment.NULL, 1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
