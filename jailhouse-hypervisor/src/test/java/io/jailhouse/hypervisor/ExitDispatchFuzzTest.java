package io.jailhouse.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.device.DiagnosticPort;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PmTimer;
import io.jailhouse.hypervisor.device.TestDevice;
import io.jailhouse.hypervisor.device.Uart8250;
import io.jailhouse.sys.KvmRun;
import io.jailhouse.sys.KvmRunImage;
import io.jailhouse.sys.X86Register;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Fuzz target: sequences of exits as a guest can cause them (port and MMIO
 * accesses of any size and value, the hypercall port with any RAX, RDI and
 * RSI, MSR exits, exit reasons KVM never gives) through the real exit
 * dispatch with a UART, the PM timer, the diagnostic port and the test
 * device. Every exit gets a verdict; nothing throws; counters add up.
 */
@Tag("fuzz")
class ExitDispatchFuzzTest {
    private static final Set<Integer> VERDICTS = Set.of(ExitDispatch.CONTINUE, ExitDispatch.FAIL_PIO,
            ExitDispatch.FAIL_MMIO, ExitDispatch.FAIL_SHUTDOWN, ExitDispatch.FAIL_INTERNAL, ExitDispatch.FAIL_ENTRY,
            ExitDispatch.FAIL_EXIT, ExitDispatch.FAIL_MSR_WRITE, ExitDispatch.FAIL_MSR_READ);

    /** One exit: what kind, where, how wide, which value, and the hypercall arguments. */
    record Exit(int kind, long where, int size, boolean write, long value, long rdi, long rsi) {
    }

    private Arena arena;
    private KvmRunImage image;
    private ExitDispatch dispatch;
    private long hypercalls;
    private long lastRdi;
    private long lastRsi;
    private long uartBytes;

    @BeforeProperty
    void setUp() {
        arena = Arena.ofShared();
        image = KvmRunImage.allocate(arena);
        PioBus pio = PioBus.builder().add(0x3f8, Uart8250.PORTS, new Uart8250(0x3f8, b -> uartBytes++))
                .add(0x608, 4, new PmTimer(0x608)).add(0x80, 1, new DiagnosticPort()).build();
        MmioBus mmio = MmioBus.builder().add(0xff000000L, 0x1000, new TestDevice(arena.allocate(4096, 4096))).build();
        dispatch = new ExitDispatch(pio, mmio, new MmioWindowTable(), (code, a, b) -> {
            hypercalls++;
            lastRdi = a;
            lastRsi = b;
            return code;
        }, r -> false, arena.allocate(ExitDispatch.COUNTERS * 8L, 8));
    }

    @AfterProperty
    void tearDown() {
        arena.close();
    }

    @Provide
    Arbitrary<List<Exit>> exits() {
        Arbitrary<Long> values = Arbitraries.oneOf(Arbitraries.longs(),
                Arbitraries.of(0L, 1L, -1L, 0x7fffffffL, 0x80000000L, 0xffffffffL, Long.MIN_VALUE, Long.MAX_VALUE));
        Arbitrary<Long> where = Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.of(0x3f8L, 0x3f9L, 0x3fdL, 0x3ffL,
                0x400L, 0x608L, 0x60bL, 0x80L, 0x5f0L, 0xcf8L, 0xff000000L, 0xff000ffcL, 0xff001000L, 0xfffL));
        Arbitrary<Integer> sizes = Arbitraries.oneOf(Arbitraries.of(1, 2, 4, 8), Arbitraries.integers());
        Arbitrary<Exit> exit = Combinators.combine(Arbitraries.integers().between(0, 12), where, sizes,
                Arbitraries.of(true, false), values, values, values).as(Exit::new);
        return exit.list().ofMinSize(1).ofMaxSize(40);
    }

    @Property(edgeCases = net.jqwik.api.EdgeCasesMode.NONE) // edge values are in the inputs; generated ones grow with the tries
    void everyExitGetsAVerdictAndTheCountersAddUp(@ForAll("exits") List<Exit> exits) {
        long total = dispatch.counter(0);
        long counted = 0;
        for (Exit e : exits) {
            KvmRun r = image.run();
            switch (e.kind()) {
                case 0, 1, 2, 3 -> image.pio((int) e.where(), e.size(), e.write(), (int) e.value());
                case 4 -> { // the hypercall port, as guests use it
                    image.pio(Hypercall.PORT, 4, e.write(), (int) e.value());
                    r.setSyncedRegister(X86Register.RDI, e.rdi());
                    r.setSyncedRegister(X86Register.RSI, e.rsi());
                }
                case 5, 6, 7, 8 -> image.mmio(e.where(), e.size(), e.write(), e.value());
                case 9 -> image.exit(e.write() ? KvmRun.EXIT_X86_WRMSR : KvmRun.EXIT_X86_RDMSR);
                case 10 -> image.exit(KvmRun.EXIT_INTR);
                default -> image.exit((int) e.value()); // any reason at all
            }
            long before = hypercalls;
            int verdict = dispatch.serve(r);
            assertThat(VERDICTS).as("verdict of %s", e).contains(verdict);
            if (e.kind() == 4 && e.write()) {
                assertThat(hypercalls).isEqualTo(before + 1);
                assertThat(lastRdi).isEqualTo(e.rdi());
                assertThat(lastRsi).isEqualTo(e.rsi());
            }
            if (r.exitReason() != KvmRun.EXIT_INTR) {
                counted++;
            }
        }
        assertThat(dispatch.counter(0) - total).as("vmexits_total").isEqualTo(counted);
    }
}
