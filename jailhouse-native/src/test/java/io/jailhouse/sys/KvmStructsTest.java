package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The layouts match the sizes of the kernel's structs (x86-64 uapi headers). */
class KvmStructsTest {
    @Test
    void sizesMatchTheKernel() {
        assertThat(KvmStructs.USERSPACE_MEMORY_REGION.byteSize()).isEqualTo(32);
        assertThat(KvmStructs.REGS.byteSize()).isEqualTo(144);
        assertThat(KvmStructs.SEGMENT.byteSize()).isEqualTo(24);
        assertThat(KvmStructs.DTABLE.byteSize()).isEqualTo(16);
        assertThat(KvmStructs.SREGS.byteSize()).isEqualTo(312);
        assertThat(KvmStructs.CPUID_ENTRY2.byteSize()).isEqualTo(40);
        assertThat(KvmStructs.MSR_ENTRY.byteSize()).isEqualTo(16);
        assertThat(KvmStructs.LAPIC_STATE.byteSize()).isEqualTo(1024);
        assertThat(KvmStructs.XCRS.byteSize()).isEqualTo(392);
        assertThat(KvmStructs.IOEVENTFD.byteSize()).isEqualTo(64);
        assertThat(KvmStructs.IRQFD.byteSize()).isEqualTo(32);
        assertThat(KvmStructs.MSI.byteSize()).isEqualTo(32);
        assertThat(KvmStructs.IRQ_ROUTING_ENTRY.byteSize()).isEqualTo(48);
        assertThat(KvmStructs.ENABLE_CAP.byteSize()).isEqualTo(104);
        assertThat(KvmStructs.MSR_FILTER.byteSize()).isEqualTo(392);
    }

    @Test
    void ioctlNumbersMatchTheKernel() {
        // Values as the kernel headers' macros expand on x86-64.
        assertThat(KvmVcpu.KVM_RUN.code()).isEqualTo(0xae80L);
        assertThat(KvmVm.KVM_SET_USER_MEMORY_REGION.code()).isEqualTo(0x4020ae46L);
        assertThat(KvmVcpu.KVM_GET_REGS.code()).isEqualTo(0x8090ae81L);
        assertThat(KvmVcpu.KVM_SET_SREGS.code()).isEqualTo(0x4138ae84L);
        assertThat(KvmVcpu.KVM_SET_CPUID2.code()).isEqualTo(0x4008ae90L);
        assertThat(KvmDevice.KVM_GET_SUPPORTED_CPUID.code()).isEqualTo(0xc008ae05L);
        assertThat(KvmVm.KVM_IRQFD.code()).isEqualTo(0x4020ae76L);
        assertThat(KvmVm.KVM_IOEVENTFD.code()).isEqualTo(0x4040ae79L);
        assertThat(KvmVm.KVM_SIGNAL_MSI.code()).isEqualTo(0x4020aea5L);
        assertThat(KvmVm.KVM_IRQ_LINE.code()).isEqualTo(0x4008ae61L);
        assertThat(KvmStructs.IRQ_LEVEL.byteSize()).isEqualTo(8);
        assertThat(KvmVm.KVM_ENABLE_CAP.code()).isEqualTo(0x4068aea3L);
        assertThat(KvmVcpu.KVM_GET_LAPIC.code()).isEqualTo(0x8400ae8eL);
        assertThat(KvmVcpu.KVM_GET_XCRS.code()).isEqualTo(0x8188aea6L);
    }
}
