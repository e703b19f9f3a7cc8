package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.daemon.FakeHypervisor;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cell commands against a daemon in this JVM on the fake hypervisor. */
class CellCommandsTest {
    @TempDir
    Path tmp;
    RunningDaemon daemon;
    Main main;

    @BeforeEach
    void start() throws Exception {
        daemon = RunningDaemon.start(tmp.resolve("run"), Partitioning.STRICT);
        main = new Main(new RunDirectory(tmp.resolve("run")), DaemonProcess.ofThisJvm(), FakeHypervisor::new);
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    CliRun run(String... args) {
        return CliRun.of(main, args);
    }

    static String cfg(String file) {
        return RunningDaemon.config(file).toString();
    }

    FakeHypervisor.FakeCell cell(String name) throws Exception {
        return daemon.fake().find(CellRef.ofName(name));
    }

    static void assertOk(CliRun r) {
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.err()).isEmpty();
    }

    static void assertFails(CliRun r, String errLine) {
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo(errLine + "\n");
    }

    @Test
    void theWalkthroughsCellCommandsPrintNothingOnSuccess(@TempDir Path files) throws Exception {
        Path bin = files.resolve("apic-demo.bin");
        Files.write(bin, new byte[] {(byte) 0xea, 0x00, 0x00});
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        CliRun load = run("cell", "load", "apic-demo", bin.toString(), "-a", "0xf0000");
        assertOk(load);
        assertThat(load.out()).isEmpty();
        assertThat(cell("apic-demo").images()).singleElement().satisfies(i -> {
            assertThat(i.address()).isEqualTo(0xf0000);
            assertThat(i.data()).containsExactly(0xea, 0x00, 0x00);
            assertThat(i.source()).isEqualTo(bin.toString());
        });
        assertOk(run("cell", "start", "apic-demo"));
        assertThat(cell("apic-demo").state()).isEqualTo(CellState.RUNNING);
        assertOk(run("cell", "shutdown", "1"));
        assertThat(cell("apic-demo").state()).isEqualTo(CellState.SHUT_DOWN);
        assertOk(run("cell", "destroy", "--name", "apic-demo"));
        assertThat(daemon.fake().cellNames()).containsExactly("QEMU-VM");
    }

    @Test
    void cellCreateTakesEveryConfigForm(@TempDir Path files) throws Exception {
        assertOk(run("cell", "create", cfg("tiny-demo.yaml")));
        Path json = files.resolve("apic.json");
        assertOk(run("config", "convert", cfg("apic-demo.cell"), json.toString()));
        assertOk(run("cell", "create", json.toString()));
        assertThat(daemon.fake().cellNames()).containsExactly("QEMU-VM", "tiny-demo", "apic-demo");
    }

    @Test
    void errorsAreUpstreamsIoctlNameStrerrorAndTheDaemonsDetail() {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertFails(run("cell", "create", cfg("apic-demo.cell")),
                "JAILHOUSE_CELL_CREATE: File exists (a cell named \"apic-demo\" exists (id 1))");
        assertFails(run("cell", "start", "nope"), "JAILHOUSE_CELL_START: No such file or directory (no cell named \"nope\")");
        assertFails(run("cell", "destroy", "5"), "JAILHOUSE_CELL_DESTROY: No such file or directory (no cell with id 5)");
        assertFails(run("cell", "shutdown", "0x7"), "JAILHOUSE_CELL_LOAD: No such file or directory (no cell with id 7)");
        assertFails(run("cell", "load", "nope", "-s", "x"), "JAILHOUSE_CELL_LOAD: No such file or directory (no cell named \"nope\")");
        assertFails(run("cell", "load", "apic-demo", "-s", "x", "-a", "0x100000"),
                "JAILHOUSE_CELL_LOAD: Invalid argument (image string \"x\" (2 bytes at 0x100000) is not inside a loadable region)");
        assertOk(run("cell", "create", cfg("pci-demo.cell")));
        assertFails(run("cell", "create", cfg("tiny-demo.cell")),
                "JAILHOUSE_CELL_CREATE: Device or resource busy (CPU 2 is not the root cell's)");
        assertThat(run("cell", "create", cfg("qemu-vm.cell")).err())
                .startsWith("JAILHOUSE_CELL_CREATE: Invalid argument (").contains("this is a system configuration");
    }

    @Test
    void aRefusedShutdownIsEpermAndTheSecondTrySucceeds() throws Exception {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertOk(run("cell", "start", "apic-demo"));
        daemon.fake().refusals = 1;
        assertFails(run("cell", "shutdown", "apic-demo"),
                "JAILHOUSE_CELL_LOAD: Operation not permitted (cell \"apic-demo\" refused the request)");
        assertOk(run("cell", "shutdown", "apic-demo"));
    }

    @Test
    void startWarningsGoToStderr() {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        daemon.fake().startWarnings = List.of("no loaded image covers the reset address 0xffff0");
        CliRun r = run("cell", "start", "apic-demo");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("no loaded image covers the reset address 0xffff0\n");
    }

    @Test
    void unreadableFilesAreOpeningErrors(@TempDir Path files) throws Exception {
        assertFails(run("cell", "create", "/nonexistent/x.cell"), "opening /nonexistent/x.cell: No such file or directory");
        assertFails(run("cell", "create", files.toString()), "opening " + files + ": Is a directory");
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertFails(run("cell", "load", "apic-demo", "-s", "ok", "/nonexistent.bin", "-a", "0"),
                "opening /nonexistent.bin: No such file or directory");
        assertThat(cell("apic-demo").images()).as("nothing was loaded").isEmpty();
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void devicesAndFifosAreRefusedBeforeTheyAreRead(@TempDir Path files) throws Exception {
        Path zero = files.resolve("z.cell");
        java.nio.file.Files.createSymbolicLink(zero, Path.of("/dev/zero"));
        for (CliRun r : List.of(run("cell", "create", zero.toString()), run("config", "check", zero.toString()))) {
            assertThat(r.exit()).as(r.err()).isNotZero();
            assertThat(r.err()).contains("z.cell", "not a regular file");
        }
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertFails(run("cell", "load", "apic-demo", zero.toString(), "-a", "0"),
                "opening " + zero + ": not a regular file (an image is loaded from a file)");
        assertThat(cell("apic-demo").images()).as("nothing was loaded").isEmpty();
    }

    @Test
    void loadTakesSeveralImagesAndStringsWithTheirNulInOrder(@TempDir Path files) throws Exception {
        Path a = Files.write(files.resolve("a.bin"), new byte[] {1, 2});
        Path b = Files.write(files.resolve("b.bin"), new byte[] {3});
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertOk(run("cell", "load", "--name", "apic-demo", a.toString(), "-a", "0x1000", "-s", "cmdline=x",
                "--address", "010", b.toString(), "--string", "", "-a", "4096"));
        List<LoadImage> images = cell("apic-demo").images();
        assertThat(images).extracting(LoadImage::source).containsExactly(a.toString(), "string \"cmdline=x\"",
                b.toString(), "string \"\"");
        assertThat(images).extracting(LoadImage::address).containsExactly(0x1000L, 8L, 0L, 4096L);
        assertThat(images.get(1).data()).isEqualTo("cmdline=x\0".getBytes());
        assertThat(images.get(3).data()).containsExactly(0);
        assertThat(images.get(2).data()).containsExactly(3);
    }

    @Test
    void loadArgumentErrorsPrintTheUsageAndExit1() {
        for (String[] args : new String[][] {{"cell", "load"}, {"cell", "load", "apic-demo"},
            {"cell", "load", "apic-demo", "x.bin", "-a"}, {"cell", "load", "apic-demo", "-s"},
            {"cell", "load", "--name"}, {"cell", "load", "apic-demo", "x.bin", "-a", "0xzz"},
            {"cell", "load", "apic-demo", "-a", "0", "x.bin"}}) {
            CliRun r = run(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(r.err()).as(String.join(" ", args)).contains("Usage: jailhouse cell load { ID | [--name] NAME }");
        }
    }

    @Test
    void cellArgumentErrorsPrintTheUsageAndExit1() {
        for (String[] args : new String[][] {{"cell", "start"}, {"cell", "destroy", "1", "2"},
            {"cell", "shutdown", "--name"}, {"cell", "start", "--name", "a", "b"}, {"cell", "stats"}}) {
            CliRun r = run(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(r.err()).as(String.join(" ", args)).contains("Usage: jailhouse cell");
        }
    }

    @Test
    void cellListIsUpstreamsTableByteForByte() throws Exception {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertOk(run("cell", "create", cfg("pci-demo.cell")));
        daemon.fake().state("apic-demo", CellState.RUNNING_LOCKED);
        daemon.fake().state("pci-demo", CellState.FAILED, 2);
        CliRun r = run("cell", "list");
        assertOk(r);
        // The spec's example with the blanks printf leaves after the last column.
        String expected = pad("ID      Name                    State             Assigned CPUs           Failed CPUs")
                + pad("0       QEMU-VM                 running           0-1")
                + pad("1       apic-demo               running/locked    3")
                + pad("2       pci-demo                failed            2                       2");
        assertThat(r.out()).isEqualTo(expected);
    }

    /** A line as printf("%-8s%-24s%-18s%-24s%-24s\n") prints it: 98 characters and a newline. */
    static String pad(String line) {
        return line + " ".repeat(98 - line.length()) + "\n";
    }

    @Test
    void cellListJson() {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        CliRun r = run("cell", "list", "--json");
        assertOk(r);
        assertThat(r.out()).contains("\"enabled\" : true", "\"partitioning\" : \"strict\"", "\"name\" : \"apic-demo\"",
                "\"state\" : \"shut down\"", "\"assigned_cpus\" : [ 3 ]");
    }

    @Test
    void cellListRowsComeInTheDaemonsOrderAndIdsAreReused() {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertOk(run("cell", "create", cfg("pci-demo.cell")));
        assertOk(run("cell", "destroy", "apic-demo"));
        assertOk(run("cell", "create", cfg("ivshmem-demo.cell")));
        List<String> ids = run("cell", "list").out().lines().skip(1).map(l -> l.substring(0, 8).strip()).toList();
        assertThat(ids).containsExactly("0", "1", "2");
        assertThat(run("cell", "list").out().lines().toList().get(2)).startsWith("1       ivshmem-demo");
    }

    @Test
    void cellStatsShowsUpstreamsCountersSummedAndPerCpu() throws Exception {
        assertOk(run("cell", "create", cfg("smp-demo.cell")));
        daemon.fake().count("smp-demo", 1, "vmexits_total", 12);
        daemon.fake().count("smp-demo", 3, "vmexits_total", 30);
        daemon.fake().count("smp-demo", 3, "vmexits_pio", 25);
        CliRun r = run("cell", "stats", "smp-demo");
        assertOk(r);
        List<String> lines = r.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("Statistics for cell \"smp-demo\" (id 1)");
        assertThat(lines.get(2)).isEqualTo(
                "COUNTER                              SUM         CPU 1         CPU 2         CPU 3");
        assertThat(lines.get(3)).isEqualTo(
                "vmexits_total                         42            12             0            30");
        assertThat(lines.get(7)).startsWith("vmexits_pio                           25             0             0            25");
        assertThat(lines).hasSize(3 + 12);
        assertThat(lines.subList(3, 15)).extracting(l -> l.split(" ")[0]).containsExactlyElementsOf(
                io.jailhouse.protocol.CellStatistics.NAMES);
        CliRun json = run("cell", "stats", "--json", "1");
        assertOk(json);
        assertThat(json.out()).contains("\"vmexits_total\" : 42", "\"cpu\" : 3");
        assertFails(run("cell", "stats", "nope"), "read(statistics): No such file or directory (no cell named \"nope\")");
    }

    @Test
    void cellStatsOfTheRootCellAnswersByIdAndNameWithoutCountersAndSaysWhyOnStderr() {
        for (String ref : new String[] {"0", "QEMU-VM"}) {
            CliRun r = run("cell", "stats", ref);
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).isEqualTo("Statistics for cell \"QEMU-VM\" (id 0)\n");
            assertThat(r.err()).isEqualTo("Cell \"QEMU-VM\" has no statistics: "
                    + io.jailhouse.protocol.CellStatistics.ROOT_NOTE + ".\n");
        }
        CliRun json = run("cell", "stats", "--json", "0");
        assertThat(json.exit()).isZero();
        assertThat(json.out()).contains("\"id\" : 0", "\"name\" : \"QEMU-VM\"", "\"total\" : { }",
                "\"note\" : \"the root cell is the host Linux itself");
    }

    @Test
    void consolePrintsWhatTheHypervisorConsoleHolds() {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        CliRun r = run("console");
        assertOk(r);
        assertThat(r.out()).isEqualTo("Initializing Jailhouse hypervisor (fake) on CPU 0\nCreated cell \"apic-demo\"\n");
    }

    @Test
    void cellConsolePrintsTheCellsUartLog() throws Exception {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        daemon.fake().cellConsole(CellRef.ofName("apic-demo")).write("Calibrated APIC frequency: 1000 kHz\n");
        CliRun r = run("cell", "console", "apic-demo");
        assertOk(r);
        assertThat(r.out()).isEqualTo("Calibrated APIC frequency: 1000 kHz\n");
        assertFails(run("cell", "console", "nope"), "read(cell console): No such file or directory (no cell named \"nope\")");
    }

    @Test
    void disableDestroysEverythingAndTheDaemonIsGoneWhenItReturns() throws Exception {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        CliRun r = run("disable");
        assertOk(r);
        assertThat(r.out()).isEmpty();
        assertThat(daemon.fake().cellNames()).containsExactly("QEMU-VM");
        assertThat(daemon.fake().closeCount()).isEqualTo(1);
        assertThat(daemon.socket()).doesNotExist();
        assertThat(daemon.runDirectory().pidFile()).doesNotExist();
        assertThat(run("cell", "list").out()).isEmpty();
    }

    @Test
    void aRefusedDisableIsEpermAndCanBeRepeated() {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertOk(run("cell", "start", "apic-demo"));
        daemon.fake().refusals = 1;
        assertFails(run("disable"), "JAILHOUSE_DISABLE: Operation not permitted (cell \"apic-demo\" refused the request)");
        assertOk(run("disable"));
    }

    @Test
    void cellLinuxCreatesLoadsLoaderKernelInitrdAndParametersAndStarts(@TempDir Path files) throws Exception {
        Path kernel = files.resolve("bzImage");
        Files.write(kernel, io.jailhouse.cli.linux.LinuxBootParamsTest.bzImage(0x020f, 1));
        Path initrd = files.resolve("initramfs.cpio");
        Files.write(initrd, new byte[5000]);
        String home = System.setProperty("jailhouse.home", Path.of("..").toAbsolutePath().normalize().toString());
        try {
            CliRun r = run("cell", "linux", cfg("linux-demo.cell"), kernel.toString(), "-i", initrd.toString(),
                    "-c", "console=ttyS0");
            assertOk(r);
            var cell = cell("linux-demo");
            assertThat(cell.images()).extracting(io.jailhouse.protocol.LoadImage::address)
                    .containsExactly(0L, 0x1000000L - 28 * 512, 0x1a00000L, 0x1000L);
            assertThat(cell.images().get(0).data()).hasSize(0x10000);
            assertThat(cell.images().get(3).data()).hasSize(0x112c + "console=ttyS0".length() + 1);

            // -w only writes the parameters and tells the commands; the same bytes.
            Path params = files.resolve("params.bin");
            CliRun w = run("cell", "linux", cfg("linux-demo.cell"), kernel.toString(), "-i", initrd.toString(),
                    "-c", "console=ttyS0", "-w", params.toString());
            assertThat(w.exit()).as(w.err()).isZero();
            assertThat(Files.readAllBytes(params)).isEqualTo(cell.images().get(3).data());
            assertThat(w.out()).contains("jailhouse cell create " + cfg("linux-demo.cell"))
                    .contains(" -a 0x0 " + kernel + " -a 0xffc800 " + initrd + " -a 0x1a00000 " + params + " -a 0x1000")
                    .endsWith("jailhouse cell start linux-demo\n");
        } finally {
            if (home == null) {
                System.clearProperty("jailhouse.home");
            } else {
                System.setProperty("jailhouse.home", home);
            }
        }
    }

    @Test
    void cellLinuxRefusesACellWhoseCpusDoNotStartAtZeroAndCreatesNothing(@TempDir Path files) throws Exception {
        Path kernel = files.resolve("bzImage");
        Files.write(kernel, io.jailhouse.cli.linux.LinuxBootParamsTest.bzImage(0x020f, 1));
        assertFails(run("cell", "linux", cfg("apic-demo.cell"), kernel.toString()),
                "cell linux: cell \"apic-demo\": cpu_reset_address is 0xffff0; Linux boots in a cell whose CPUs start"
                        + " at 0, where the loader goes");
        assertThat(daemon.fake().cellNames()).containsExactly("QEMU-VM");
        Path notKernel = files.resolve("notes.txt");
        Files.writeString(notKernel, "x".repeat(1000));
        assertFails(run("cell", "linux", cfg("linux-demo.cell"), notKernel.toString()),
                "cell linux: " + notKernel + ": not a Linux bzImage (no boot flag 0xaa55 at 0x1fe and \"HdrS\" at 0x202)");
    }

    @Test
    void statusShowsTheHypervisorItsPoolsAndItsCellsByState() throws Exception {
        assertOk(run("cell", "create", cfg("apic-demo.cell")));
        assertOk(run("cell", "create", cfg("tiny-demo.cell")));
        assertOk(run("cell", "start", "apic-demo"));
        CliRun r = run("status");
        assertOk(r);
        assertThat(r.out()).startsWith("Hypervisor:   enabled, Jailhouse 0.12, system configuration \"QEMU-VM\", strict"
                + " partitioning\nUptime:       0:00:")
                .contains("\nMemory pool:  512/", "\nRemap pool:   2/64 (3.1 %)\n",
                        "\nCells:        3 (2 running, 1 shut down)\n", "\nSupervisor:   pid ",
                        "\n1       apic-demo               running           -         -\n",
                        "\n2       tiny-demo               shut down         -         -\n");
        CliRun json = run("status", "--json");
        assertOk(json);
        var n = io.jailhouse.protocol.JsonCodec.read(json.out().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(n.get("enabled").asBoolean()).isTrue();
        assertThat(n.get("release").asText()).isEqualTo("0.12");
        assertThat(n.get("pool").get("mem_used").asLong()).isEqualTo(512);
        assertThat(n.get("cells")).hasSize(3);
        assertThat(n.get("supervisor_rss").asLong()).isPositive();
    }
}
