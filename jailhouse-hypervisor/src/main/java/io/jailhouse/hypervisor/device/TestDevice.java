package io.jailhouse.hypervisor.device;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Upstream's test device (cell flag {@code TEST_DEVICE}, spec 8): the page
 * after the comm region, where only offsets 0xff8-0xfff are valid, with
 * accesses of 1, 2, 4 or 8 bytes that stay inside them; they read and write
 * the last 8 bytes of the comm page. Upstream's MMIO tests use it to check
 * that trapped accesses of every width are decoded and performed right.
 *
 * <p>The comm page is shared with the guest, so naturally aligned accesses
 * are volatile; misaligned ones (which cannot be single atomic accesses on a
 * {@link MemorySegment}) are plain accesses between fences.
 */
public final class TestDevice implements MmioDevice {
    /** The device decodes one page. */
    public static final long SIZE = 0x1000;
    /** First valid offset: the last 8 bytes of the page. */
    public static final long FIRST_REGISTER = 0xff8;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();
    private static final VarHandle SHORT = ValueLayout.JAVA_SHORT.withOrder(LE).varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(LE).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(LE).varHandle();
    private static final VarHandle SHORT_U = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE).varHandle();
    private static final VarHandle INT_U = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE).varHandle();
    private static final VarHandle LONG_U = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE).varHandle();

    private final MemorySegment commPage;

    /** @param commPage the cell's comm page (at least 4096 bytes, 8-byte aligned) */
    public TestDevice(MemorySegment commPage) {
        if (commPage.byteSize() < SIZE) {
            throw new IllegalArgumentException("comm page of " + commPage.byteSize() + " bytes");
        }
        if (commPage.maxByteAlignment() < Long.BYTES) {
            throw new IllegalArgumentException("comm page is not 8-byte aligned");
        }
        this.commPage = commPage;
    }

    @Override
    public boolean accepts(long offset, int size, boolean write) {
        return (size == 1 || size == 2 || size == 4 || size == 8)
                && offset >= FIRST_REGISTER && offset <= SIZE - size;
    }

    @Override
    public long read(long offset, int size) {
        boolean aligned = (offset & (size - 1)) == 0;
        long v;
        if (aligned) {
            v = switch (size) {
                case 1 -> (byte) BYTE.getVolatile(commPage, offset) & 0xffL;
                case 2 -> (short) SHORT.getVolatile(commPage, offset) & 0xffffL;
                case 4 -> (int) INT.getVolatile(commPage, offset) & 0xffff_ffffL;
                default -> (long) LONG.getVolatile(commPage, offset);
            };
        } else {
            v = switch (size) {
                case 2 -> (short) SHORT_U.get(commPage, offset) & 0xffffL;
                case 4 -> (int) INT_U.get(commPage, offset) & 0xffff_ffffL;
                default -> (long) LONG_U.get(commPage, offset);
            };
            VarHandle.acquireFence();
        }
        return v;
    }

    @Override
    public void write(long offset, int size, long value) {
        boolean aligned = (offset & (size - 1)) == 0;
        if (aligned) {
            switch (size) {
                case 1 -> BYTE.setVolatile(commPage, offset, (byte) value);
                case 2 -> SHORT.setVolatile(commPage, offset, (short) value);
                case 4 -> INT.setVolatile(commPage, offset, (int) value);
                default -> LONG.setVolatile(commPage, offset, value);
            }
        } else {
            VarHandle.releaseFence();
            switch (size) {
                case 2 -> SHORT_U.set(commPage, offset, (short) value);
                case 4 -> INT_U.set(commPage, offset, (int) value);
                default -> LONG_U.set(commPage, offset, value);
            }
            VarHandle.fullFence(); // as a volatile store: later loads do not move above it
        }
    }
}
