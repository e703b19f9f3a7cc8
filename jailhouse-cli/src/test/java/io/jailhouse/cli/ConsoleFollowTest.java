package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.daemon.ConsoleRing;
import io.jailhouse.daemon.FakeHypervisor;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.Partitioning;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code console -f} and {@code cell console -f}: following, missed bytes, and how following ends. */
class ConsoleFollowTest {
    @TempDir
    Path tmp;
    RunningDaemon daemon;
    Main main;
    Thread follower;

    @BeforeEach
    void start() throws Exception {
        daemon = RunningDaemon.start(tmp.resolve("run"), Partitioning.STRICT);
        main = new Main(new RunDirectory(tmp.resolve("run")), DaemonProcess.ofThisJvm(), FakeHypervisor::new);
    }

    @AfterEach
    void stop() throws Exception {
        daemon.close();
        if (follower != null) {
            follower.join(Duration.ofSeconds(10));
        }
    }

    /** Runs the command on a thread of its own; {@code out} fills as it prints. */
    Thread runInBackground(StringWriter out, AtomicInteger exit, String... args) {
        return runInBackground(out, out, exit, args);
    }

    Thread runInBackground(StringWriter out, StringWriter err, AtomicInteger exit, String... args) {
        CommandLine cl = Main.commandLine(main);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        follower = Thread.ofPlatform().daemon().start(() -> exit.set(cl.execute(args)));
        return follower;
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Await.until(condition, what);
    }

    @Test
    void followPrintsNewOutputAnnouncesMissedBytesAndEndsWithTheDaemon() throws Exception {
        ConsoleRing console = daemon.fake().console();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        Thread t = runInBackground(out, err, exit, "console", "-f");
        await(() -> out.toString().contains("on CPU 0\n"), "the held output");
        console.write("Created cell \"apic-demo\"\n");
        await(() -> out.toString().contains("Created cell"), "the new line");
        // Overwrite the whole ring and 952 bytes more while the follower waits.
        console.write("#".repeat(ConsoleRing.HYPERVISOR_CAPACITY + 952));
        await(() -> err.toString().equals("<missed 952 bytes of console log>\n"), "the missed-bytes notice on stderr");
        await(() -> out.toString().endsWith("#".repeat(ConsoleRing.HYPERVISOR_CAPACITY)), "the kept bytes");
        daemon.close();
        assertThat(t.join(Duration.ofSeconds(10))).as("follow ended with the daemon").isTrue();
        assertThat(exit).hasValue(0);
        assertThat(out.toString()).isEqualTo("Initializing Jailhouse hypervisor (fake) on CPU 0\n"
                + "Created cell \"apic-demo\"\n"
                + "#".repeat(ConsoleRing.HYPERVISOR_CAPACITY));
    }

    @Test
    void cellConsoleFollowEndsWhenTheCellIsDestroyed() throws Exception {
        assertThat(CliRun.of(main, "cell", "create", RunningDaemon.config("apic-demo.cell").toString()).exit()).isZero();
        ConsoleRing uart = daemon.fake().cellConsole(CellRef.ofName("apic-demo"));
        uart.write("Calibrated APIC frequency\n");
        StringWriter out = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        Thread t = runInBackground(out, exit, "cell", "console", "apic-demo", "--follow");
        await(() -> out.toString().contains("Calibrated"), "the held output");
        uart.write("Timer fired, jitter: 3 us\n");
        await(() -> out.toString().contains("jitter"), "the new output");
        assertThat(CliRun.of(main, "cell", "destroy", "apic-demo").exit()).isZero();
        assertThat(t.join(Duration.ofSeconds(10))).as("follow ended with the cell").isTrue();
        assertThat(exit).hasValue(0);
        assertThat(out.toString()).isEqualTo("Calibrated APIC frequency\nTimer fired, jitter: 3 us\n");
    }

    @Test
    void utf8SplitBetweenReadsIsPrintedWhole() throws Exception {
        assertThat(CliRun.of(main, "cell", "create", RunningDaemon.config("apic-demo.cell").toString()).exit()).isZero();
        ConsoleRing uart = daemon.fake().cellConsole(CellRef.ofName("apic-demo"));
        byte[] micro = "µs\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        uart.write(micro, 0, 1);
        StringWriter out = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        Thread t = runInBackground(out, exit, "cell", "console", "apic-demo", "-f");
        Thread.sleep(300);
        uart.write(micro, 1, micro.length - 1);
        await(() -> out.toString().contains("\n"), "the line");
        daemon.close();
        assertThat(t.join(Duration.ofSeconds(10))).isTrue();
        assertThat(out.toString()).isEqualTo("µs\n");
    }
}
