package io.jailhouse.cli.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.sys.RequiresKvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * linux-loader against the C floor VMM (bench/floor/kvm-floor, two CPUs
 * starting at 0): the boot parameters `cell linux` writes for linux-demo,
 * and a stand-in bzImage (inmates/tests/x86/fake-bzimage.S) whose 64-bit
 * entry prints what it was handed. The loader must enter it at
 * pref_address + 0x200 with RSI at the zero page, after filling
 * setup_data's num_cpus, cpu_ids and pm_timer_address from the comm region
 * and the CPUs, leaving the tool's standard_ioapic and UART flags as they
 * were. Skipped loudly without KVM.
 */
@RequiresKvm
class LinuxLoaderFloorKvmTest {
    static final Path TOP = Path.of("..").toAbsolutePath().normalize();
    static final Path FLOOR = TOP.resolve("bench/floor/kvm-floor");
    static final Path LOADER = TOP.resolve("inmates/tools/x86/linux-loader.bin");
    static final Path FAKE_KERNEL = TOP.resolve("inmates/tests/x86/fake-bzImage");

    @Test
    void theLoaderCompletesSetupDataAndEntersTheKernelWithTheZeroPage(@TempDir Path tmp) throws Exception {
        assertThat(FLOOR).as("built by the inmates module's floor tests").isRegularFile();
        assertThat(LOADER).as("built by the inmates module").isRegularFile();
        assertThat(FAKE_KERNEL).as("built by the inmates module").isRegularFile();

        BzImage kernel = BzImage.parse(FAKE_KERNEL.toString(), Files.readAllBytes(FAKE_KERNEL));
        byte[] cmdline = "console=ttyS0".getBytes(StandardCharsets.US_ASCII);
        LinuxBootLayout layout = LinuxBootLayout.of(LinuxBootParamsTest.linuxDemo(), kernel, 0, OptionalInt.empty(),
                cmdline.length);
        Path params = tmp.resolve("params.bin");
        Files.write(params, LinuxBootParams.encode(kernel, layout, cmdline));

        // As cell linux loads them: the loader, the kernel, the parameters last (over the loader's gap).
        Process floor = new ProcessBuilder(List.of(FLOOR.toString(), "--reset", "0", "--cpus", "2",
                "--until", "fake-kernel: done", "--timeout", "120",
                "--load", FAKE_KERNEL.toString(), "--load-addr", "0x" + Long.toHexString(layout.kernelAddress()),
                "--load", params.toString(), "--load-addr", "0x1000",
                LOADER.toString(), "0")).redirectError(tmp.resolve("floor.err").toFile()).start();
        floor.getOutputStream().close();
        String out = new String(floor.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1).replace("\r", "");
        assertThat(floor.waitFor(150, TimeUnit.SECONDS)).isTrue();
        assertThat(floor.exitValue()).as(out + Files.readString(tmp.resolve("floor.err"))).isZero();
        // kvm-floor's CPUs have APIC IDs 0 and 1, in the order they checked in (either is right: Linux finds its
        // boot CPU among them), and its PM timer is at 0x608; linux-demo has the IOAPIC, COM1 and COM2.
        assertThat(out).containsPattern(
                "fake-kernel: rsi 1000 cpus 0002 ids (00 01|01 00) pm-timer 0608 ioapic 01 uarts 03 tsc-khz-set 1\n");
    }
}
