package io.jailhouse.boundary;

import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The pages a cell shares between its process and the supervisor, in one
 * memfd both map: what the supervisor reads of a cell (state, counters,
 * consoles) it reads here, without a round trip and without allocating,
 * and it keeps working while the other side is gone (the cell process
 * outlives a supervisor; the supervisor outlives a crashed cell process).
 *
 * <pre>
 * 0x0000  comm page (spec 2): the guest maps it; nothing else here is guest-visible
 * 0x1000  status page
 *         0x00 u32 magic "JHcp", u32 layout revision, u32 CPU count
 *         0x10 u64 memory pool pages, pages used, remap pool size, used, u64 cells (HYPERVISOR_GET_INFO; the supervisor writes)
 *         0x40 u64 pid of the cell process (it writes at start)
 *         0x48 u64 console bytes dropped: UART and debug-console output the cell process's rings had no room for
 * 0x2000  CPU slots, 128 bytes each, in the cell's CPU order:
 *         u32 CPU number, u32 status (parked, running, failed), then 12 u64 counters (spec 3 order)
 * ...     console ring: what the cell's UARTs wrote (SharedByteRing of 64 KiB)
 * ...     report ring: the cell process's own lines for the hypervisor console (FATAL reports; 16 KiB)
 * ...     debug-console ring: the guest's debug-console hypercall output (16 KiB)
 * </pre>
 * The counters are plain per-CPU fields written by the CPU's exit loop and
 * read racily by the supervisor, as upstream's statistics are.
 */
public final class CellPages implements AutoCloseable {
    public static final int PAGE = 4096;
    public static final int MAGIC = 0x7063484a; // "JHcp"
    public static final int REVISION = 2;
    public static final int COUNTERS = 12;
    public static final int SLOT_BYTES = 128;
    public static final int CONSOLE_CAPACITY = 64 * 1024;
    public static final int REPORT_CAPACITY = 16 * 1024;
    public static final int DEBUG_CONSOLE_CAPACITY = 16 * 1024;
    /** CPUs a cell can have here (the CPU set of a config is at most 4096 bits, 128 slots a page). */
    public static final int MAX_CPUS = 4096;

    public static final int CPU_PARKED = 0;
    public static final int CPU_RUNNING = 1;
    public static final int CPU_FAILED = 2;

    static final long COMM = 0;
    static final long STATUS = PAGE;
    static final long SLOTS = 2L * PAGE;
    private static final long MAGIC_AT = STATUS;
    private static final long REVISION_AT = STATUS + 4;
    private static final long CPUS_AT = STATUS + 8;
    private static final long INFO_AT = STATUS + 0x10;
    private static final long PID_AT = STATUS + 0x40;
    private static final long CONSOLE_DROPPED_AT = STATUS + 0x48;
    /** The HYPERVISOR_GET_INFO figures kept here, by their hypercall argument (0-4). */
    public static final int INFO_FIGURES = 5;

    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.nativeOrder()).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.nativeOrder()).varHandle();

    private final MemoryMapping mapping;
    private final MemorySegment memory;
    private final int cpus;
    private final SharedByteRing console;
    private final SharedByteRing report;
    private final SharedByteRing debugConsole;

    private CellPages(MemoryMapping mapping, int cpus, boolean format) {
        this.mapping = mapping;
        this.memory = mapping.segment();
        this.cpus = cpus;
        long consoleAt = consoleOffset(cpus);
        MemorySegment c = memory.asSlice(consoleAt, SharedByteRing.bytesFor(CONSOLE_CAPACITY));
        MemorySegment r = memory.asSlice(consoleAt + SharedByteRing.bytesFor(CONSOLE_CAPACITY),
                SharedByteRing.bytesFor(REPORT_CAPACITY));
        MemorySegment d = memory.asSlice(consoleAt + SharedByteRing.bytesFor(CONSOLE_CAPACITY)
                + SharedByteRing.bytesFor(REPORT_CAPACITY), SharedByteRing.bytesFor(DEBUG_CONSOLE_CAPACITY));
        this.console = format ? SharedByteRing.format(c) : SharedByteRing.open(c);
        this.report = format ? SharedByteRing.format(r) : SharedByteRing.open(r);
        this.debugConsole = format ? SharedByteRing.format(d) : SharedByteRing.open(d);
    }

    private static long consoleOffset(int cpus) {
        return SLOTS + roundUp((long) cpus * SLOT_BYTES);
    }

    /** Bytes the pages of a cell with {@code cpus} CPUs take. */
    public static long size(int cpus) {
        return consoleOffset(cpus) + roundUp(SharedByteRing.bytesFor(CONSOLE_CAPACITY)
                + SharedByteRing.bytesFor(REPORT_CAPACITY) + SharedByteRing.bytesFor(DEBUG_CONSOLE_CAPACITY));
    }

    private static long roundUp(long n) {
        return (n + PAGE - 1) & -PAGE;
    }

    /**
     * A new memfd with the pages of a cell with these CPUs (in the cell's
     * order), set up; the caller owns the descriptor ({@link #fd()} is not
     * kept open by this object).
     */
    public static Created create(String cellName, int[] cpuNumbers) throws NativeException {
        checkCpus(cpuNumbers.length);
        long size = size(cpuNumbers.length);
        int fd = Libc.memfdCreate("jailhouse-cell-" + sanitize(cellName), Libc.MFD_CLOEXEC);
        try {
            Libc.ftruncate(fd, size);
            CellPages pages = new CellPages(MemoryMapping.ofFile(fd, 0, size), cpuNumbers.length, true);
            INT.setVolatile(pages.memory, CPUS_AT, cpuNumbers.length);
            INT.setVolatile(pages.memory, REVISION_AT, REVISION);
            for (int i = 0; i < cpuNumbers.length; i++) {
                INT.setVolatile(pages.memory, SLOTS + (long) i * SLOT_BYTES, cpuNumbers[i]);
            }
            INT.setVolatile(pages.memory, MAGIC_AT, MAGIC); // last: the pages are complete
            return new Created(fd, pages);
        } catch (NativeException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** A new memfd and its pages. */
    public record Created(int fd, CellPages pages) {
    }

    /**
     * Maps pages someone set up from their memfd (the descriptor stays the
     * caller's), checking the layout.
     *
     * @throws IllegalArgumentException if the memory does not hold cell pages
     */
    public static CellPages open(int fd) throws NativeException {
        long size = Libc.fileSize(fd);
        if (size < SLOTS) {
            throw new IllegalArgumentException("cell pages of " + size + " bytes");
        }
        int cpus;
        try (MemoryMapping head = MemoryMapping.ofFile(fd, 0, SLOTS, false)) {
            if ((int) INT.getVolatile(head.segment(), MAGIC_AT) != MAGIC
                    || (int) INT.getVolatile(head.segment(), REVISION_AT) != REVISION) {
                throw new IllegalArgumentException("not cell pages of layout revision " + REVISION);
            }
            cpus = (int) INT.getVolatile(head.segment(), CPUS_AT);
        }
        checkCpus(cpus);
        if (size != size(cpus)) {
            throw new IllegalArgumentException("cell pages for " + cpus + " CPUs are " + size(cpus) + " bytes, not "
                    + size);
        }
        return new CellPages(MemoryMapping.ofFile(fd, 0, size), cpus, false);
    }

    private static void checkCpus(int cpus) {
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new IllegalArgumentException(cpus + " CPUs (1 to " + MAX_CPUS + ")");
        }
    }

    private static String sanitize(String name) {
        return name.replaceAll("[^A-Za-z0-9_.-]", "_");
    }

    /** The comm page (the guest maps this page of the memfd). */
    public MemorySegment commPage() {
        return memory.asSlice(COMM, PAGE);
    }

    /** Where the comm page lies in the memfd, for the guest's memory slot. */
    public static long commPageOffset() {
        return COMM;
    }

    public int cpuCount() {
        return cpus;
    }

    /** The CPU number of slot {@code index}. */
    public int cpuNumber(int index) {
        return (int) INT.getVolatile(memory, slot(index));
    }

    public int cpuStatus(int index) {
        return (int) INT.getVolatile(memory, slot(index) + 4);
    }

    public void setCpuStatus(int index, int status) {
        INT.setVolatile(memory, slot(index) + 4, status);
    }

    /** The counters of slot {@code index}: 12 u64, written by that CPU's exit loop only. */
    public MemorySegment counters(int index) {
        return memory.asSlice(slot(index) + 16, COUNTERS * 8L);
    }

    public long counter(int index, int counter) {
        if (counter < 0 || counter >= COUNTERS) {
            throw new IndexOutOfBoundsException("counter " + counter);
        }
        return (long) LONG.getOpaque(memory, slot(index) + 16 + 8L * counter);
    }

    private long slot(int index) {
        if (index < 0 || index >= cpus) {
            throw new IndexOutOfBoundsException("CPU slot " + index + " of " + cpus);
        }
        return SLOTS + (long) index * SLOT_BYTES;
    }

    /** A HYPERVISOR_GET_INFO figure (0 to 4), as the supervisor last set it. */
    public long info(int figure) {
        return (long) LONG.getOpaque(memory, INFO_AT + 8L * figure);
    }

    public void setInfo(int figure, long value) {
        if (figure < 0 || figure >= INFO_FIGURES) {
            throw new IndexOutOfBoundsException("info figure " + figure);
        }
        LONG.setOpaque(memory, INFO_AT + 8L * figure, value);
    }

    public long processId() {
        return (long) LONG.getVolatile(memory, PID_AT);
    }

    public void setProcessId(long pid) {
        LONG.setVolatile(memory, PID_AT, pid);
    }

    /** Console output the cell process dropped so far (its rings were full); 0 from a process that never counts. */
    public long consoleBytesDropped() {
        return (long) LONG.getOpaque(memory, CONSOLE_DROPPED_AT);
    }

    /** Written by the cell process's console thread only. */
    public void setConsoleBytesDropped(long bytes) {
        LONG.setOpaque(memory, CONSOLE_DROPPED_AT, bytes);
    }

    public SharedByteRing console() {
        return console;
    }

    /** The cell process's own lines (its words, never the guest's bytes: a FATAL line here is one). */
    public SharedByteRing report() {
        return report;
    }

    /** What the guest wrote with the debug-console hypercall: its bytes, whatever they say. */
    public SharedByteRing debugConsole() {
        return debugConsole;
    }

    public boolean isOpen() {
        return mapping.isOpen();
    }

    /** Unmaps; a reader that still holds a segment then gets an IllegalStateException, never a crash. */
    @Override
    public void close() {
        mapping.close();
    }
}
