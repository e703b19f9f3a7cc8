package io.jailhouse.hypervisor;

import io.jailhouse.boundary.MessageBudget;
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
 * output and "unknown hypercall" lines go to preallocated rings).
 *
 * <p>A guest can make unknown hypercalls as fast as it can exit: after a
 * burst of {@value #LINE_BURST} lines, at most one a second is written;
 * the console thread says how many went unreported ({@link #unreported}).
 */
final class VcpuHypercalls implements ExitDispatch.Hypercalls {
    static final int LINE_BURST = 10;
    static final int LINES_PER_SECOND = 1;

    private final CellMachine cell;
    private final Vcpu self;
    private final KvmVcpu vcpu;
    private final SpscByteRing debugOutput;
    private final SpscByteRing lines;
    private final MessageBudget lineBudget = new MessageBudget(LINE_BURST, LINES_PER_SECOND);
    /** Unknown hypercalls left unreported so far; written by this CPU's thread only. */
    private volatile long unreported;

    VcpuHypercalls(CellMachine cell, Vcpu self, KvmVcpu vcpu, SpscByteRing debugOutput, SpscByteRing lines) {
        this.cell = cell;
        this.self = self;
        this.vcpu = vcpu;
        this.debugOutput = debugOutput;
        this.lines = lines;
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
                debugOutput.put((byte) arg1);
                return 0;
            }
            default -> {
                if (lineBudget.tryTake(1, System.nanoTime())) {
                    reportUnknown(code);
                } else {
                    unreported = unreported + 1; // one writer: this thread
                }
                return -Hypercall.ENOSYS;
            }
        }
    }

    /** Unknown hypercalls of this CPU that went unreported since it was created. */
    long unreported() {
        return unreported;
    }

    /** "CPU %d: Unknown hypercall %ld, RIP: 0x%016llx", written without allocating. */
    private void reportUnknown(int code) {
        Hypercall.putText(lines, "CPU ");
        Hypercall.putDecimal(lines, self.cpu());
        Hypercall.putText(lines, ": Unknown hypercall ");
        Hypercall.putDecimal(lines, code);
        Hypercall.putText(lines, ", RIP: 0x");
        Hypercall.putHex16(lines, vcpu.kvmRun().syncedRegister(X86Register.RIP));
        lines.put((byte) '\n');
    }
}
