package io.jailhouse.sys;

/**
 * The KVM capabilities the hypervisor asks for with
 * {@code KVM_CHECK_EXTENSION}; numbers from the kernel's
 * include/uapi/linux/kvm.h. {@link KvmDevice#checkExtension} returns 0 when a
 * capability is absent, otherwise 1 or a capability-specific value (a count for
 * {@link #NR_VCPUS}, {@link #MAX_VCPUS}).
 */
public enum KvmCapability {
    IRQCHIP(0),
    USER_MEMORY(3),
    SET_TSS_ADDR(4),
    EXT_CPUID(7),
    NR_VCPUS(9),
    NR_MEMSLOTS(10),
    MP_STATE(14),
    IRQ_ROUTING(25),
    IRQFD(32),
    PIT2(33),
    IOEVENTFD(36),
    SET_IDENTITY_MAP_ADDR(37),
    XEN_HVM(38),
    ADJUST_CLOCK(39),
    VCPU_EVENTS(41),
    XCRS(56),
    TSC_CONTROL(60),
    GET_TSC_KHZ(61),
    MAX_VCPUS(66),
    SYNC_REGS(74),
    SIGNAL_MSI(77),
    READONLY_MEM(81),
    IMMEDIATE_EXIT(136),
    X86_USER_SPACE_MSR(188),
    X86_MSR_FILTER(189);

    private final int number;

    KvmCapability(int number) {
        this.number = number;
    }

    /** The {@code KVM_CAP_*} value passed to {@code KVM_CHECK_EXTENSION}. */
    public int number() {
        return number;
    }

    /** The kernel's name, {@code KVM_CAP_IRQCHIP}. */
    public String kernelName() {
        return "KVM_CAP_" + name();
    }
}
