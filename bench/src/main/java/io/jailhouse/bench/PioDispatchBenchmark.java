package io.jailhouse.bench;

import io.jailhouse.hypervisor.ExitDispatch;
import io.jailhouse.hypervisor.device.DiagnosticPort;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PmTimer;
import io.jailhouse.hypervisor.device.SpscByteRing;
import io.jailhouse.hypervisor.device.Uart8250;
import io.jailhouse.sys.KvmRunImage;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java share of one PIO exit, without the kernel round trip: the real
 * exit dispatch ({@link ExitDispatch#serve}) on exits written into an
 * ordinary kvm_run page, for the accesses inmates make most (a PM-timer
 * read; a UART status poll and character write). Compare with the
 * several-microsecond exit round trip the end-to-end comparison measures.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PioDispatchBenchmark {
    private Arena arena;
    private ExitDispatch dispatch;
    private KvmRunImage exit;
    private SpscByteRing ring;
    private final byte[] drain = new byte[4096];

    @Setup
    public void setUp() {
        ring = new SpscByteRing(1 << 16);
        PioBus bus = PioBus.builder().add(0x3f8, 8, new Uart8250(0x3f8, ring)).add(0x608, 4, new PmTimer(0x608))
                .add(0x80, 1, new DiagnosticPort()).build();
        arena = Arena.ofShared();
        // the counters live in a shared mapping in a cell process; a shared arena's memory is the same kind
        dispatch = new ExitDispatch(bus, MmioBus.builder().build(), new MmioWindowTable(), (code, a, b) -> 0,
                r -> false, arena.allocate(ExitDispatch.COUNTERS * 8L, 8));
        exit = KvmRunImage.allocate(arena);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int pmTimerRead() {
        return dispatch.serve(exit.pio(0x608, 4, false, 0).run()) + exit.run().ioData();
    }

    @Benchmark
    public int uartPollAndWrite() {
        int status = dispatch.serve(exit.pio(0x3fd, 1, false, 0).run()) + exit.run().ioData();
        status += dispatch.serve(exit.pio(0x3f8, 1, true, 'x').run());
        if (ring.size() > 60_000) {
            ring.drain(drain);
        }
        return status;
    }
}
