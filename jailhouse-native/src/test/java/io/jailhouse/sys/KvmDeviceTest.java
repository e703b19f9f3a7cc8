package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * Runs against the machine's real {@code /dev/kvm}. Where there is none (or
 * this user may not open it) every test here is skipped, and says so loudly on
 * stderr and in the test report, instead of passing.
 */
@RequiresKvm
class KvmDeviceTest {
    @Test
    void apiVersionIs12() throws Exception {
        try (KvmDevice kvm = KvmDevice.open()) {
            assertThat(kvm.apiVersion()).isEqualTo(KvmDevice.API_VERSION).isEqualTo(12);
        }
    }

    @Test
    void coreCapabilitiesAreReported() throws Exception {
        try (KvmDevice kvm = KvmDevice.open()) {
            assertThat(kvm.has(KvmCapability.USER_MEMORY)).isTrue();
            assertThat(kvm.checkExtension(KvmCapability.MAX_VCPUS)).isPositive();
            // An unknown capability number is "absent", not an error.
            assertThat(kvm.checkExtension(0x7fff_0000)).isZero();
        }
    }

    @Test
    void vcpuMmapSizeCoversAtLeastOnePage() throws Exception {
        try (KvmDevice kvm = KvmDevice.open()) {
            assertThat(kvm.vcpuMmapSize()).isGreaterThanOrEqualTo(4096);
        }
    }

    @Test
    void unknownRequestGivesTypedErrnoNamingTheRequest() throws Exception {
        IoctlRequest bogus = IoctlRequest.io("KVM_BOGUS", 0xAE, 0xff);
        try (KvmDevice kvm = KvmDevice.open()) {
            // x86 KVM answers requests it does not know on /dev/kvm with EINVAL.
            assertThatThrownBy(() -> Libc.ioctl(kvm.fd(), bogus, 0))
                    .isInstanceOfSatisfying(NativeException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                        assertThat(e.errnoName()).isEqualTo("EINVAL");
                        assertThat(e.call()).isEqualTo("ioctl(KVM_BOGUS)");
                        assertThat(e).hasMessage("ioctl(KVM_BOGUS): EINVAL (Invalid argument)");
                    });
        }
    }

    @Test
    void createVmWithUnknownTypeIsEinval() throws Exception {
        try (KvmDevice kvm = KvmDevice.open()) {
            int fd = -1;
            try {
                fd = Libc.ioctl(kvm.fd(), KvmDevice.KVM_CREATE_VM, 0xdead);
            } catch (NativeException e) {
                assertThat(e).hasMessage("ioctl(KVM_CREATE_VM): EINVAL (Invalid argument)");
                return;
            } finally {
                if (fd >= 0) {
                    Libc.close(fd);
                }
            }
            throw new AssertionError("KVM_CREATE_VM accepted VM type 0xdead");
        }
    }

    @Test
    void closedDeviceRefusesUse() throws Exception {
        KvmDevice kvm = KvmDevice.open();
        kvm.close();
        kvm.close();
        assertThatThrownBy(kvm::apiVersion).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }
}
