package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * What vCPU threads call must not allocate (architecture section 4). Runs
 * a mix of exits many times after warm-up and checks the thread allocated
 * (next to) nothing: one allocation per exit would be megabytes.
 */
class HotPathAllocationTest {
    private static final int ROUNDS = 200_000;

    @Test
    void deviceAccessesAndBusLookupsDoNotAllocate() {
        AllocationMeter meter = AllocationMeter.get();
        SpscByteRing ring = new SpscByteRing(1024);
        Uart8250 uart = new Uart8250(0x3f8, ring);
        PmTimer pm = new PmTimer(0x408);
        DiagnosticPort diag = new DiagnosticPort();
        PioBus pio = PioBus.builder().add(0x3f8, 8, uart).add(0x408, 4, pm).add(0x80, 1, diag).build();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment comm = arena.allocate(4096, 4096);
            TestDevice testdev = new TestDevice(comm);
            MmioBus mmio = MmioBus.builder().add(0x101000, 0x1000, testdev).build();
            byte[] drained = new byte[1024];

            long[] sink = {0};
            long allocated = meter.bytesAfterWarmUp(() -> exits(pio, mmio, ring, drained), sink);

            assertThat(sink[0]).isNotZero();
            assertThat(allocated).as("bytes allocated by %d rounds of exits", ROUNDS).isLessThan(16 * 1024);
        }
    }

    private static long exits(PioBus pio, MmioBus mmio, SpscByteRing ring, byte[] drained) {
        long sink = 0;
        for (int i = 0; i < ROUNDS; i++) {
            PioDevice lsr = pio.deviceFor(0x3fd, 1);
            if (lsr.accepts(0x3fd, 1, false)) {
                sink += lsr.read(0x3fd, 1);
            }
            PioDevice thr = pio.deviceFor(0x3f8, 1);
            if (thr.accepts(0x3f8, 1, true)) {
                thr.write(0x3f8, 1, 'a' + (i & 15));
            }
            PioDevice timer = pio.deviceAt(0x408);
            if (timer.accepts(0x408, 4, false)) {
                sink += timer.read(0x408, 4);
            }
            pio.deviceFor(0x80, 1).write(0x80, 1, i);
            int index = mmio.indexOf(0x101ff8, 8);
            MmioDevice dev = mmio.device(index);
            long offset = 0x101ff8 - mmio.base(index);
            if (dev.accepts(offset, 8, true)) {
                dev.write(offset, 8, i);
                sink += dev.read(offset, 8) + dev.read(offset + 1, 4);
            }
            if ((i & 255) == 0) {
                sink += ring.drain(drained); // the console thread's job, here only so the ring does not fill
            }
        }
        return sink + ring.dropped();
    }
}
