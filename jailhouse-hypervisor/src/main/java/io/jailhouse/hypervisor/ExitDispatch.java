package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PioDevice;
import io.jailhouse.sys.KvmRun;
import io.jailhouse.sys.X86Register;

/**
 * What one vCPU does with each exit, the hot path of architecture section 4:
 * port I/O to the cell's PIO bus (or the hypercall port), MMIO to its BAR
 * windows and MMIO bus, the rest to a verdict. No allocation, no lock, no
 * logging, no exception; counters are plain fields, read racily for
 * statistics. It needs no /dev/kvm: tests and the JMH benchmark drive it
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

    // counters, upstream's names; written by the vCPU's thread only
    long exitsTotal;
    long exitsPio;
    long exitsMmio;
    long exitsHypercall;
    long exitsXsetbv;
    long exitsMsr;
    long exitsManagement;

    // what the failing exit was, recorded without allocation for the report
    int failPort;
    int failSize;
    boolean failWrite;
    long failAddress;
    int failCount;
    int failCode;
    /** The device that refused the failing access, for its own FATAL line (upstream words some itself). */
    Object failDevice;

    public ExitDispatch(PioBus pio, MmioBus mmio, MmioWindowTable windows, Hypercalls hypercalls,
            InstructionCompletion completion) {
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
        exitsTotal++;
        switch (r.exitReason()) {
            case KvmRun.EXIT_IO -> {
                exitsPio++;
                return handlePio(r) ? CONTINUE : FAIL_PIO;
            }
            case KvmRun.EXIT_MMIO -> {
                exitsMmio++;
                return handleMmio(r) ? CONTINUE : FAIL_MMIO;
            }
            case KvmRun.EXIT_INTERNAL_ERROR -> {
                failCode = r.internalSuberror();
                if (failCode == KvmRun.INTERNAL_ERROR_EMULATION && completion.complete(r)) {
                    exitsXsetbv++;
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
                exitsMsr++;
                failAddress = r.msrIndex() & 0xffffffffL;
                return FAIL_MSR_WRITE; // only the writes Jailhouse forbids come here (X86Msrs)
            }
            case KvmRun.EXIT_X86_RDMSR -> {
                exitsMsr++;
                failAddress = r.msrIndex() & 0xffffffffL;
                return FAIL_MSR_READ;
            }
            case KvmRun.EXIT_INTR -> {
                exitsTotal--; // a kick, not the guest's doing
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
                exitsHypercall++;
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

    /** Counter {@code index} in upstream's order (spec 3), read racily by other threads. */
    public long counter(int index) {
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

    /** A run that failed outside an exit (KVM_RUN itself) records its errno here. */
    void failedRun(int errno) {
        failCode = errno;
    }
}
