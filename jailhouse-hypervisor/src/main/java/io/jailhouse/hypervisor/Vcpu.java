package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.FaultReporter;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PioDevice;
import io.jailhouse.hypervisor.device.SpscByteRing;
import io.jailhouse.hypervisor.pci.PciConfigPorts;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmRun;
import io.jailhouse.sys.KvmVcpu;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.X86Register;
import io.jailhouse.sys.X86Segment;
import java.util.BitSet;

/**
 * One cell CPU: a KVM vCPU and the platform thread, pinned to its host CPU,
 * that runs it. The thread lives as long as the cell; between runs it is
 * parked (upstream parks a cell CPU in wait-for-SIPI), and a run ends when
 * the daemon stops it or the guest does something its cell may not.
 *
 * <p>The exit loop ({@link #exitLoop}) is the hot path: no allocation, no
 * lock, no logging, no exception; counters are plain fields of this object.
 * Everything slow (reset, failure reports) happens outside it on the same
 * thread.
 */
final class Vcpu implements Runnable {
    /** The signal that kicks a vCPU thread out of KVM_RUN: SIGRTMIN + 6 (glibc), unused by the JVM. */
    static final int KICK_SIGNAL = 40;

    /** How a run ended. */
    static final int STOPPED = 0;
    static final int FAIL_PIO = 1;
    static final int FAIL_MMIO = 2;
    static final int FAIL_SHUTDOWN = 3;
    static final int FAIL_INTERNAL = 4;
    static final int FAIL_ENTRY = 5;
    static final int FAIL_EXIT = 6;
    static final int FAIL_RUN = 7;
    static final int FAIL_RESET = 8;
    static final int FAIL_MSR_WRITE = 9;
    static final int FAIL_MSR_READ = 10;

    enum Status { STARTING, PARKED, RUNNING, FAILED, EXITED }

    private final Cell cell;
    private final int cpu;
    private final int hostCpu;
    private final KvmVcpu vcpu;
    private final KvmRun kvmRun;
    private final PioBus pio;
    private final MmioBus mmio;
    /** PCI BAR windows, which move as the guest programs its BARs (looked up when the fixed bus has nothing). */
    private final MmioWindowTable windows;
    private final byte[] lapicAtReset;
    private final Thread thread;

    // control, guarded by this object's monitor (never taken by the exit loop)
    private volatile Status status = Status.STARTING;
    private boolean runRequested;
    private boolean exitRequested;
    private long resetAddress;
    private int tid;
    private String setupFailure;
    /** Read by the exit loop before each KVM_RUN. */
    private volatile boolean stopRequested;

    // counters: written by this vCPU's thread only, read racily for statistics (upstream's names)
    long exitsTotal;
    long exitsPio;
    long exitsMmio;
    long exitsHypercall;
    long exitsXsetbv;
    long exitsMsr;
    long exitsManagement;

    /** What this CPU prints through the debug-console hypercall, for the console thread. */
    private final SpscByteRing hypercallOutput = new SpscByteRing(4096);
    /** The result of the last hypercall, read back by the guest's IN from the hypercall port. */
    private int hypercallResult;

    // what the failing exit was, recorded without allocation for the report
    private int failPort;
    private int failSize;
    private boolean failWrite;
    private long failAddress;
    private int failCount;
    private int failCode;
    /** The device that refused the failing access, for its own FATAL line (upstream words some itself). */
    private Object failDevice;

    Vcpu(Cell cell, int cpu, int hostCpu, KvmVcpu vcpu, PioBus pio, MmioBus mmio, MmioWindowTable windows,
            byte[] lapicAtReset) {
        this.windows = windows;
        this.cell = cell;
        this.cpu = cpu;
        this.hostCpu = hostCpu;
        this.vcpu = vcpu;
        this.kvmRun = vcpu.kvmRun();
        this.pio = pio;
        this.mmio = mmio;
        this.lapicAtReset = lapicAtReset;
        this.thread = Thread.ofPlatform().daemon().name("cell-" + cell.name() + "-cpu" + cpu).unstarted(this);
    }

    int cpu() {
        return cpu;
    }

    int hostCpu() {
        return hostCpu;
    }

    /** Starts the thread and waits until it is pinned and parked. */
    void startThread() throws HypervisorException {
        thread.start();
        synchronized (this) {
            while (status == Status.STARTING) {
                waitQuietly();
            }
            if (setupFailure != null) {
                throw new HypervisorException(Errno.EIO, "CPU " + cpu + ": " + setupFailure);
            }
        }
    }

    /** Resets the CPU to {@code address} and lets it run (from parked or failed). */
    synchronized void run(long address) {
        resetAddress = address;
        runRequested = true;
        notifyAll();
        while (runRequested && status != Status.EXITED) {
            waitQuietly();
        }
    }

    /** Stops a running CPU and waits until it is parked; a parked or failed CPU stays as it is. */
    synchronized void park() {
        if (status != Status.RUNNING) {
            return;
        }
        stopRequested = true;
        while (status == Status.RUNNING) {
            kvmRun.setImmediateExit(true);
            kick();
            try {
                wait(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Parks the CPU and ends its thread. */
    void exit() {
        park();
        synchronized (this) {
            exitRequested = true;
            notifyAll();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The kernel thread id of this CPU's thread (0 before it started). */
    synchronized int tid() {
        return tid;
    }

    /** Forgets a failure (cell load and shutdown clear the failed flags, as upstream). */
    synchronized void clearFailure() {
        if (status == Status.FAILED) {
            status = Status.PARKED;
        }
    }

    synchronized boolean failed() {
        return status == Status.FAILED;
    }

    private void kick() {
        if (tid != 0) {
            try {
                Libc.tgkill(Libc.getpid(), tid, KICK_SIGNAL);
            } catch (NativeException e) {
                // The thread is gone: nothing to interrupt.
            }
        }
    }

    private void waitQuietly() {
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for CPU " + cpu, e);
        }
    }

    @Override
    public void run() {
        try {
            BitSet host = new BitSet();
            host.set(hostCpu);
            Libc.pinCurrentThread(host);
        } catch (NativeException | RuntimeException e) {
            synchronized (this) {
                setupFailure = "cannot pin to host CPU " + hostCpu + ": " + e.getMessage();
            }
        }
        synchronized (this) {
            tid = Libc.gettid();
            status = Status.PARKED;
            notifyAll();
        }
        while (true) {
            long address;
            synchronized (this) {
                while (!runRequested && !exitRequested) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        exitRequested = true;
                    }
                }
                if (exitRequested) {
                    status = Status.EXITED;
                    notifyAll();
                    return;
                }
                address = resetAddress;
                stopRequested = false;
                status = Status.RUNNING;
                runRequested = false;
                notifyAll();
            }
            kvmRun.setImmediateExit(false);
            kvmRun.syncRegisters(true); // hypercall arguments without a register ioctl
            int outcome;
            String resetError = null;
            try {
                X86Reset.reset(vcpu, address, lapicAtReset);
                outcome = exitLoop();
            } catch (NativeException | RuntimeException e) {
                outcome = FAIL_RESET;
                resetError = e.getMessage();
            }
            if (outcome != STOPPED) {
                cell.report(describeFailure(outcome, resetError));
            }
            synchronized (this) {
                status = outcome == STOPPED ? Status.PARKED : Status.FAILED;
                notifyAll();
            }
            if (outcome != STOPPED) {
                cell.cpuFailed(this);
            }
        }
    }

    /** The hot path: runs the guest and serves its exits until stopped or failed. */
    private int exitLoop() {
        final KvmRun r = kvmRun;
        while (!stopRequested) {
            int rc = vcpu.run();
            if (rc != 0) {
                if (rc == -4 /* EINTR: kicked */ || rc == -11 /* EAGAIN */) {
                    continue;
                }
                failCode = -rc;
                return FAIL_RUN;
            }
            exitsTotal++;
            switch (r.exitReason()) {
                case KvmRun.EXIT_IO -> {
                    exitsPio++;
                    if (!handlePio(r)) {
                        return FAIL_PIO;
                    }
                }
                case KvmRun.EXIT_MMIO -> {
                    exitsMmio++;
                    if (!handleMmio(r)) {
                        return FAIL_MMIO;
                    }
                }
                case KvmRun.EXIT_INTERNAL_ERROR -> {
                    if (!emulateInstruction(r)) {
                        return FAIL_INTERNAL;
                    }
                }
                case KvmRun.EXIT_SHUTDOWN -> {
                    return FAIL_SHUTDOWN;
                }
                case KvmRun.EXIT_FAIL_ENTRY -> {
                    failAddress = r.failEntryReason();
                    return FAIL_ENTRY;
                }
                case KvmRun.EXIT_X86_WRMSR -> {
                    exitsMsr++;
                    failAddress = r.msrIndex() & 0xffffffffL;
                    return FAIL_MSR_WRITE; // only the writes Jailhouse forbids come here (X86Msrs)
                }
                case KvmRun.EXIT_X86_RDMSR -> {
                    exitsMsr++;
                    failAddress = r.msrIndex() & 0xffffffffL;
                    return FAIL_MSR_READ;
                }
                case KvmRun.EXIT_INTR -> exitsTotal--; // a kick, not the guest's doing
                default -> {
                    failCode = r.exitReason();
                    return FAIL_EXIT;
                }
            }
        }
        return STOPPED;
    }

    private boolean handlePio(KvmRun r) {
        int port = r.ioPort();
        int size = r.ioSize();
        boolean write = r.ioDirection() == KvmRun.IO_OUT;
        int count = r.ioCount();
        if (port == Hypercall.PORT && size == 4 && count == 1) {
            if (write) {
                exitsHypercall++;
                hypercallResult = hypercall(r.ioData(), r.syncedRegister(X86Register.RDI),
                        r.syncedRegister(X86Register.RSI));
            } else {
                r.setIoData(hypercallResult);
            }
            return true;
        }
        PioDevice d = count == 1 ? pio.deviceFor(port, size) : null; // string I/O is never allowed (spec 8)
        if (d == null || !(write ? d.acceptsWrite(port, size, r.ioData()) : d.accepts(port, size, false))) {
            failDevice = d;
            failPort = port;
            failSize = size;
            failWrite = write;
            failCount = count;
            return false;
        }
        if (write) {
            d.write(port, size, r.ioData());
        } else {
            r.setIoData(d.read(port, size));
        }
        return true;
    }

    private boolean handleMmio(KvmRun r) {
        long address = r.mmioPhysAddr();
        int size = r.mmioLength();
        boolean write = r.mmioIsWrite();
        // BAR windows first: an emulated device's BAR may sit on device memory the config maps
        MmioWindowTable.Windows w = windows.current();
        int j = w.indexOf(address, size);
        MmioDevice d;
        long offset;
        if (j >= 0) {
            d = w.device(j);
            offset = address - w.base(j);
        } else {
            int i = mmio.indexOf(address, size);
            d = i < 0 ? null : mmio.device(i);
            offset = i < 0 ? 0 : address - mmio.base(i);
        }
        if (d == null || !(write ? d.acceptsWrite(offset, size, r.mmioData()) : d.accepts(offset, size, false))) {
            failDevice = d;
            failAddress = address;
            failSize = size;
            failWrite = write;
            return false;
        }
        if (write) {
            d.write(offset, size, r.mmioData());
        } else {
            r.setMmioData(d.read(offset, size));
        }
        return true;
    }

    /**
     * Completes the one instruction KVM's emulator here cannot: {@code xgetbv}
     * (0f 01 d0), which upstream's inmate library runs on every CPU (spec 12).
     * Rare (once per CPU start), so the register ioctls are fine here.
     */
    private boolean emulateInstruction(KvmRun r) {
        failCode = r.internalSuberror();
        if (r.internalSuberror() != KvmRun.INTERNAL_ERROR_EMULATION) {
            return false;
        }
        try {
            vcpu.loadRegisters();
            vcpu.loadSpecialRegisters();
            long rip = vcpu.register(X86Register.RIP);
            long linear = vcpu.segmentBase(X86Segment.CS) + rip;
            if (!cell.isInstruction(linear, 0x0f, 0x01, 0xd0) || (vcpu.register(X86Register.RCX) & 0xffffffffL) != 0) {
                return false;
            }
            long xcr0 = vcpu.xcr(0);
            vcpu.setRegister(X86Register.RAX, xcr0 & 0xffffffffL);
            vcpu.setRegister(X86Register.RDX, xcr0 >>> 32);
            vcpu.setRegister(X86Register.RIP, rip + 3);
            vcpu.storeRegisters();
            exitsXsetbv++;
            return true;
        } catch (NativeException e) {
            return false;
        }
    }

    /**
     * One hypercall from this CPU (spec 3), made through the hypercall port:
     * the code in EAX written with OUT, arguments in RDI and RSI, the result
     * read back with IN. Non-root cells may only ask for information and use
     * the debug console; the management calls are the root's (-EPERM).
     */
    private int hypercall(int code, long arg1, long arg2) {
        try {
            vcpu.loadSpecialRegisters();
        } catch (NativeException e) {
            return -Hypercall.EIO;
        }
        boolean protectedMode = (vcpu.cr0() & 1) != 0;
        boolean v86 = (kvmRun.syncedRegister(X86Register.RFLAGS) & (1L << 17)) != 0;
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
                long v = cell.hypervisor().info(arg1);
                return v < 0 ? -Hypercall.EINVAL : (int) Math.min(v, Integer.MAX_VALUE);
            }
            case Hypercall.CPU_GET_INFO -> {
                Vcpu target = cell.vcpuOf(arg1);
                if (target == null) {
                    return arg1 >= 0 && arg1 < 4096 && cell.hypervisor().cpuExists(arg1) ? -Hypercall.EPERM
                            : -Hypercall.EINVAL;
                }
                if (arg2 == 0) {
                    return target.status == Status.FAILED ? 2 : 0;
                }
                if (arg2 >= Hypercall.CPU_INFO_STAT_BASE && arg2 < Hypercall.CPU_INFO_STAT_BASE + 12) {
                    return (int) (target.counter((int) (arg2 - Hypercall.CPU_INFO_STAT_BASE)) & 0x7fffffff);
                }
                return -Hypercall.EINVAL;
            }
            case Hypercall.DEBUG_CONSOLE_PUTC -> {
                if (!cell.config().hasFlag(io.jailhouse.config.CellConfig.VIRTUAL_CONSOLE_PERMITTED)) {
                    return -Hypercall.EPERM;
                }
                hypercallOutput.put((byte) arg1);
                return 0;
            }
            default -> {
                // "CPU %d: Unknown hypercall %ld, RIP: 0x%016llx", written without allocating
                Hypercall.putText(hypercallOutput, "CPU ");
                Hypercall.putDecimal(hypercallOutput, cpu);
                Hypercall.putText(hypercallOutput, ": Unknown hypercall ");
                Hypercall.putDecimal(hypercallOutput, code);
                Hypercall.putText(hypercallOutput, ", RIP: 0x");
                Hypercall.putHex16(hypercallOutput, kvmRun.syncedRegister(X86Register.RIP));
                hypercallOutput.put((byte) '\n');
                return -Hypercall.ENOSYS;
            }
        }
    }

    /** Counter {@code index} in upstream's order (spec 3), read racily by other threads. */
    long counter(int index) {
        return switch (index) {
            case 0 -> exitsTotal;
            case 1 -> exitsMmio;
            case 2 -> exitsManagement;
            case 3 -> exitsHypercall;
            case 4 -> exitsPio;
            case 8 -> exitsXsetbv;
            case 10 -> exitsMsr;
            default -> 0;
        };
    }

    SpscByteRing hypercallOutput() {
        return hypercallOutput;
    }

    /** Upstream's FATAL line, register dump and parking line for a failed run (spec 8). */
    private String describeFailure(int outcome, String resetError) {
        StringBuilder sb = new StringBuilder();
        String own = failDevice instanceof FaultReporter f && (outcome == FAIL_PIO || outcome == FAIL_MMIO)
                ? f.lastFaultLine() : null;
        if (own == null && outcome == FAIL_PIO && failDevice == null && failPort >= PciConfigPorts.BASE
                && failPort < PciConfigPorts.BASE + PciConfigPorts.COUNT && failCount == 1) {
            own = PciConfigPorts.portFaultLine(failPort, failSize, failWrite);
        }
        if (own != null) {
            sb.append(own).append(own.endsWith("\n") ? "" : "\n");
        } else switch (outcome) {
            case FAIL_PIO -> sb.append(String.format("FATAL: Invalid PIO %s, port: %x size: %d%s%n",
                    failWrite ? "write" : "read", failPort, failSize,
                    failCount != 1 ? " (string I/O, count " + failCount + ")" : ""));
            case FAIL_MMIO -> sb.append(String.format("FATAL: Invalid MMIO/RAM %s, addr: 0x%016x size: %d%n",
                    failWrite ? "write" : "read", failAddress, failSize));
            case FAIL_SHUTDOWN -> sb.append(String.format("FATAL: Unhandled VM-Exit, reason 2 (triple fault)%n"));
            case FAIL_INTERNAL -> sb.append(String.format(
                    "FATAL: Unhandled VM-Exit, KVM internal error, suberror %d%s%n", failCode,
                    failCode == KvmRun.INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : ""));
            case FAIL_ENTRY -> sb.append(String.format("FATAL: VM-Entry failure, reason %d%n", failAddress));
            case FAIL_EXIT -> sb.append(String.format("FATAL: Unhandled VM-Exit, KVM exit reason %d%n", failCode));
            case FAIL_MSR_WRITE -> sb.append(String.format("FATAL: Unhandled MSR write: %x%n", failAddress));
            case FAIL_MSR_READ -> sb.append(String.format("FATAL: Unhandled MSR read: %x%n", failAddress));
            case FAIL_RUN -> sb.append(String.format("FATAL: KVM_RUN failed: %s%n", Errno.describe(failCode)));
            default -> sb.append(String.format("FATAL: cannot reset CPU %d: %s%n", cpu, resetError));
        }
        if (outcome != FAIL_RESET) {
            appendRegisters(sb);
        }
        sb.append(String.format("Parking CPU %d (Cell: \"%s\")%n", cpu, cell.name()));
        return sb.toString();
    }

    private void appendRegisters(StringBuilder sb) {
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

    /** Closes the KVM vCPU; the thread must have exited. */
    void close() {
        try {
            vcpu.close();
        } catch (NativeException e) {
            // Closing a descriptor at teardown: nothing useful to do about a failure.
        }
    }

    /** This CPU's counters in upstream's index order (spec 3). */
    long[] counters() {
        long[] c = new long[12];
        for (int i = 0; i < c.length; i++) {
            c[i] = counter(i);
        }
        return c;
    }
}
