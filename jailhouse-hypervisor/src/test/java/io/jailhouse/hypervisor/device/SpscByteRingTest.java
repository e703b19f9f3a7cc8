package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class SpscByteRingTest {

    @Test
    void capacityMustBeAPowerOfTwo() {
        for (int bad : new int[] {0, -1, 3, 6, 1000, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            assertThatThrownBy(() -> new SpscByteRing(bad)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(new SpscByteRing(1).capacity()).isEqualTo(1);
        assertThat(new SpscByteRing(4096).capacity()).isEqualTo(4096);
    }

    @Test
    void drainsWhatWasPutInOrder() {
        SpscByteRing ring = new SpscByteRing(8);
        assertThat(ring.drain(new byte[4])).isZero();
        for (byte b : "abc".getBytes()) {
            ring.put(b);
        }
        assertThat(ring.size()).isEqualTo(3);
        byte[] dst = new byte[8];
        assertThat(ring.drain(dst)).isEqualTo(3);
        assertThat(new String(dst, 0, 3)).isEqualTo("abc");
        assertThat(ring.size()).isZero();
        assertThat(ring.written()).isEqualTo(3);
    }

    @Test
    void wrapsAroundTheEndOfItsBuffer() {
        SpscByteRing ring = new SpscByteRing(8);
        byte[] dst = new byte[8];
        int next = 0;
        int expected = 0;
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < 5; i++) {
                ring.put((byte) next++);
            }
            int n = ring.drain(dst, 1, 5);
            assertThat(n).isEqualTo(5);
            for (int i = 0; i < n; i++) {
                assertThat(dst[1 + i]).isEqualTo((byte) expected++);
            }
        }
        assertThat(ring.dropped()).isZero();
    }

    @Test
    void drainsNoMoreThanAsked() {
        SpscByteRing ring = new SpscByteRing(16);
        for (int i = 0; i < 10; i++) {
            ring.put((byte) i);
        }
        byte[] dst = new byte[4];
        assertThat(ring.drain(dst)).isEqualTo(4);
        assertThat(dst).containsExactly(0, 1, 2, 3);
        assertThat(ring.drain(dst, 0, 2)).isEqualTo(2);
        assertThat(dst).startsWith(4, 5);
        assertThat(ring.drain(new byte[0])).isZero();
        assertThat(ring.size()).isEqualTo(4);
        assertThatThrownBy(() -> ring.drain(dst, 3, 2)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(ring.size()).isEqualTo(4);
    }

    @Test
    void dropsAndCountsBytesWhenFull() {
        SpscByteRing ring = new SpscByteRing(4);
        for (int i = 0; i < 10; i++) {
            ring.put((byte) i);
        }
        assertThat(ring.dropped()).isEqualTo(6);
        assertThat(ring.size()).isEqualTo(4);
        byte[] dst = new byte[10];
        assertThat(ring.drain(dst)).isEqualTo(4);
        assertThat(dst).startsWith(0, 1, 2, 3); // the oldest bytes are kept
        ring.put((byte) 42);
        assertThat(ring.drain(dst)).isEqualTo(1);
        assertThat(dst[0]).isEqualTo((byte) 42);
        assertThat(ring.dropped()).isEqualTo(6);
    }

    /** A sequence that differs from itself shifted by any small distance, so reordering shows. */
    private static byte pattern(long i) {
        return (byte) (i ^ i >>> 8 ^ i >>> 16 ^ i * 31);
    }

    @Test
    @Timeout(120)
    void oneProducerOneConsumerMillionsOfBytesInOrderNoneLost() throws Exception {
        final long total = 8_000_000;
        SpscByteRing ring = new SpscByteRing(1024);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread producer = new Thread(() -> {
            for (long i = 0; i < total; i++) {
                // The consumer keeps up when the producer never outruns it; put itself never waits.
                while (ring.size() == ring.capacity()) {
                    Thread.onSpinWait();
                }
                ring.put(pattern(i));
            }
        }, "producer");
        Thread consumer = new Thread(() -> {
            byte[] dst = new byte[300];
            long received = 0;
            try {
                while (received < total) {
                    int n = ring.drain(dst);
                    for (int k = 0; k < n; k++, received++) {
                        if (dst[k] != pattern(received)) {
                            throw new AssertionError("byte " + received + " is " + dst[k]
                                    + ", expected " + pattern(received));
                        }
                    }
                    if (n == 0) {
                        Thread.onSpinWait();
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "consumer");
        consumer.start();
        producer.start();
        producer.join();
        consumer.join(60_000);
        assertThat(failure.get()).isNull();
        assertThat(consumer.isAlive()).as("consumer received everything").isFalse();
        assertThat(ring.dropped()).isZero();
        assertThat(ring.written()).isEqualTo(total);
        assertThat(ring.size()).isZero();
    }

    @Test
    @Timeout(120)
    void aProducerFasterThanItsConsumerLosesBytesButNeverBlocks() throws Exception {
        final long total = 2_000_000;
        SpscByteRing ring = new SpscByteRing(64);
        long[] received = new long[1];
        Thread consumer = new Thread(() -> {
            byte[] dst = new byte[7];
            while (!Thread.currentThread().isInterrupted() || ring.size() > 0) {
                received[0] += ring.drain(dst);
            }
        }, "consumer");
        consumer.start();
        for (long i = 0; i < total; i++) {
            ring.put((byte) i);
        }
        consumer.interrupt();
        consumer.join();
        assertThat(received[0] + ring.dropped()).isEqualTo(total);
        assertThat(ring.written()).isEqualTo(received[0]);
    }
}
