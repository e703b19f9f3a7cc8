package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PioDevice;
import io.jailhouse.sys.KvmRun;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import io.jailhouse.sys.X86Register;

/**
 * What one vCPU does with each exit, the hot path of architecture section 4:
 * port I/O to the cell's PIO bus (or the hypercall port), MMIO to its BAR
 * windows and MMIO bus, the rest to a verdict. No allocation, no lock, no
 * logging, no exception; counters are plain u64 in the cell's shared
 * pages, read racily for statistics. It needs no /dev/kvm: tests and the JMH benchmark drive it
 * with exits written into an ordinary page ({@code KvmRunImage}).
 *
 * <p>A refused access is recorded (port or address, size, direction, the
 * refusing device) for the failure report, which is written outside the
 * loop.
 */
public final class ExitDispatch {
    /** The exit was served: enter the guest again. */
    public static final int CONTINUE = -1;
    /** Verdicts that end a run: the CPU fails (spec 8). */
    public static final int FAIL_PIO = 1;
    public static final int FAIL_MMIO = 2;
    public static final int FAIL_SHUTDOWN = 3;
    public static final int FAIL_INTERNAL = 4;
    public static final int FAIL_ENTRY = 5;
    public static final int FAIL_EXIT = 6;
    public static final int FAIL_MSR_WRITE = 9;
    public static final int FAIL_MSR_READ = 10;

    /** The hypercall port's other side (spec 3): a call made by OUT, its result read back by IN. */
    @FunctionalInterface
    public interface Hypercalls {
        /** Serves hypercall {@code code} with arguments from RDI and RSI; the result the guest reads. */
        int call(int code, long arg1, long arg2);
    }

    /** Completes an instruction KVM's emulator could not (an internal-error exit); false: it stays failed. */
    @FunctionalInterface
    public interface InstructionCompletion {
        boolean complete(KvmRun r);
    }

    private final PioBus pio;
    private final MmioBus mmio;
    /** PCI BAR windows, which move as the guest programs its BARs (looked up before the fixed bus). */
    private final MmioWindowTable windows;
    private final Hypercalls hypercalls;
    private final InstructionCompletion completion;
    /** The result of the last hypercall, read back by the guest's IN from the hypercall port. */
    private int hypercallResult;

    /** Counters in upstream's order (spec 3), written by the vCPU's thread only, read racily by the supervisor. */
    static final int TOTAL = 0;
    static final int MMIO = 1;
    static final int MANAGEMENT = 2;
    static final int HYPERCALL = 3;
    static final int PIO = 4;
    static final int XSETBV = 8;
    static final int MSR = 10;
    public static final int COUNTERS = 12;
    private static final VarHandle COUNTER = ValueLayout.JAVA_LONG.varHandle();
    /** {@link #COUNTERS} u64 in the cell's shared pages (or any 8-byte aligned memory). */
    private final MemorySegment counters;

    // what the failing exit was, recorded without allocation for the report
    int failPort;
    int failSize;
    boolean failWrite;
    long failAddress;
    int failCount;
    int failCode;
    /** The device that refused the failing access, for its own FATAL line (upstream words some itself). */
    Object failDevice;

    /**
     * @param counters where the counters go: {@link #COUNTERS} u64, 8-byte
     *        aligned (a CPU slot of the cell's shared pages)
     */
    public ExitDispatch(PioBus pio, MmioBus mmio, MmioWindowTable windows, Hypercalls hypercalls,
            InstructionCompletion completion, MemorySegment counters) {
        if (counters.byteSize() < COUNTERS * 8L || counters.maxByteAlignment() < 8) {
            throw new IllegalArgumentException("counters need " + COUNTERS * 8 + " aligned bytes");
        }
        this.counters = counters;
        this.pio = pio;
        this.mmio = mmio;
        this.windows = windows;
        this.hypercalls = hypercalls;
        this.completion = completion;
    }

    /**
     * Serves the exit in {@code r}.
     *
     * @return {@link #CONTINUE}, or the verdict that ends the run
     */
    public int serve(KvmRun r) {
        add(TOTAL, 1);
        switch (r.exitReason()) {
            case KvmRun.EXIT_IO -> {
                add(PIO, 1);
                return handlePio(r) ? CONTINUE : FAIL_PIO;
            }
            case KvmRun.EXIT_MMIO -> {
                add(MMIO, 1);
                return handleMmio(r) ? CONTINUE : FAIL_MMIO;
            }
            case KvmRun.EXIT_INTERNAL_ERROR -> {
                failCode = r.internalSuberror();
                if (failCode == KvmRun.INTERNAL_ERROR_EMULATION && completion.complete(r)) {
                    add(XSETBV, 1);
                    return CONTINUE;
                }
                return FAIL_INTERNAL;
            }
            case KvmRun.EXIT_SHUTDOWN -> {
                return FAIL_SHUTDOWN;
            }
            case KvmRun.EXIT_FAIL_ENTRY -> {
                failAddress = r.failEntryReason();
                return FAIL_ENTRY;
            }
            case KvmRun.EXIT_X86_WRMSR -> {
                add(MSR, 1);
                failAddress = r.msrIndex() & 0xffffffffL;
                return FAIL_MSR_WRITE; // only the writes Jailhouse forbids come here (X86Msrs)
            }
            case KvmRun.EXIT_X86_RDMSR -> {
                add(MSR, 1);
                failAddress = r.msrIndex() & 0xffffffffL;
                return FAIL_MSR_READ;
            }
            case KvmRun.EXIT_INTR -> {
                add(TOTAL, -1); // a kick, not the guest's doing
                return CONTINUE;
            }
            default -> {
                failCode = r.exitReason();
                return FAIL_EXIT;
            }
        }
    }

    private boolean handlePio(KvmRun r) {
        int port = r.ioPort();
        int size = r.ioSize();
        boolean write = r.ioDirection() == KvmRun.IO_OUT;
        int count = r.ioCount();
        if (port == Hypercall.PORT && size == 4 && count == 1) {
            if (write) {
                add(HYPERCALL, 1);
                hypercallResult = hypercalls.call(r.ioData(), r.syncedRegister(X86Register.RDI),
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

    /** Counter {@code index} in upstream's order (spec 3). */
    public long counter(int index) {
        return (long) COUNTER.get(counters, 8L * index);
    }

    private void add(int index, long delta) {
        long at = 8L * index;
        COUNTER.set(counters, at, (long) COUNTER.get(counters, at) + delta);
    }

    /** A run that failed outside an exit (KVM_RUN itself) records its errno here. */
    void failedRun(int errno) {
        failCode = errno;
    }
}
