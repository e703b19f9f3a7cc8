package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.daemon.FakeHypervisor;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.protocol.Partitioning;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jailhouse enable}: the background start (a real second JVM, on the
 * fake hypervisor or failing as KVM does today), the foreground mode, and
 * the refusals. Whatever happens, no daemon outlives a test.
 */
class EnableCommandTest {
    @TempDir
    Path tmp;
    RunDirectory run;

    @BeforeEach
    void setUp() {
        run = new RunDirectory(tmp.resolve("run"));
    }

    /** Ends any daemon a test started: they all carry this test's run directory on their command line. */
    @AfterEach
    void noDaemonSurvives() throws Exception {
        List<ProcessHandle> ours = ProcessHandle.current().descendants()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains(run.path().toString())).orElse(false))
                .toList();
        for (ProcessHandle p : ours) {
            p.destroyForcibly();
            p.onExit().get(10, TimeUnit.SECONDS);
        }
        assertThat(ours).as("daemons left running by the test").isEmpty();
    }

    Main main(String mainClass) {
        DaemonProcess spawn = new DaemonProcess(DaemonProcess.ofThisJvm().java(), System.getProperty("java.class.path"),
                mainClass, Duration.ofSeconds(60));
        return new Main(run, spawn, FakeHypervisor::new);
    }

    static String cfg(String file) {
        return RunningDaemon.config(file).toString();
    }

    @Test
    void enableStartsABackgroundDaemonThatDisableEnds() throws Exception {
        Main main = main(FakeJailhoused.class.getName());
        CliRun enable = CliRun.of(main, "enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        assertThat(enable.exit()).as(enable.out() + enable.err()).isZero();
        assertThat(enable.out()).as("notes go to stderr").isEmpty();
        assertThat(enable.err()).isEqualTo("Jailhouse enabled: system configuration \"QEMU-VM\", relaxed partitioning.\n"
                + "Relaxed partitioning: logical CPUs share host CPUs, so cells are not isolated in time from each other"
                + " or from Linux. For development and tests only.\n");
        long pid = run.readPid().orElseThrow();
        ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow();
        assertThat(daemon.parent().map(ProcessHandle::pid)).hasValue(ProcessHandle.current().pid());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(run.path()))).isEqualTo("rwx------");
        assertThat(Files.readString(run.log())).contains("listening on " + run.socket());

        CliRun again = CliRun.of(main, "enable", cfg("qemu-vm.cell"));
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).isEqualTo("JAILHOUSE_ENABLE: Device or resource busy (already enabled: jailhoused " + pid
                + " answers at " + run.socket() + ")\n");

        assertThat(CliRun.of(main, "cell", "create", cfg("apic-demo.cell")).exit()).isZero();
        CliRun list = CliRun.of(main, "cell", "list");
        assertThat(list.out()).contains("apic-demo");
        assertThat(list.out().lines()).as("the table alone: its header, then one row per cell")
                .hasSize(3).allMatch(l -> l.startsWith("ID ") || Character.isDigit(l.charAt(0)));
        assertThat(list.err()).isEqualTo(CellListCommand.RELAXED_NOTE + "\n");
        assertThat(CliRun.of(main, "cell", "list", "--json").err()).isEmpty();

        CliRun disable = CliRun.of(main, "disable");
        assertThat(disable.exit()).as(disable.err()).isZero();
        daemon.onExit().get(20, TimeUnit.SECONDS);
        assertThat(run.socket()).doesNotExist();
        assertThat(run.pidFile()).doesNotExist();
    }

    /** Upstream's QEMU system config as a C source (gcc compiles it), with its physical PCI devices. */
    static final String UPSTREAM_QEMU = Path.of("..", "jailhouse-config", "src", "test", "resources", "c-configs",
            "qemu-x86.c").toAbsolutePath().normalize().toString();

    @Test
    void emulateChoicesAreCheckedAgainstTheSystemConfigBeforeAnyDaemonStarts() {
        Main main = main(FakeJailhoused.class.getName());
        String devices = "(its devices: 00:01.0, 00:02.0, 00:1b.0, 00:1f.0, 00:1f.2, 00:1f.3, 00:1f.7)";
        String[][] refused = {
            {"00:1b.0=sb16", "--emulate 00:1b.0=sb16: unknown model \"sb16\" (models: intel-hda)"},
            {"00:1c.0=intel-hda", "--emulate 00:1c.0=intel-hda: the system config \"QEMU-VM\" lists no PCI device "
                + "00:1c.0 " + devices},
            {"00:03.0=intel-hda", "--emulate 00:03.0=intel-hda: 00:03.0 is a PCI bridge in the system config "
                + "\"QEMU-VM\"; only devices are emulated " + devices},
            {"01:0e.0=intel-hda", "--emulate 01:0e.0=intel-hda: 01:0e.0 is an ivshmem device in the system config "
                + "\"QEMU-VM\"; only devices are emulated " + devices},
            {"intel-hda", "--emulate intel-hda: expected BDF=MODEL, e.g. 00:1b.0=intel-hda"},
            {"00:1b.9=intel-hda", "--emulate 00:1b.9=intel-hda: '00:1b.9' is not a PCI address like 01:0c.0"},
        };
        for (String[] r : refused) {
            CliRun run1 = CliRun.of(main, "enable", UPSTREAM_QEMU, "--emulate", r[0]);
            assertThat(run1.exit()).isEqualTo(1);
            assertThat(run1.err()).isEqualTo("JAILHOUSE_ENABLE: Invalid argument (" + r[1] + ")\n");
        }
        CliRun twice = CliRun.of(main, "enable", UPSTREAM_QEMU, "--emulate", "00:1b.0=intel-hda", "--emulate",
                "0:1b.0=intel-hda");
        assertThat(twice.err()).contains("00:1b.0 is given twice");
        assertThat(run.pidFile()).as("no daemon was started").doesNotExist();
    }

    @Test
    void aMetricsAddressIsCheckedBeforeAnyDaemonStarts() {
        Main main = main(FakeJailhoused.class.getName());
        CliRun r = CliRun.of(main, "enable", cfg("qemu-vm.cell"), "--metrics", "9669");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("JAILHOUSE_ENABLE: Invalid argument (--metrics 9669: expected HOST:PORT, e.g."
                + " 127.0.0.1:9669)\n");
        assertThat(run.pidFile()).as("no daemon was started").doesNotExist();
        assertThat(new Jailhoused.Options(Path.of("sys.cell"), Partitioning.RELAXED, run, List.of(), null,
                io.jailhouse.daemon.MetricsAddress.parse("[::1]:9669")).arguments())
                .as("what a new daemon is given").containsSequence("--metrics", "[::1]:9669");
    }

    @Test
    void sigtermEndsABackgroundDaemonCleanly() throws Exception {
        Main main = main(FakeJailhoused.class.getName());
        assertThat(CliRun.of(main, "enable", cfg("qemu-vm.cell")).exit()).isZero();
        ProcessHandle daemon = ProcessHandle.of(run.readPid().orElseThrow()).orElseThrow();
        assertThat(daemon.destroy()).as("SIGTERM sent").isTrue();
        daemon.onExit().get(20, TimeUnit.SECONDS);
        assertThat(run.socket()).doesNotExist();
        assertThat(run.pidFile()).doesNotExist();
        assertThat(Files.readString(run.log())).contains("shutting down", "ended");
        assertThat(CliRun.of(main, "cell", "list").out()).isEmpty();
    }

    @Test
    void aDaemonThatCannotEnableIsReportedWithItsLogAndLeavesNothing() throws Exception {
        CliRun r = CliRun.of(main(UnavailableJailhoused.class.getName()), "enable", cfg("qemu-vm.cell"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        List<String> lines = r.err().lines().toList();
        assertThat(lines.get(0)).isEqualTo("jailhoused exited with status 1 before answering; the end of " + run.log() + ":");
        assertThat(lines).last().isEqualTo("  JAILHOUSE_ENABLE: No such device (KVM hypervisor not yet available)");
        assertThat(run.socket()).doesNotExist();
        assertThat(run.pidFile()).doesNotExist();
    }

    @Test
    void theLogIsKeptAcrossEnablesAndAFailureShowsOnlyItsOwnRun() throws Exception {
        Main main = main(FakeJailhoused.class.getName());
        assertThat(CliRun.of(main, "enable", cfg("qemu-vm.cell")).exit()).isZero();
        assertThat(CliRun.of(main, "cell", "create", cfg("apic-demo.cell")).exit()).isZero();
        long pid = run.readPid().orElseThrow();
        assertThat(CliRun.of(main, "disable").exit()).isZero();
        ProcessHandle.of(pid).ifPresent(p -> p.onExit().join());
        String first = Files.readString(run.log());
        assertThat(first).containsPattern("Z INFO jailhoused: event created cell \"apic-demo\" \\(id 1\\)")
                .contains(" INFO jailhoused: event destroyed cell \"apic-demo\"");

        CliRun failed = CliRun.of(main(UnavailableJailhoused.class.getName()), "enable", cfg("qemu-vm.cell"));
        assertThat(failed.exit()).isEqualTo(1);
        assertThat(failed.err()).as("the tail of this run only").doesNotContain("listening on")
                .contains("JAILHOUSE_ENABLE: No such device");
        assertThat(Files.readString(run.log())).as("appended, not overwritten").startsWith(first)
                .contains("No such device");
    }

    @Test
    void aLargeLogIsRotatedAtEnable() throws Exception {
        Files.createDirectories(run.path());
        Files.setPosixFilePermissions(run.path(), PosixFilePermissions.fromString("rwx------"));
        Files.write(run.log(), new byte[(int) DaemonProcess.LOG_ROTATE_BYTES + 1]);
        Main main = main(FakeJailhoused.class.getName());
        assertThat(CliRun.of(main, "enable", cfg("qemu-vm.cell")).exit()).isZero();
        assertThat(run.log().resolveSibling("jailhoused.log.1")).hasSize(DaemonProcess.LOG_ROTATE_BYTES + 1);
        assertThat(Files.size(run.log())).isLessThan(1 << 20);
        assertThat(Files.readString(run.log())).contains("listening on");
        ProcessHandle daemon = ProcessHandle.of(run.readPid().orElseThrow()).orElseThrow();
        assertThat(CliRun.of(main, "disable").exit()).isZero();
        daemon.onExit().get(20, TimeUnit.SECONDS);
    }

    @Test
    void theRealDaemonIsStartedFromTheClassPathAndReportsABadConfig() throws Exception {
        // apic-demo is a cell config: the real jailhoused refuses it before it touches KVM.
        CliRun r = CliRun.of(main(Jailhoused.class.getName()), "enable", cfg("apic-demo.cell"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("jailhoused exited with status 1 before answering",
                "JAILHOUSE_ENABLE: Invalid argument (", "apic-demo.cell: this is a cell configuration");
        assertThat(run.socket()).doesNotExist();
        assertThat(run.pidFile()).doesNotExist();
    }

    @Test
    void aDaemonThatDoesNotAnswerInTimeIsStopped() throws Exception {
        // A main class that never binds the socket: it just sleeps.
        DaemonProcess spawn = new DaemonProcess(DaemonProcess.ofThisJvm().java(), System.getProperty("java.class.path"),
                SilentDaemon.class.getName(), Duration.ofSeconds(3));
        CliRun r = CliRun.of(new Main(run, spawn, FakeHypervisor::new), "enable", cfg("qemu-vm.cell"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("silent daemon up").endsWith(
                "JAILHOUSE_ENABLE: Connection timed out (jailhoused did not answer within 3 s and was stopped)\n");
    }

    @Test
    void anUnreadableConfigIsRefusedBeforeAnythingStarts() {
        CliRun r = CliRun.of(main(FakeJailhoused.class.getName()), "enable", "/nonexistent/sys.cell");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("opening /nonexistent/sys.cell: No such file or directory\n");
        assertThat(run.path()).doesNotExist();
    }

    @Test
    void aBadPartitioningIsAUsageError() {
        CliRun r = CliRun.of(main(FakeJailhoused.class.getName()), "enable", cfg("qemu-vm.cell"), "--partitioning", "loose");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Invalid --partitioning", "Usage: jailhouse enable");
    }

    @Test
    void enableRefusesWhileADaemonAnswers() throws Exception {
        try (RunningDaemon d = RunningDaemon.start(run.path(), Partitioning.STRICT)) {
            CliRun r = CliRun.of(main(FakeJailhoused.class.getName()), "enable", cfg("qemu-vm.cell"));
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).startsWith("JAILHOUSE_ENABLE: Device or resource busy (already enabled: jailhoused "
                    + ProcessHandle.current().pid());
            assertThat(d.fake().cellNames()).as("the running daemon is untouched").containsExactly("QEMU-VM");
        }
    }

    @Test
    void foregroundRunsTheDaemonInThisProcessUntilDisabled() throws Exception {
        Main main = main(FakeJailhoused.class.getName());
        AtomicInteger exit = new AtomicInteger(-1);
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cl = Main.commandLine(main);
        cl.setOut(new java.io.PrintWriter(out, true));
        Thread t = Thread.ofPlatform().start(() -> exit.set(cl.execute("enable", "--foreground", cfg("qemu-vm.yaml"))));
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (run.readPid().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(run.readPid()).hasValue(ProcessHandle.current().pid());
            assertThat(CliRun.of(main, "cell", "list").out()).startsWith("ID      Name");
            assertThat(CliRun.of(main, "disable").exit()).isZero();
            assertThat(t.join(Duration.ofSeconds(10))).isTrue();
            assertThat(exit).hasValue(0);
            assertThat(out.toString()).contains("strict partitioning", "listening on " + run.socket());
        } finally {
            if (t.isAlive()) {
                CliRun.of(main, "disable");
                t.join(Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void theDaemonsCommandLineIsAbsoluteAndDetached() {
        DaemonProcess p = new DaemonProcess("/opt/java/bin/java", "target/classes" + File.pathSeparator + "lib/*",
                Jailhoused.class.getName(), Duration.ofSeconds(1));
        List<String> cmd = p.command(new Jailhoused.Options(Path.of("sys.cell"), Partitioning.RELAXED, run));
        String cwd = Path.of("").toAbsolutePath().toString();
        // setsid detaches the daemon from the terminal's session where the host has it.
        List<String> jvm = cmd.get(0).endsWith("/setsid") ? cmd.subList(1, cmd.size()) : cmd;
        List<String> expected = new java.util.ArrayList<>(List.of("/opt/java/bin/java"));
        expected.addAll(DaemonProcess.JVM_OPTIONS);
        expected.addAll(List.of("-cp", cwd + "/target/classes:" + cwd + "/lib/*", "io.jailhouse.daemon.Jailhoused",
                "--config", cwd + "/sys.cell", "--partitioning", "relaxed", "--run-dir", run.path().toString()));
        assertThat(jvm).containsExactlyElementsOf(expected);
        assertThat(DaemonProcess.JVM_OPTIONS).contains("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC");
    }
}
