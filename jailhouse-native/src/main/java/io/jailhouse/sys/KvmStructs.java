package io.jailhouse.sys;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.StructLayout;

/**
 * The KVM ABI structs in use, as {@link StructLayout}s (x86-64,
 * include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h). Tests check
 * each size against the kernel's.
 */
public final class KvmStructs {
    private KvmStructs() {
    }

    /** {@code struct kvm_userspace_memory_region}. */
    public static final StructLayout USERSPACE_MEMORY_REGION = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"), JAVA_LONG.withName("memory_size"),
            JAVA_LONG.withName("userspace_addr"));

    /** {@code struct kvm_regs}: 18 general registers. */
    public static final StructLayout REGS = structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"), JAVA_LONG.withName("rdx"),
            JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"), JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"),
            JAVA_LONG.withName("r8"), JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"), JAVA_LONG.withName("r11"),
            JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"), JAVA_LONG.withName("r14"), JAVA_LONG.withName("r15"),
            JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags"));

    /** {@code struct kvm_segment}. */
    public static final StructLayout SEGMENT = structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"), JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"), JAVA_BYTE.withName("g"),
            JAVA_BYTE.withName("avl"), JAVA_BYTE.withName("unusable"), JAVA_BYTE.withName("padding"));

    /** {@code struct kvm_dtable}. */
    public static final StructLayout DTABLE = structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"), paddingLayout(6));

    /** {@code struct kvm_sregs}. */
    public static final StructLayout SREGS = structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"), SEGMENT.withName("fs"),
            SEGMENT.withName("gs"), SEGMENT.withName("ss"), SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"), JAVA_LONG.withName("cr4"),
            JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"), JAVA_LONG.withName("apic_base"),
            sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));

    /** {@code struct kvm_cpuid_entry2}. */
    public static final StructLayout CPUID_ENTRY2 = structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            sequenceLayout(3, JAVA_INT).withName("padding"));

    /** Header of {@code struct kvm_cpuid2}; {@code nent} entries follow. */
    public static final StructLayout CPUID2_HEADER = structLayout(JAVA_INT.withName("nent"), JAVA_INT.withName("padding"));

    /** {@code struct kvm_msr_entry}. */
    public static final StructLayout MSR_ENTRY = structLayout(
            JAVA_INT.withName("index"), JAVA_INT.withName("reserved"), JAVA_LONG.withName("data"));

    /** Header of {@code struct kvm_msrs}; {@code nmsrs} entries follow. */
    public static final StructLayout MSRS_HEADER = structLayout(JAVA_INT.withName("nmsrs"), JAVA_INT.withName("pad"));

    /** {@code struct kvm_lapic_state}: the APIC register page as KVM keeps it. */
    public static final StructLayout LAPIC_STATE = structLayout(sequenceLayout(1024, JAVA_BYTE).withName("regs"));

    /** {@code struct kvm_mp_state}. */
    public static final StructLayout MP_STATE = structLayout(JAVA_INT.withName("mp_state"));

    /**
     * {@code struct kvm_vcpu_events} (64 bytes): exception, interrupt, NMI and
     * SIPI state, then {@code flags} at offset 28 and the SMI and triple-fault parts.
     */
    public static final StructLayout VCPU_EVENTS = structLayout(sequenceLayout(64, JAVA_BYTE).withName("bytes"));
    public static final long VCPU_EVENTS_FLAGS = 28;
    /** {@code KVM_VCPUEVENT_VALID_NMI_PENDING}: the NMI pending field is to be taken. */
    public static final int VCPUEVENT_VALID_NMI_PENDING = 1;

    /** {@code struct kvm_xcr}. */
    public static final StructLayout XCR = structLayout(
            JAVA_INT.withName("xcr"), JAVA_INT.withName("reserved"), JAVA_LONG.withName("value"));

    /** {@code struct kvm_xcrs}. */
    public static final StructLayout XCRS = structLayout(
            JAVA_INT.withName("nr_xcrs"), JAVA_INT.withName("flags"), sequenceLayout(16, XCR).withName("xcrs"),
            sequenceLayout(16, JAVA_LONG).withName("padding"));

    /** {@code struct kvm_ioeventfd}. */
    public static final StructLayout IOEVENTFD = structLayout(
            JAVA_LONG.withName("datamatch"), JAVA_LONG.withName("addr"), JAVA_INT.withName("len"),
            JAVA_INT.withName("fd"), JAVA_INT.withName("flags"), sequenceLayout(36, JAVA_BYTE).withName("pad"));

    /** {@code struct kvm_irqfd}. */
    public static final StructLayout IRQFD = structLayout(
            JAVA_INT.withName("fd"), JAVA_INT.withName("gsi"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("resamplefd"), sequenceLayout(16, JAVA_BYTE).withName("pad"));

    /** {@code struct kvm_irq_level}: an interrupt line (GSI) and its level. */
    public static final StructLayout IRQ_LEVEL = structLayout(JAVA_INT.withName("irq"), JAVA_INT.withName("level"));

    /** {@code struct kvm_msi}. */
    public static final StructLayout MSI = structLayout(
            JAVA_INT.withName("address_lo"), JAVA_INT.withName("address_hi"), JAVA_INT.withName("data"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("devid"), sequenceLayout(12, JAVA_BYTE).withName("pad"));

    /** {@code struct kvm_irq_routing_entry} with its MSI arm (the union is 32 bytes). */
    public static final StructLayout IRQ_ROUTING_ENTRY = structLayout(
            JAVA_INT.withName("gsi"), JAVA_INT.withName("type"), JAVA_INT.withName("flags"), JAVA_INT.withName("pad"),
            JAVA_INT.withName("address_lo"), JAVA_INT.withName("address_hi"), JAVA_INT.withName("data"),
            JAVA_INT.withName("devid"), sequenceLayout(16, JAVA_BYTE).withName("union_rest"));

    /** Header of {@code struct kvm_irq_routing}; {@code nr} entries follow. */
    public static final StructLayout IRQ_ROUTING_HEADER = structLayout(JAVA_INT.withName("nr"), JAVA_INT.withName("flags"));

    /** {@code struct kvm_enable_cap}. */
    public static final StructLayout ENABLE_CAP = structLayout(
            JAVA_INT.withName("cap"), JAVA_INT.withName("flags"), sequenceLayout(4, JAVA_LONG).withName("args"),
            sequenceLayout(64, JAVA_BYTE).withName("pad"));

    /** {@code struct kvm_msr_filter_range}: flags, nmsrs, base, pointer to the bitmap. */
    public static final StructLayout MSR_FILTER_RANGE = structLayout(
            JAVA_INT.withName("flags"), JAVA_INT.withName("nmsrs"), JAVA_INT.withName("base"), paddingLayout(4),
            JAVA_LONG.withName("bitmap"));

    /** {@code struct kvm_msr_filter}: default action and 16 ranges. */
    public static final StructLayout MSR_FILTER = structLayout(
            JAVA_INT.withName("flags"), paddingLayout(4), sequenceLayout(16, MSR_FILTER_RANGE).withName("ranges"));
}
