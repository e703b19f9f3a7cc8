package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.FaultReporter;
import io.jailhouse.hypervisor.pci.PciConfigPorts;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmRun;
import io.jailhouse.sys.KvmVcpu;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.X86Register;
import io.jailhouse.sys.X86Segment;

/**
 * Upstream's report of a failed cell CPU (spec 8): the FATAL line (a
 * device's own words where it has them), the register dump and the parking
 * line. Written on the CPU's thread once its run has ended, outside the
 * exit loop, from what {@link ExitDispatch} recorded without allocating.
 */
final class CpuFailureReport {
    private CpuFailureReport() {
    }

    /** Upstream's FATAL line, register dump and parking line for a failed run (spec 8). */
    static String describe(int outcome, String resetError, ExitDispatch d, KvmVcpu vcpu, int cpu, String cellName) {
        StringBuilder sb = new StringBuilder(fatalLine(outcome, resetError, d, cpu)).append('\n');
        if (outcome != Vcpu.FAIL_RESET) {
            appendRegisters(sb, vcpu);
        }
        sb.append(String.format("Parking CPU %d (Cell: \"%s\")%n", cpu, cellName));
        return sb.toString();
    }

    /** The FATAL line (without its newline): the refusing device's own words where it has them. */
    static String fatalLine(int outcome, String resetError, ExitDispatch d, int cpu) {
        boolean access = outcome == ExitDispatch.FAIL_PIO || outcome == ExitDispatch.FAIL_MMIO;
        String own = access && d.failDevice instanceof FaultReporter f ? f.lastFaultLine() : null;
        if (own == null && outcome == ExitDispatch.FAIL_PIO && d.failDevice == null && d.failCount == 1
                && d.failPort >= PciConfigPorts.BASE && d.failPort < PciConfigPorts.BASE + PciConfigPorts.COUNT) {
            own = PciConfigPorts.portFaultLine(d.failPort, d.failSize, d.failWrite);
        }
        if (own != null) {
            return own.endsWith("\n") ? own.substring(0, own.length() - 1) : own;
        }
        String rw = d.failWrite ? "write" : "read";
        return switch (outcome) {
            case ExitDispatch.FAIL_PIO -> String.format("FATAL: Invalid PIO %s, port: %x size: %d%s", rw, d.failPort,
                    d.failSize, d.failCount != 1 ? " (string I/O, count " + d.failCount + ")" : "");
            case ExitDispatch.FAIL_MMIO -> String.format("FATAL: Invalid MMIO/RAM %s, addr: 0x%016x size: %d", rw,
                    d.failAddress, d.failSize);
            case ExitDispatch.FAIL_SHUTDOWN -> "FATAL: Unhandled VM-Exit, reason 2 (triple fault)";
            case ExitDispatch.FAIL_INTERNAL -> String.format("FATAL: Unhandled VM-Exit, KVM internal error, suberror %d%s",
                    d.failCode, d.failCode == KvmRun.INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : "");
            case ExitDispatch.FAIL_ENTRY -> String.format("FATAL: VM-Entry failure, reason %d", d.failAddress);
            case ExitDispatch.FAIL_EXIT -> String.format("FATAL: Unhandled VM-Exit, KVM exit reason %d", d.failCode);
            case ExitDispatch.FAIL_MSR_WRITE -> String.format("FATAL: Unhandled MSR write: %x", d.failAddress);
            case ExitDispatch.FAIL_MSR_READ -> String.format("FATAL: Unhandled MSR read: %x", d.failAddress);
            case Vcpu.FAIL_RUN -> "FATAL: KVM_RUN failed: " + Errno.describe(d.failCode);
            default -> String.format("FATAL: cannot reset CPU %d: %s", cpu, resetError);
        };
    }

    private static void appendRegisters(StringBuilder sb, KvmVcpu vcpu) {
        try {
            vcpu.loadRegisters();
            vcpu.loadSpecialRegisters();
        } catch (NativeException e) {
            sb.append("(registers unavailable: ").append(e.getMessage()).append(")\n");
            return;
        }
        long efer = vcpu.efer();
        sb.append(String.format("RIP: 0x%016x RSP: 0x%016x FLAGS: %x%n", vcpu.register(X86Register.RIP),
                vcpu.register(X86Register.RSP), vcpu.register(X86Register.RFLAGS)));
        sb.append(String.format("RAX: 0x%016x RBX: 0x%016x RCX: 0x%016x%n", vcpu.register(X86Register.RAX),
                vcpu.register(X86Register.RBX), vcpu.register(X86Register.RCX)));
        sb.append(String.format("RDX: 0x%016x RSI: 0x%016x RDI: 0x%016x%n", vcpu.register(X86Register.RDX),
                vcpu.register(X86Register.RSI), vcpu.register(X86Register.RDI)));
        sb.append(String.format("CS: %x BASE: 0x%016x AR-BYTES: %x EFER.LMA %d%n",
                vcpu.segmentSelector(X86Segment.CS), vcpu.segmentBase(X86Segment.CS),
                vcpu.segmentAccessRights(X86Segment.CS), (efer >> 10) & 1));
        sb.append(String.format("CR0: 0x%016x CR3: 0x%016x CR4: 0x%016x%n", vcpu.cr0(), vcpu.cr3(), vcpu.cr4()));
        sb.append(String.format("EFER: 0x%016x%n", efer));
    }
}
