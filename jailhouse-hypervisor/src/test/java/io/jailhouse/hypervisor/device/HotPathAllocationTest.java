package io.jailhouse.hypervisor.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.ExitDispatch;
import io.jailhouse.sys.KvmRun;
import io.jailhouse.sys.KvmRunImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * What vCPU threads run must not allocate (architecture section 4): the real
 * exit dispatch, serving a mix of exits written into an ordinary kvm_run
 * page (UART poll and write, PM-timer read, port 0x80, hypercall, test-device
 * MMIO) many times after warm-up, allocates (next to) nothing: one
 * allocation per exit would be megabytes.
 */
class HotPathAllocationTest {
    private static final int ROUNDS = 200_000;

    @Test
    void theExitDispatchAllocatesNothing() {
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
            ExitDispatch dispatch = new ExitDispatch(pio, mmio, new MmioWindowTable(), (code, a, b) -> code,
                    r -> false, arena.allocate(ExitDispatch.COUNTERS * 8L, 8));
            KvmRunImage exit = KvmRunImage.allocate(arena);
            byte[] drained = new byte[1024];

            long[] sink = {0};
            long allocated = meter.bytesAfterWarmUp(() -> exits(dispatch, exit, ring, drained), sink);

            assertThat(sink[0]).isNotZero();
            assertThat(dispatch.counter(0)).as("exits served").isEqualTo(2L * 7 * ROUNDS);
            assertThat(allocated).as("bytes allocated by %d rounds of exits", ROUNDS).isLessThan(16 * 1024);
        }
    }

    private static long exits(ExitDispatch dispatch, KvmRunImage exit, SpscByteRing ring, byte[] drained) {
        long sink = 0;
        KvmRun r = exit.run();
        for (int i = 0; i < ROUNDS; i++) {
            sink += dispatch.serve(exit.pio(0x3fd, 1, false, 0).run()) + r.ioData(); // LSR poll
            sink += dispatch.serve(exit.pio(0x3f8, 1, true, 'a' + (i & 15)).run()); // THR
            sink += dispatch.serve(exit.pio(0x408, 4, false, 0).run()) + r.ioData(); // PM timer
            sink += dispatch.serve(exit.pio(0x80, 1, true, i).run());
            sink += dispatch.serve(exit.pio(0x5f0 /* the hypercall port */, 4, true, 8).run());
            sink += dispatch.serve(exit.mmio(0x101ff8, 8, true, i).run());
            sink += dispatch.serve(exit.mmio(0x101ff9, 4, false, 0).run()) + r.mmioData();
            if ((i & 255) == 0) {
                sink += ring.drain(drained); // the console thread's job, here only so the ring does not fill
            }
        }
        return sink + ring.dropped();
    }
}
