package io.jailhouse.hypervisor;

import io.jailhouse.sys.CpuidEntry;
import io.jailhouse.sys.KvmVcpu;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.X86Register;
import io.jailhouse.sys.X86Segment;
import java.util.ArrayList;
import java.util.List;

/**
 * The x86 CPU state of a cell CPU: the CPUID it sees and the state it starts
 * in (spec 5.1), with what KVM on our hosts needs on top (spec 11, 12).
 */
final class X86Reset {
    static final int MSR_IA32_APIC_BASE = 0x1b;
    static final int MSR_IA32_PAT = 0x277;
    static final int MSR_MTRR_DEF_TYPE = 0x2ff;
    /** APIC base 0xfee00000, enabled (EN, bit 11) in x2APIC mode (EXTD, bit 10), and no BSP flag (spec 12). */
    static final long APIC_BASE_X2APIC = 0xfee00000L | 0x800 | 0x400;
    static final long PAT_RESET = 0x0007040600070406L;
    static final long CR0_RESET = 0x60000010L;
    /** LAPIC registers in the KVM_GET_LAPIC page. */
    static final int LAPIC_LVT_TIMER = 0x320;
    static final int LAPIC_LVT_THERMAL = 0x330;
    static final int LAPIC_LVT_PERFMON = 0x340;
    static final int LAPIC_LVT_LINT0 = 0x350;
    static final int LAPIC_LVT_LINT1 = 0x360;
    static final int LAPIC_LVT_ERROR = 0x370;
    static final int LAPIC_TIMER_DIVIDE = 0x3e0;
    static final int LVT_MASKED = 1 << 16;
    /** TDCR value for divide-by-16, which upstream's inmate library assumes (spec 5.4, 12). */
    static final int DIVIDE_BY_16 = 0x3;

    static final int CPUID_HYPERVISOR_BASE = 0x40000000;
    /** "Jail" "hous" "e": the signature inmates and Linux look for (spec 3). */
    static final int SIGNATURE_EBX = 0x6c69614a;
    static final int SIGNATURE_ECX = 0x73756f68;
    static final int SIGNATURE_EDX = 0x65;

    private X86Reset() {
    }

    /**
     * The CPUID table for a cell CPU with local APIC id {@code apicId}: what
     * KVM supports, plus the hypervisor bit, x2APIC and TSC-deadline, without
     * VMX/SVM, with Jailhouse's signature leaves.
     */
    static List<CpuidEntry> cpuid(List<CpuidEntry> supported, int apicId) {
        List<CpuidEntry> out = new ArrayList<>();
        for (CpuidEntry e : supported) {
            if (e.function() == CPUID_HYPERVISOR_BASE || e.function() == CPUID_HYPERVISOR_BASE + 1) {
                continue; // KVM's own paravirt leaves: replaced by Jailhouse's below
            }
            switch (e.function()) {
                case 1 -> e = e.withRegisters(e.eax(), (e.ebx() & 0x00ffffff) | apicId << 24,
                        (e.ecx() | 1 << 31 | 1 << 21 | 1 << 24) & ~(1 << 5), e.edx());
                case 0xb, 0x1f -> e = e.withRegisters(e.eax(), e.ebx(), e.ecx(), apicId);
                case 0x80000001 -> e = e.withRegisters(e.eax(), e.ebx(), e.ecx() & ~(1 << 2), e.edx());
                default -> {
                }
            }
            out.add(e);
        }
        out.add(new CpuidEntry(CPUID_HYPERVISOR_BASE, 0, 0, CPUID_HYPERVISOR_BASE + 1,
                SIGNATURE_EBX, SIGNATURE_ECX, SIGNATURE_EDX));
        out.add(new CpuidEntry(CPUID_HYPERVISOR_BASE + 1, 0, 0, 0, 0, 0, 0));
        return out;
    }

    /** Masks every LVT entry and presets the timer divider, in a KVM_GET_LAPIC page. */
    static byte[] quietLapic(byte[] lapic) {
        byte[] s = lapic.clone();
        for (int reg : new int[] {LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PERFMON, LAPIC_LVT_LINT0,
            LAPIC_LVT_LINT1, LAPIC_LVT_ERROR}) {
            putInt(s, reg, getInt(s, reg) | LVT_MASKED);
        }
        putInt(s, LAPIC_TIMER_DIVIDE, DIVIDE_BY_16);
        return s;
    }

    /**
     * Puts the vCPU in the state of spec 5.1 at {@code resetAddress}: real
     * mode, CS from the address, flat 64 KiB data segments, CR0 = CD|NW|ET,
     * all general registers 0, RFLAGS 0x2, x2APIC on, runnable.
     */
    static void reset(KvmVcpu vcpu, long resetAddress, byte[] lapic) throws NativeException {
        vcpu.clearPendingEvents();
        vcpu.setMsr(MSR_IA32_APIC_BASE, APIC_BASE_X2APIC);
        vcpu.setLapic(lapic);
        vcpu.setMsr(MSR_IA32_PAT, PAT_RESET);
        vcpu.setMsr(MSR_MTRR_DEF_TYPE, 0);
        vcpu.loadSpecialRegisters();
        vcpu.setSegment(X86Segment.CS, (int) (resetAddress >> 4) & 0xf000, resetAddress & ~0xffffL, 0xffff, 0x9b);
        for (X86Segment s : new X86Segment[] {X86Segment.DS, X86Segment.ES, X86Segment.FS, X86Segment.GS,
            X86Segment.SS}) {
            vcpu.setSegment(s, 0, 0, 0xffff, 0x93);
        }
        vcpu.setSegment(X86Segment.TR, 0, 0, 0xffff, 0x8b);
        vcpu.setSegment(X86Segment.LDT, 0, 0, 0xffff, 0x82);
        vcpu.setDescriptorTables(0, 0xffff, 0, 0xffff);
        vcpu.setControlRegisters(CR0_RESET, 0, 0, 0);
        vcpu.storeSpecialRegisters();
        vcpu.clearRegisters();
        vcpu.setRegister(X86Register.RIP, resetAddress & 0xffff);
        vcpu.setRegister(X86Register.RFLAGS, 2);
        vcpu.storeRegisters();
        vcpu.setMpState(KvmVcpu.MP_STATE_RUNNABLE);
    }

    private static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >> 8);
        b[off + 2] = (byte) (v >> 16);
        b[off + 3] = (byte) (v >> 24);
    }
}
