package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.SpscByteRing;
import io.jailhouse.boundary.CellPages;
import io.jailhouse.boundary.HypervisorException;
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
 * <p>The exit loop ({@link #exitLoop}) is the hot path: KVM_RUN and the
 * {@link ExitDispatch}, which serves each exit without allocation, lock,
 * logging or exception and keeps the counters. Everything slow (reset,
 * {@link CpuFailureReport}) happens outside it on the same thread;
 * hypercalls are {@link VcpuHypercalls}.
 */
final class Vcpu implements Runnable {
    /** The signal that kicks a vCPU thread out of KVM_RUN: SIGRTMIN + 6 (glibc), unused by the JVM. */
    static final int KICK_SIGNAL = 40;

    /** How a run ended: stopped, one of {@link ExitDispatch}'s verdicts, or one of these. */
    static final int STOPPED = 0;
    static final int FAIL_RUN = 7;
    static final int FAIL_RESET = 8;

    enum Status { STARTING, PARKED, RUNNING, FAILED, EXITED }

    private final CellMachine cell;
    /** This CPU's place in the cell's CPU order: its slot in the shared pages. */
    private final int index;
    private final int cpu;
    private final int hostCpu;
    private final KvmVcpu vcpu;
    private final KvmRun kvmRun;
    /** What this CPU does with each exit: the hot path. */
    private final ExitDispatch dispatch;
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

    /** What this CPU's guest prints through the debug-console hypercall, for the console thread. */
    private final SpscByteRing debugOutput = new SpscByteRing(4096);
    /** What the hypervisor says about this CPU's hypercalls ("Unknown hypercall"), for the console thread. */
    private final SpscByteRing hypercallLines = new SpscByteRing(2048);
    private final VcpuHypercalls hypercalls;

    Vcpu(CellMachine cell, int index, int cpu, int hostCpu, KvmVcpu vcpu, PioBus pio, MmioBus mmio,
            MmioWindowTable windows, byte[] lapicAtReset) {
        this.cell = cell;
        this.index = index;
        this.cpu = cpu;
        this.hostCpu = hostCpu;
        this.vcpu = vcpu;
        this.kvmRun = vcpu.kvmRun();
        this.hypercalls = new VcpuHypercalls(cell, this, vcpu, debugOutput, hypercallLines);
        this.dispatch = new ExitDispatch(pio, mmio, windows, hypercalls,
                this::completeInstruction, cell.pages().counters(index));
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
            setStatus(Status.PARKED);
        }
    }

    /** Sets the status and shows it in the shared pages (failed or not is what the supervisor lists). */
    private void setStatus(Status now) {
        status = now;
        cell.pages().setCpuStatus(index, now == Status.FAILED ? CellPages.CPU_FAILED
                : now == Status.RUNNING ? CellPages.CPU_RUNNING : CellPages.CPU_PARKED);
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
            setStatus(Status.PARKED);
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
                    setStatus(Status.EXITED);
                    notifyAll();
                    return;
                }
                address = resetAddress;
                stopRequested = false;
                setStatus(Status.RUNNING);
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
                cell.report(CpuFailureReport.describe(outcome, resetError, dispatch, vcpu, cpu, cell.name()));
            }
            synchronized (this) {
                setStatus(outcome == STOPPED ? Status.PARKED : Status.FAILED);
                notifyAll();
            }
            if (outcome != STOPPED) {
                cell.cpuFailed();
            }
        }
    }

    /** The hot path: runs the guest and has each exit served until stopped or failed. */
    private int exitLoop() {
        final KvmRun r = kvmRun;
        final ExitDispatch d = dispatch;
        while (!stopRequested) {
            int rc = vcpu.run();
            if (rc != 0) {
                if (rc == -4 /* EINTR: kicked */ || rc == -11 /* EAGAIN */) {
                    continue;
                }
                d.failedRun(-rc);
                return FAIL_RUN;
            }
            int verdict = d.serve(r);
            if (verdict != ExitDispatch.CONTINUE) {
                return verdict;
            }
        }
        return STOPPED;
    }

    /**
     * Completes the one instruction KVM's emulator here cannot: {@code xgetbv}
     * (0f 01 d0), which upstream's inmate library runs on every CPU (spec 12).
     * Rare (once per CPU start), so the register ioctls are fine here.
     */
    private boolean completeInstruction(KvmRun r) {
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
            return true;
        } catch (NativeException e) {
            return false;
        }
    }

    /** Counter {@code index} in upstream's order (spec 3), read racily by other threads. */
    long counter(int index) {
        return dispatch.counter(index);
    }

    SpscByteRing debugOutput() {
        return debugOutput;
    }

    SpscByteRing hypercallLines() {
        return hypercallLines;
    }

    /** Unknown hypercalls of this CPU the rate limit left unreported, ever. */
    long unreportedHypercalls() {
        return hypercalls.unreported();
    }

    /** Closes the KVM vCPU; the thread must have exited. */
    void close() {
        try {
            vcpu.close();
        } catch (NativeException e) {
            // Closing a descriptor at teardown: nothing useful to do about a failure.
        }
    }

}
