package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.daemon.HypervisorFactory;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.sys.RequiresKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the CLI tests on the real /dev/kvm share: the daemon in its own JVM
 * with a run directory of the test's, the check that no daemon, socket or
 * VM survives a test, and polling a cell's console for its output.
 */
abstract class KvmCliTest {
    static final Path DEMOS = Path.of("..", "inmates", "demos", "x86").toAbsolutePath().normalize();
    static final Path TINY_DEMO = DEMOS.resolve("tiny-demo.bin");
    static final Path APIC_DEMO = DEMOS.resolve("apic-demo.bin");
    static final Path PCI_DEMO = DEMOS.resolve("pci-demo.bin");

    @TempDir
    Path tmp;
    RunDirectory run;
    Main main;

    @BeforeAll
    static void imagesAreBuilt() {
        assertThat(TINY_DEMO).as("built by the inmates module").isRegularFile();
        assertThat(APIC_DEMO).as("built by the inmates module").isRegularFile();
        assertThat(PCI_DEMO).as("built by the inmates module").isRegularFile();
    }

    @BeforeEach
    void setUp() {
        run = new RunDirectory(tmp.resolve("run"));
        DaemonProcess spawn = new DaemonProcess(DaemonProcess.ofThisJvm().java(), System.getProperty("java.class.path"),
                Jailhoused.class.getName(), Duration.ofSeconds(60));
        main = new Main(run, spawn, HypervisorFactory.KVM);
    }

    @AfterEach
    void nothingSurvives() throws Exception {
        if (run.readPid().isPresent()) {
            // A failed test may leave a cell that never answers: disable without asking the cells, and if even
            // that does not end the daemon, stop it.
            Thread disable = Thread.ofVirtual().start(() -> CliRun.of(main, "disable", "--force"));
            disable.join(java.time.Duration.ofSeconds(30));
            if (disable.isAlive()) {
                run.readPid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy));
                disable.join(java.time.Duration.ofSeconds(30));
            }
        }
        // the daemon, and every cell process (their sockets are in the run directory)
        String dir = run.path().toString();
        List<ProcessHandle> ours = ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> java.util.Arrays.stream(a)
                        .anyMatch(x -> x.equals(dir) || x.startsWith(dir + "/"))).orElse(false))
                .toList();
        List<ProcessHandle> survivors = new java.util.ArrayList<>();
        for (ProcessHandle p : ours) {
            try {
                p.onExit().get(20, TimeUnit.SECONDS); // a disabled daemon is on its way out
            } catch (java.util.concurrent.TimeoutException e) {
                survivors.add(p);
                p.destroyForcibly();
                p.onExit().get(10, TimeUnit.SECONDS);
            }
        }
        assertThat(survivors).as("daemons and cell processes left running by the test").isEmpty();
        assertThat(run.socket()).doesNotExist();
    }

    CliRun ok(String... args) {
        CliRun r = CliRun.of(main, args);
        assertThat(r.exit()).as("jailhouse " + String.join(" ", args) + "\n" + r.out() + r.err()).isZero();
        return r;
    }

    CliRun fails(String... args) {
        CliRun r = CliRun.of(main, args);
        assertThat(r.exit()).as("jailhouse " + String.join(" ", args) + " must fail\n" + r.out()).isEqualTo(1);
        return r;
    }

    static String cfg(String file) {
        return RunningDaemon.config(file).toString();
    }

    /** Polls {@code cell console NAME} until {@code text} appears {@code times} times. */
    String awaitConsole(String cell, String text, int times) throws InterruptedException {
        return awaitConsole(cell, text, times, Duration.ofSeconds(120));
    }

    /** As {@link #awaitConsole(String, String, int)}, waiting at most {@code limit}. */
    String awaitConsole(String cell, String text, int times, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        String out = "";
        while (out.split(Pattern.quote(text), -1).length - 1 < times) {
            assertThat(System.nanoTime()).as("\"" + text + "\" x" + times + " from " + cell + " in time; so far:\n"
                    + out + "\nhypervisor console:\n" + CliRun.of(main, "console").out()).isLessThan(deadline);
            Thread.sleep(100);
            out = ok("cell", "console", cell).out();
        }
        return out;
    }
}
