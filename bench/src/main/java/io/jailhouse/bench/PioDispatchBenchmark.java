package io.jailhouse.bench;

import io.jailhouse.hypervisor.device.DiagnosticPort;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PioDevice;
import io.jailhouse.hypervisor.device.PmTimer;
import io.jailhouse.hypervisor.device.SpscByteRing;
import io.jailhouse.hypervisor.device.Uart8250;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java share of one PIO exit, without the kernel round trip: port lookup
 * plus the device access, for the two accesses inmates make most (a PM-timer
 * read, a UART status poll and character write). Compare with the
 * several-microsecond exit round trip the end-to-end comparison measures.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PioDispatchBenchmark {
    private PioBus bus;
    private SpscByteRing ring;
    private final byte[] drain = new byte[4096];

    @Setup
    public void setUp() {
        ring = new SpscByteRing(1 << 16);
        bus = PioBus.builder().add(0x3f8, 8, new Uart8250(0x3f8, ring)).add(0x608, 4, new PmTimer(0x608))
                .add(0x80, 1, new DiagnosticPort()).build();
    }

    @Benchmark
    public int pmTimerRead() {
        PioDevice d = bus.deviceFor(0x608, 4);
        return d.accepts(0x608, 4, false) ? d.read(0x608, 4) : -1;
    }

    @Benchmark
    public int uartPollAndWrite() {
        PioDevice lsr = bus.deviceFor(0x3fd, 1);
        int status = lsr.read(0x3fd, 1);
        PioDevice thr = bus.deviceFor(0x3f8, 1);
        thr.write(0x3f8, 1, 'x');
        if (ring.size() > 60_000) {
            ring.drain(drain);
        }
        return status;
    }
}
