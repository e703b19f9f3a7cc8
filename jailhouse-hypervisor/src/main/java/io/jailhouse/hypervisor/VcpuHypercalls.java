package io.jailhouse.hypervisor;

import io.jailhouse.config.CellConfig;
import io.jailhouse.hypervisor.device.SpscByteRing;
import io.jailhouse.sys.KvmVcpu;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.X86Register;
import io.jailhouse.sys.X86Segment;

/**
 * The hypercalls of one cell CPU (spec 3), made through the hypercall port:
 * the code in EAX written with OUT, arguments in RDI and RSI (from the
 * kvm_run sync-regs area), the result read back with IN. Called by the
 * CPU's exit dispatch on its own thread; allocates nothing (debug-console
 * output and "unknown hypercall" lines go to a preallocated ring).
 */
final class VcpuHypercalls implements ExitDispatch.Hypercalls {
    private final CellMachine cell;
    private final Vcpu self;
    private final KvmVcpu vcpu;
    private final SpscByteRing hypercallOutput;

    VcpuHypercalls(CellMachine cell, Vcpu self, KvmVcpu vcpu, SpscByteRing hypercallOutput) {
        this.cell = cell;
        this.self = self;
        this.vcpu = vcpu;
        this.hypercallOutput = hypercallOutput;
    }

    /**
     * One hypercall from this CPU (spec 3), made through the hypercall port:
     * the code in EAX written with OUT, arguments in RDI and RSI, the result
     * read back with IN. Non-root cells may only ask for information and use
     * the debug console; the management calls are the root's (-EPERM).
     */
    @Override
    public int call(int code, long arg1, long arg2) {
        try {
            vcpu.loadSpecialRegisters();
        } catch (NativeException e) {
            return -Hypercall.EIO;
        }
        boolean protectedMode = (vcpu.cr0() & 1) != 0;
        boolean v86 = (vcpu.kvmRun().syncedRegister(X86Register.RFLAGS) & (1L << 17)) != 0;
        int cpl = protectedMode ? vcpu.segmentAccessRights(X86Segment.SS) >> 5 & 3 : 0;
        if (cpl != 0 || v86) {
            return -Hypercall.EPERM;
        }
        if (!protectedMode || (vcpu.efer() & (1L << 10)) == 0) {
            arg1 &= 0xffffffffL; // outside long mode the arguments are 32 bits
            arg2 &= 0xffffffffL;
        }
        switch (code) {
            case Hypercall.DISABLE, Hypercall.CELL_CREATE, Hypercall.CELL_START, Hypercall.CELL_SET_LOADABLE,
                    Hypercall.CELL_DESTROY, Hypercall.CELL_GET_STATE -> {
                return -Hypercall.EPERM; // root cell only: the root is Linux, which uses the CLI
            }
            case Hypercall.HYPERVISOR_GET_INFO -> {
                long v = cell.info(arg1);
                return v < 0 ? -Hypercall.EINVAL : (int) Math.min(v, Integer.MAX_VALUE);
            }
            case Hypercall.CPU_GET_INFO -> {
                Vcpu target = cell.vcpuOf(arg1);
                if (target == null) {
                    return arg1 >= 0 && arg1 < 4096 && cell.cpuExists(arg1) ? -Hypercall.EPERM
                            : -Hypercall.EINVAL;
                }
                if (arg2 == 0) {
                    return target.failed() ? 2 : 0;
                }
                if (arg2 >= Hypercall.CPU_INFO_STAT_BASE && arg2 < Hypercall.CPU_INFO_STAT_BASE + 12) {
                    return (int) (target.counter((int) (arg2 - Hypercall.CPU_INFO_STAT_BASE)) & 0x7fffffff);
                }
                return -Hypercall.EINVAL;
            }
            case Hypercall.DEBUG_CONSOLE_PUTC -> {
                if (!cell.config().hasFlag(CellConfig.VIRTUAL_CONSOLE_PERMITTED)) {
                    return -Hypercall.EPERM;
                }
                hypercallOutput.put((byte) arg1);
                return 0;
            }
            default -> {
                // "CPU %d: Unknown hypercall %ld, RIP: 0x%016llx", written without allocating
                Hypercall.putText(hypercallOutput, "CPU ");
                Hypercall.putDecimal(hypercallOutput, self.cpu());
                Hypercall.putText(hypercallOutput, ": Unknown hypercall ");
                Hypercall.putDecimal(hypercallOutput, code);
                Hypercall.putText(hypercallOutput, ", RIP: 0x");
                Hypercall.putHex16(hypercallOutput, vcpu.kvmRun().syncedRegister(X86Register.RIP));
                hypercallOutput.put((byte) '\n');
                return -Hypercall.ENOSYS;
            }
        }
    }
}
