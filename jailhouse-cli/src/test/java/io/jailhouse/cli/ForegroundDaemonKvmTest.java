package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.protocol.RunDirectory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code enable --foreground}, as a service manager runs it: the command
 * becomes the daemon (same pid, same streams) on the daemon's JVM options,
 * not the CLI's.
 */
class ForegroundDaemonKvmTest extends KvmCliTest {
    /** A JVM option only the CLI process has: it must be gone once the daemon runs in its place. */
    private static final String CLI_ONLY = "-Djailhouse.test.cli-process=yes";

    @Test
    void theCommandBecomesTheDaemonOnItsOwnOptions() throws Exception {
        Path output = tmp.resolve("foreground.out");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", CLI_ONLY, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "enable", ConfigCommandsTest.cfg("qemu-vm.cell"), "--partitioning", "relaxed",
                "--foreground"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().put(RunDirectory.ENVIRONMENT_VARIABLE, run.path().toString());
        // as systemd's Type=notify runs it: READY=1 from the daemon's pid once it answers, STOPPING=1 at its end
        Path notified = tmp.resolve("notified");
        Path notify = tmp.resolve("notify.sock");
        Process listener = io.jailhouse.daemon.ServiceNotifierTest.listener(notify.toString(), notified);
        pb.environment().put("NOTIFY_SOCKET", notify.toString());
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!run.readPid().isPresent() || !Files.exists(run.socket())
                    || CliRun.of(main, "cell", "list").out().isEmpty()) {
                assertThat(p.isAlive()).as("the foreground daemon ended: %s", Files.readString(output)).isTrue();
                assertThat(System.nanoTime()).as("the daemon answers").isLessThan(deadline);
                p.waitFor(50, TimeUnit.MILLISECONDS);
            }
            assertThat(run.readPid().orElseThrow()).isEqualTo(p.pid());
            List<String> args = Arrays.asList(new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()),
                    "cmdline")), StandardCharsets.UTF_8).split("\0"));
            assertThat(args).contains("io.jailhouse.daemon.Jailhoused").doesNotContain(CLI_ONLY, Main.class.getName())
                    .containsAll(DaemonProcess.JVM_OPTIONS);
            assertThat(ok("disable").exit()).isZero();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            assertThat(Files.readString(output)).contains("listening on " + run.socket());
            assertThat(listener.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(notified)).startsWith("READY=1\nMAINPID=" + p.pid() + "\nSTATUS=enabled on "
                    + "qemu-vm.cell, 1 cells\n|").endsWith("|STOPPING=1\n");
        } finally {
            listener.destroyForcibly();
            p.destroyForcibly();
        }
    }
}
