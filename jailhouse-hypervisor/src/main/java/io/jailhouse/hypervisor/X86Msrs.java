package io.jailhouse.hypervisor;

import io.jailhouse.sys.KvmCapability;
import io.jailhouse.sys.KvmVm;
import io.jailhouse.sys.NativeException;
import java.util.List;

/**
 * The MSR writes Jailhouse forbids a cell (spec 8): the APIC base (0x1b),
 * the MTRRs (0x200-0x276) and the MSRs past the x2APIC block (up to 0xd8f).
 * KVM would let a guest write them; an MSR filter turns each such write into
 * an exit to user space ({@code KVM_CAP_X86_USER_SPACE_MSR}), where the vCPU
 * loop fails the CPU with upstream's {@code FATAL: Unhandled MSR write}.
 * Everything else stays with KVM (upstream passes other MSRs through).
 * KVM never filters the x2APIC range 0x800-0x8ff, so the forbidden range
 * above it starts at 0x900 here (0x840-0x8ff are reserved x2APIC registers,
 * which KVM's local APIC refuses with #GP).
 */
final class X86Msrs {
    static final int APIC_BASE = 0x1b;
    static final int MTRR_FIRST = 0x200;
    static final int MTRR_LAST = 0x276;
    static final int BEYOND_X2APIC_FIRST = 0x900;
    static final int BEYOND_X2APIC_LAST = 0xd8f;
    /** {@code KVM_MSR_EXIT_REASON_FILTER}: exit to user space for accesses the filter denies. */
    static final long EXIT_REASON_FILTER = 1 << 2;

    private X86Msrs() {
    }

    /** Installs the filter when KVM offers it; returns whether it did. */
    static boolean installFilter(KvmVm vm) throws NativeException {
        if (!vm.has(KvmCapability.X86_USER_SPACE_MSR) || !vm.has(KvmCapability.X86_MSR_FILTER)) {
            return false;
        }
        vm.enableCapability(KvmCapability.X86_USER_SPACE_MSR, EXIT_REASON_FILTER);
        vm.setMsrFilter(false, List.of(deny(APIC_BASE, APIC_BASE), deny(MTRR_FIRST, MTRR_LAST),
                deny(BEYOND_X2APIC_FIRST, BEYOND_X2APIC_LAST)));
        return true;
    }

    /** Whether a write to {@code msr} is one the filter sends to user space (and so fatal). */
    static boolean writeForbidden(long msr) {
        return msr == APIC_BASE || msr >= MTRR_FIRST && msr <= MTRR_LAST
                || msr >= BEYOND_X2APIC_FIRST && msr <= BEYOND_X2APIC_LAST;
    }

    /** A write range whose bitmap is all zero: every write in it is denied. */
    private static KvmVm.MsrFilterRange deny(int first, int last) {
        int count = last - first + 1;
        return new KvmVm.MsrFilterRange(KvmVm.MsrFilterRange.WRITE, first, new byte[(count + 7) / 8], count);
    }
}
