package io.jailhouse.sys;

/** One {@code struct kvm_cpuid_entry2}: what CPUID leaf {@code function} (sub-leaf {@code index}) returns. */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** {@code KVM_CPUID_FLAG_SIGNIFCANT_INDEX}: the sub-leaf matters for this leaf. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public CpuidEntry withRegisters(int newEax, int newEbx, int newEcx, int newEdx) {
        return new CpuidEntry(function, index, flags, newEax, newEbx, newEcx, newEdx);
    }
}
