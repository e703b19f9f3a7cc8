package io.jailhouse.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@code kvm_run} page in ordinary memory, filled in the way KVM fills a
 * vCPU's page at an exit: for running the real exit dispatch without
 * /dev/kvm, in tests and benchmarks. Exit handlers find a port I/O exit's
 * data through its data offset, as in a real page.
 */
public final class KvmRunImage {
    /** Where this image keeps port I/O data: past the structure (KVM uses the page after it). */
    static final long IO_DATA_AT = 4096 - 64;

    private final MemorySegment page;
    private final KvmRun run;

    private KvmRunImage(MemorySegment page) {
        this.page = page;
        this.run = new KvmRun(page);
    }

    /** A zeroed page from {@code arena}. */
    public static KvmRunImage allocate(Arena arena) {
        return new KvmRunImage(arena.allocate(4096, 4096));
    }

    /** The page as an exit handler sees it. */
    public KvmRun run() {
        return run;
    }

    /** An exit of {@code reason} with no data. */
    public KvmRunImage exit(int reason) {
        page.set(ValueLayout.JAVA_INT, KvmRun.EXIT_REASON, reason);
        return this;
    }

    /** A port I/O exit: {@code size} bytes at {@code port}, written ({@code value}) or read. */
    public KvmRunImage pio(int port, int size, boolean write, int value) {
        exit(KvmRun.EXIT_IO);
        page.set(ValueLayout.JAVA_BYTE, KvmRun.IO_DIRECTION, (byte) (write ? KvmRun.IO_OUT : KvmRun.IO_IN));
        page.set(ValueLayout.JAVA_BYTE, KvmRun.IO_SIZE, (byte) size);
        page.set(ValueLayout.JAVA_SHORT_UNALIGNED, KvmRun.IO_PORT, (short) port);
        page.set(ValueLayout.JAVA_INT_UNALIGNED, KvmRun.IO_COUNT, 1);
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, KvmRun.IO_DATA_OFFSET, IO_DATA_AT);
        page.set(ValueLayout.JAVA_INT_UNALIGNED, IO_DATA_AT, value);
        return this;
    }

    /** An MMIO exit: {@code length} bytes at {@code address}, written ({@code value}) or read. */
    public KvmRunImage mmio(long address, int length, boolean write, long value) {
        exit(KvmRun.EXIT_MMIO);
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, KvmRun.MMIO_PHYS_ADDR, address);
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, KvmRun.MMIO_DATA, value);
        page.set(ValueLayout.JAVA_INT_UNALIGNED, KvmRun.MMIO_LEN, length);
        page.set(ValueLayout.JAVA_BYTE, KvmRun.MMIO_IS_WRITE, (byte) (write ? 1 : 0));
        return this;
    }
}
