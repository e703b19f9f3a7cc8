package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.sys.RequiresKvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A cell that never answers (not passive, msg_reply_timeout 0, spinning with
 * interrupts off) holds up nothing but operations on itself: while
 * {@code cell shutdown} waits for it, and says so, the other commands are
 * answered; Ctrl-C ends the waiting command at once and leaves the cell
 * running; {@code --force} is the way out. Skipped loudly without KVM.
 */
@RequiresKvm
class MuteCellKvmTest extends KvmCliTest {
    static final Path ENDLESS_LOOP = Path.of("..", "inmates", "tests", "x86", "endless-loop.bin").toAbsolutePath()
            .normalize();

    /** tiny-demo, but talking (not passive) and waiting for answers forever, as upstream allows. */
    Path muteConfig() throws Exception {
        CellConfig tiny = ConfigFiles.read(RunningDaemon.config("tiny-demo.cell"), CellConfig.class);
        Path file = tmp.resolve("mute.cell");
        ConfigFiles.write(file, tiny.withFlags(tiny.flags() & ~CellConfig.PASSIVE_COMMREG).withMsgReplyTimeout(0));
        return file;
    }

    /** Enables the hypervisor and starts tiny-demo as a cell that never answers. */
    void enableWithAMuteCell() throws Exception {
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        ok("cell", "create", muteConfig().toString());
        ok("cell", "load", "tiny-demo", ENDLESS_LOOP.toString(), "-a", "0xf0000");
        ok("cell", "start", "tiny-demo");
        awaitConsole("tiny-demo", "endless-loop: spinning with interrupts off", 1);
    }

    /** The CLI in a process of its own, as a user runs it, so that it can get a SIGINT. */
    Process cli(Path stderr, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put(RunDirectory.ENVIRONMENT_VARIABLE, run.path().toString());
        return pb.start();
    }

    static String await(Path file, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String s = "";
        while (!s.contains(text)) {
            assertThat(System.nanoTime()).as("\"%s\" in %s; so far: %s", text, file, s).isLessThan(deadline);
            Thread.sleep(50);
            s = Files.readString(file, StandardCharsets.UTF_8);
        }
        return s;
    }

    @Test
    void aMuteCellHoldsUpOnlyItsOwnOperationsAndCtrlCWithdrawsTheWait() throws Exception {
        enableWithAMuteCell();

        Path err = tmp.resolve("shutdown.err");
        Process shutdown = cli(err, "cell", "shutdown", "tiny-demo");
        assertThat(await(err, "waiting for cell")).contains(
                "waiting for cell \"tiny-demo\" to answer the shutdown request; Ctrl-C gives up");
        assertThat(shutdown.isAlive()).isTrue();

        // Meanwhile everything else is answered, another cell's whole lifecycle included.
        assertThat(ok("cell", "list").out()).contains("tiny-demo               running");
        ok("cell", "stats", "tiny-demo");
        ok("console");
        ok("cell", "console", "tiny-demo");
        ok("cell", "create", cfg("apic-demo.cell"));
        ok("cell", "load", "apic-demo", APIC_DEMO.toString(), "-a", "0xf0000");
        ok("cell", "start", "apic-demo");
        awaitConsole("apic-demo", "Timer fired, jitter:", 1);
        fails("cell", "shutdown", "apic-demo"); // it refuses the first, as upstream's apic-demo does
        ok("cell", "shutdown", "apic-demo");
        ok("cell", "destroy", "apic-demo");

        // Ctrl-C: the command ends at once; the cell runs on as it was.
        long interrupted = System.nanoTime();
        new ProcessBuilder("kill", "-INT", Long.toString(shutdown.pid())).start().waitFor();
        assertThat(shutdown.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(System.nanoTime() - interrupted).isLessThan(TimeUnit.SECONDS.toNanos(1));
        assertThat(ok("cell", "list").out()).contains("tiny-demo               running");

        // The operator's way out.
        CliRun forced = ok("cell", "destroy", "--force", "tiny-demo");
        assertThat(forced.err()).isEmpty();
        assertThat(ok("cell", "list").out()).doesNotContain("tiny-demo");
        ok("disable");
    }

    @Test
    void disableWaitingForAMuteCellHoldsUpNoReadAndForceEndsIt() throws Exception {
        enableWithAMuteCell();

        Path err = tmp.resolve("disable.err");
        Process disable = cli(err, "disable");
        await(err, "waiting for cell \"tiny-demo\" to answer the shutdown request");
        assertThat(ok("cell", "list").out()).contains("tiny-demo");
        assertThat(ok("ivshmem", "list").exit()).isZero();
        ok("console");
        new ProcessBuilder("kill", "-INT", Long.toString(disable.pid())).start().waitFor();
        assertThat(disable.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(ok("cell", "list").out()).as("still enabled, the cell still there").contains("tiny-demo");
        ok("disable", "--force");
        assertThat(run.socket()).doesNotExist();
    }
}
