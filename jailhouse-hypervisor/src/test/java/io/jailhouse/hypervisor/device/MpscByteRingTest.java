package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class MpscByteRingTest {
    @Test
    void keepsOrderForOneProducer() {
        MpscByteRing ring = new MpscByteRing(8);
        for (int i = 0; i < 5; i++) {
            ring.put((byte) i);
        }
        byte[] out = new byte[16];
        assertThat(ring.drain(out)).isEqualTo(5);
        assertThat(out).startsWith(0, 1, 2, 3, 4);
        assertThat(ring.drain(out)).isZero();
    }

    @Test
    void dropsAndCountsWhenFull() {
        MpscByteRing ring = new MpscByteRing(4);
        for (int i = 0; i < 6; i++) {
            ring.put((byte) i);
        }
        assertThat(ring.dropped()).isEqualTo(2);
        byte[] out = new byte[8];
        assertThat(ring.drain(out)).isEqualTo(4);
        assertThat(out).startsWith(0, 1, 2, 3);
        ring.put((byte) 9); // slots are free again after the drain
        assertThat(ring.drain(out)).isEqualTo(1);
        assertThat(out[0]).isEqualTo((byte) 9);
    }

    @Test
    void refusesCapacitiesThatAreNotPowersOfTwo() {
        assertThatThrownBy(() -> new MpscByteRing(6)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new MpscByteRing(1)).hasMessageContaining("power of two");
    }

    /**
     * Four producers, one consumer draining concurrently: nothing lost, each
     * producer's bytes in its order. The total fits the ring, so nothing may be
     * dropped however the threads are scheduled.
     */
    @Test
    void manyProducersLoseNothingAndKeepEachOnesOrder() throws Exception {
        int producers = 4;
        int perProducer = 60_000;
        MpscByteRing ring = new MpscByteRing(1 << 18);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int id = p;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perProducer; i++) {
                    // high 2 bits: producer; low 6 bits: sequence mod 64
                    ring.put((byte) (id << 6 | (i & 63)));
                    if ((i & 1023) == 0) {
                        Thread.onSpinWait();
                    }
                }
            }));
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        go.countDown();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (all.size() + ring.dropped() < (long) producers * perProducer && System.nanoTime() < deadline) {
            int n = ring.drain(buf);
            all.write(buf, 0, n);
        }
        for (Thread t : threads) {
            t.join();
        }
        int n;
        while ((n = ring.drain(buf)) > 0) {
            all.write(buf, 0, n);
        }
        assertThat(ring.dropped()).isZero();
        assertThat(all.size()).isEqualTo(producers * perProducer);
        int[] next = new int[producers];
        int[] seen = new int[producers];
        for (byte b : all.toByteArray()) {
            int id = (b >> 6) & 3;
            assertThat(b & 63).as("producer %d order", id).isEqualTo(next[id]);
            next[id] = (next[id] + 1) & 63;
            seen[id]++;
        }
        assertThat(seen).containsOnly(perProducer);
    }
}
