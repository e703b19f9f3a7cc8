package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TestDeviceTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment comm = arena.allocate(4096, 4096);
    private final TestDevice device = new TestDevice(comm);

    @AfterEach
    void close() {
        arena.close();
    }

    private byte[] lastEight() {
        return comm.asSlice(0xff8, 8).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void onlyTheLastEightBytesOfThePageAreValid() {
        for (int size : new int[] {1, 2, 4, 8}) {
            for (long off = 0xff8; off < 0x1000; off++) {
                boolean inside = off + size <= 0x1000;
                assertThat(device.accepts(off, size, false)).as("read %d at %x", size, off).isEqualTo(inside);
                assertThat(device.accepts(off, size, true)).as("write %d at %x", size, off).isEqualTo(inside);
            }
            assertThat(device.accepts(0xff7, size, false)).isFalse();
            assertThat(device.accepts(0, size, true)).isFalse();
            assertThat(device.accepts(0x1000, size, false)).isFalse();
            assertThat(device.accepts(-8, size, false)).isFalse();
            assertThat(device.accepts(Long.MAX_VALUE, size, false)).isFalse();
        }
        for (int size : new int[] {0, 3, 5, 6, 7, 16, -1}) {
            assertThat(device.accepts(0xff8, size, true)).isFalse();
        }
    }

    @Test
    void writesLandInTheCommPageLittleEndian() {
        device.write(0xff8, 8, 0x0807_0605_0403_0201L);
        assertThat(lastEight()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        device.write(0xffc, 4, 0xdead_beefL);
        assertThat(lastEight()).containsExactly(1, 2, 3, 4, 0xef, 0xbe, 0xad, 0xde);
        device.write(0xffa, 2, 0xa1b2);
        device.write(0xff9, 1, 0xcc);
        assertThat(lastEight()).containsExactly(1, 0xcc, 0xb2, 0xa1, 0xef, 0xbe, 0xad, 0xde);
        assertThat(comm.asSlice(0, 0xff8).toArray(ValueLayout.JAVA_BYTE)).containsOnly(0);
    }

    @Test
    void readsSeeWhatTheGuestWroteToTheCommPage() {
        comm.set(ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN), 0xff8, 0xf8f7_f6f5_f4f3_f2f1L);
        assertThat(device.read(0xff8, 8)).isEqualTo(0xf8f7_f6f5_f4f3_f2f1L);
        assertThat(device.read(0xff8, 4)).isEqualTo(0xf4f3_f2f1L);
        assertThat(device.read(0xffc, 4)).isEqualTo(0xf8f7_f6f5L);
        assertThat(device.read(0xffe, 2)).isEqualTo(0xf8f7L);
        assertThat(device.read(0xfff, 1)).isEqualTo(0xf8L);
        assertThat(device.read(0xff8, 1)).as("zero-extended").isEqualTo(0xf1L);
    }

    @Test
    void misalignedAccessesInsideTheRangeWork() {
        device.write(0xff9, 4, 0x4433_2211L);
        assertThat(lastEight()).containsExactly(0, 0x11, 0x22, 0x33, 0x44, 0, 0, 0);
        assertThat(device.read(0xff9, 4)).isEqualTo(0x4433_2211L);
        assertThat(device.read(0xffb, 2)).isEqualTo(0x4433L);
        assertThat(device.read(0xffa, 4)).isEqualTo(0x0044_3322L);
        device.write(0xffd, 2, 0x6655);
        assertThat(lastEight()).containsExactly(0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0);
    }

    @Test
    void writeThenReadRoundTripsEveryValidAccess() {
        long value = 0x0123_4567_89ab_cdefL;
        for (int size : new int[] {1, 2, 4, 8}) {
            long mask = size == 8 ? -1L : (1L << 8 * size) - 1;
            for (long off = 0xff8; off + size <= 0x1000; off++) {
                device.write(off, size, value);
                assertThat(device.read(off, size)).isEqualTo(value & mask);
                value = Long.rotateLeft(value, 11) ^ off;
            }
        }
    }

    @Test
    void needsAWholeAlignedPage() {
        try (Arena a = Arena.ofConfined()) {
            assertThatThrownBy(() -> new TestDevice(a.allocate(4095, 8)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new TestDevice(MemorySegment.ofArray(new byte[4096])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new TestDevice(MemorySegment.ofArray(new long[512])).read(0xff8, 8)).isZero();
    }
}
