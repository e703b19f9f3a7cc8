package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class MmioWindowTableTest {

    private final MmioWindowTable table = new MmioWindowTable();
    private final Object fn = new Object();
    private final MmioDevice a = new InertMmioDevice();
    private final MmioDevice b = new InertMmioDevice();

    private MmioDevice at(long address, int size) {
        MmioWindowTable.Windows w = table.current();
        int i = w.indexOf(address, size);
        return i < 0 ? null : w.device(i);
    }

    @Test
    void windowsAreFoundInsideAndNotAcrossTheirEdges() {
        table.put(fn, 0, 0xfe000000L, 0x1000, a);
        table.put(fn, 1, 0xfe001000L, 0x200, b);
        assertThat(at(0xfe000000L, 4)).isSameAs(a);
        assertThat(at(0xfe000ffcL, 4)).isSameAs(a);
        assertThat(at(0xfe000ffeL, 4)).as("crosses into the next window").isNull();
        assertThat(at(0xfe001000L, 4)).isSameAs(b);
        assertThat(at(0xfe0011fcL, 4)).isSameAs(b);
        assertThat(at(0xfe001200L, 4)).isNull();
        assertThat(at(0xfdfffffcL, 4)).isNull();
        assertThat(at(0, 4)).isNull();
        assertThat(at(-1, 4)).isNull();
        MmioWindowTable.Windows w = table.current();
        int i = w.indexOf(0xfe001010L, 4);
        assertThat(w.base(i)).isEqualTo(0xfe001000L);
        assertThat(w.size(i)).isEqualTo(0x200);
        assertThat(w.owner(i)).isSameAs(fn);
        assertThat(w.windowIndex(i)).isEqualTo(1);
    }

    @Test
    void putMovesRemoveDeletesAndListenersHearEachChange() {
        List<String> events = new ArrayList<>();
        table.addListener((owner, index, oldBase, newBase, size, device) -> events.add(
                index + ":" + oldBase + "->" + newBase + "/" + size + (device == a ? "a" : "b")));
        table.put(fn, 0, 0x1000, 0x100, a);
        table.put(fn, 0, 0x1000, 0x100, a); // no change: no event, no new snapshot
        MmioWindowTable.Windows before = table.current();
        table.put(fn, 0, 0x1000, 0x100, a);
        assertThat(table.current()).isSameAs(before);
        table.put(fn, 0, 0x3000, 0x100, a);
        assertThat(at(0x1000, 4)).isNull();
        assertThat(at(0x3000, 4)).isSameAs(a);
        assertThat(table.baseOf(fn, 0)).isEqualTo(0x3000);
        assertThat(table.remove(fn, 0)).isTrue();
        assertThat(table.remove(fn, 0)).isFalse();
        assertThat(table.baseOf(fn, 0)).isEqualTo(-1);
        assertThat(events).containsExactly("0:-1->4096/256a", "0:4096->12288/256a", "0:12288->-1/256a");
    }

    @Test
    void overlappingWindowsResolveToTheHighestBaseThenTheLastPlaced() {
        Object other = new Object();
        table.put(fn, 0, 0x10000, 0x10000, a);
        table.put(other, 0, 0x12000, 0x1000, b);
        assertThat(at(0x12010, 4)).isSameAs(b);
        assertThat(at(0x13000, 4)).as("past b: back in a").isSameAs(a);
        assertThat(at(0x11000, 4)).isSameAs(a);
        table.put(other, 0, 0x10000, 0x1000, b); // same base as a, placed last
        assertThat(at(0x10000, 4)).isSameAs(b);
        assertThat(at(0x11000, 4)).isSameAs(a);
    }

    @Test
    void badWindowsAreRefused() {
        assertThatThrownBy(() -> table.put(fn, 0, 0x1000, 0, a)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> table.put(fn, 0, Long.MAX_VALUE, 2, a)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> table.put(fn, 0, -4096, 16, a)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentWritersLoseNoUpdate() throws InterruptedException {
        int threads = 4;
        int perThread = 200;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        Object[] owners = new Object[threads];
        for (int t = 0; t < threads; t++) {
            owners[t] = new Object();
            Object owner = owners[t];
            long base = 0x100000L * (t + 1);
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    table.put(owner, i % 3, base + 0x1000L * i, 0x1000, a);
                }
            }));
        }
        go.countDown();
        for (Thread t : ts) {
            t.join();
        }
        MmioWindowTable.Windows w = table.current();
        assertThat(w.count()).isEqualTo(threads * 3);
        for (int t = 0; t < threads; t++) {
            for (int k = 0; k < 3; k++) {
                int last = perThread - 1 - ((perThread - 1 - k) % 3);
                assertThat(table.baseOf(owners[t], k)).isEqualTo(0x100000L * (t + 1) + 0x1000L * last);
            }
        }
        for (int i = 1; i < w.count(); i++) {
            assertThat(w.base(i)).isGreaterThanOrEqualTo(w.base(i - 1));
        }
    }
}
