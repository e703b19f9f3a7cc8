package io.jailhouse.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.device.DiagnosticPort;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PmTimer;
import io.jailhouse.hypervisor.device.TestDevice;
import io.jailhouse.sys.KvmRun;
import io.jailhouse.sys.KvmRunImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The exit dispatch without /dev/kvm: exits written into an ordinary kvm_run page. */
class ExitDispatchTest {
    Arena arena;
    KvmRunImage exit;
    ExitDispatch dispatch;
    final List<long[]> calls = new ArrayList<>();
    boolean completes;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        exit = KvmRunImage.allocate(arena);
        MemorySegment comm = arena.allocate(4096, 4096);
        PioBus pio = PioBus.builder().add(0x608, 4, new PmTimer(0x608)).add(0x80, 1, new DiagnosticPort()).build();
        MmioBus mmio = MmioBus.builder().add(0x101000, 0x1000, new TestDevice(comm)).build();
        dispatch = new ExitDispatch(pio, mmio, new MmioWindowTable(), (code, a, b) -> {
            calls.add(new long[] {code, a, b});
            return 40 + code;
        }, r -> completes, arena.allocate(ExitDispatch.COUNTERS * 8L, 8));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    int serve(KvmRunImage e) {
        return dispatch.serve(e.run());
    }

    @Test
    void portIoGoesToTheBusAndReadsComeBackInThePage() {
        assertThat(serve(exit.pio(0x608, 4, false, 0))).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(serve(exit.pio(0x80, 1, true, 0x12))).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(dispatch.counter(4)).as("vmexits_pio").isEqualTo(2);
        assertThat(dispatch.counter(0)).as("vmexits_total").isEqualTo(2);
    }

    @Test
    void aPortNothingServesFailsTheCpuAndIsRecordedForTheReport() {
        assertThat(serve(exit.pio(0x1234, 2, true, 7))).isEqualTo(ExitDispatch.FAIL_PIO);
        assertThat(dispatch.failPort).isEqualTo(0x1234);
        assertThat(dispatch.failSize).isEqualTo(2);
        assertThat(dispatch.failWrite).isTrue();
        assertThat(dispatch.failDevice).isNull();
        assertThat(CpuFailureReport.fatalLine(ExitDispatch.FAIL_PIO, null, dispatch, 2))
                .isEqualTo("FATAL: Invalid PIO write, port: 1234 size: 2");
    }

    @Test
    void theHypercallPortCallsWithRdiAndRsiAndTheResultIsReadBack() {
        KvmRun r = exit.run();
        r.setSyncedRegister(io.jailhouse.sys.X86Register.RDI, 5);
        r.setSyncedRegister(io.jailhouse.sys.X86Register.RSI, 6);
        assertThat(serve(exit.pio(0x5f0, 4, true, 2))).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(calls).singleElement().satisfies(c -> assertThat(c).containsExactly(2, 5, 6));
        assertThat(serve(exit.pio(0x5f0, 4, false, 0))).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(r.ioData()).isEqualTo(42);
        assertThat(dispatch.counter(3)).as("vmexits_hypercall").isEqualTo(1);
    }

    @Test
    void mmioGoesToWindowsOrTheBusAndRefusalsAreRecorded() {
        assertThat(serve(exit.mmio(0x101ff8, 8, true, 0x55))).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(serve(exit.mmio(0x101ff8, 8, false, 0))).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(exit.run().mmioData()).isEqualTo(0x55);
        assertThat(serve(exit.mmio(0x10000000L, 4, false, 0))).isEqualTo(ExitDispatch.FAIL_MMIO);
        assertThat(dispatch.failAddress).isEqualTo(0x10000000L);
        assertThat(dispatch.counter(1)).as("vmexits_mmio").isEqualTo(3);
    }

    @Test
    void theOtherExitsHaveTheirVerdicts() {
        assertThat(serve(exit.exit(KvmRun.EXIT_SHUTDOWN))).isEqualTo(ExitDispatch.FAIL_SHUTDOWN);
        assertThat(serve(exit.exit(KvmRun.EXIT_HLT))).isEqualTo(ExitDispatch.FAIL_EXIT);
        assertThat(dispatch.failCode).isEqualTo(KvmRun.EXIT_HLT);
        long before = dispatch.counter(0);
        assertThat(serve(exit.exit(KvmRun.EXIT_INTR))).as("a kick").isEqualTo(ExitDispatch.CONTINUE);
        assertThat(dispatch.counter(0)).as("a kick is not the guest's exit").isEqualTo(before);
        assertThat(serve(exit.exit(KvmRun.EXIT_X86_WRMSR))).isEqualTo(ExitDispatch.FAIL_MSR_WRITE);
        assertThat(dispatch.counter(10)).as("vmexits_msr_other").isEqualTo(1);
    }

    @Test
    void anInternalErrorIsServedOnlyWhenTheInstructionCanBeCompleted() {
        exit.exit(KvmRun.EXIT_INTERNAL_ERROR);
        exit.run().page().set(java.lang.foreign.ValueLayout.JAVA_INT, 32, KvmRun.INTERNAL_ERROR_EMULATION);
        assertThat(serve(exit)).isEqualTo(ExitDispatch.FAIL_INTERNAL);
        completes = true;
        assertThat(serve(exit)).isEqualTo(ExitDispatch.CONTINUE);
        assertThat(dispatch.counter(8)).as("vmexits_xsetbv").isEqualTo(1);
    }
}
