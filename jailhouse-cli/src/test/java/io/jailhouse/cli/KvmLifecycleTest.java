package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.daemon.Jailhoused;
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
 * The whole lifecycle through the CLI, against the real daemon in its own
 * JVM on the real /dev/kvm, running the project's tiny-demo inmate under
 * both boot contracts: what a user types, what a user sees. No daemon,
 * socket or VM survives a test. Skipped loudly without KVM.
 */
@RequiresKvm
class KvmLifecycleTest extends KvmCliTest {
    static final Pattern PM_TIMER = Pattern.compile("PM Timer: +\\d+");

    /** Polls {@code cell console} until tiny-demo's {@code loops=2} readings are in. */
    String awaitTinyDemo(String cell) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String out = "";
        while (PM_TIMER.matcher(out).results().count() < 2) {
            assertThat(System.nanoTime()).as("tiny-demo output in time; so far:\n" + out + "\nhypervisor console:\n"
                    + CliRun.of(main, "console").out()).isLessThan(deadline);
            Thread.sleep(100);
            out = ok("cell", "console", cell).out();
        }
        return out;
    }

    /** The events held, once the one that contains {@code text} has come (the lock sampler takes its time). */
    String awaitEvents(String text) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String events;
        while (!(events = ok("events", "--once").out()).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no event with \"" + text + "\" in 30 s; the events:\n" + events);
            }
            Thread.sleep(100);
        }
        return events;
    }

    static String scrape(String url) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** The value of the sample {@code series} (name and labels as exposed) in Prometheus text. */
    static double sample(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim().split(" ")[0]))
                .orElseThrow(() -> new AssertionError("no sample " + series + " in:\n" + text));
    }

    @Test
    void walkthroughContractTinyDemoAtTheResetVector() throws Exception {
        CliRun enable = ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed", "--metrics", "127.0.0.1:0");
        String url = enable.err().replaceAll("(?s).*Metrics: Prometheus text at (http://\\S+/metrics)\\..*", "$1");
        assertThat(url).startsWith("http://127.0.0.1:");
        ok("cell", "create", cfg("tiny-demo.cell"));
        assertThat(ok("cell", "list").out()).contains("1       tiny-demo               shut down         2");
        ok("cell", "load", "tiny-demo", TINY_DEMO.toString(), "-a", "0xf0000", "-s", "loops=2", "-a", "0xf1000");
        CliRun start = ok("cell", "start", "tiny-demo");
        assertThat(start.err()).isEmpty(); // the image covers the reset vector: no warning
        String out = awaitTinyDemo("tiny-demo");
        assertThat(out).startsWith("Hello from this tiny cell!\r\n");
        assertThat(ok("cell", "list").out()).contains("1       tiny-demo               running           2");
        // status: the pools as the console reported them at create, the cell's process and its memory
        String status = ok("status").out();
        assertThat(status).contains("Hypervisor:   enabled, Jailhouse 0.12, system configuration \"QEMU-VM\", relaxed",
                "Cells:        2 (2 running)");
        assertThat(ok("console").out()).contains("Page pool usage after cell creation: mem "
                + status.replaceAll("(?s).*Memory pool:\\s+(\\d+/\\d+) pages.*", "$1"));
        assertThat(status).containsPattern("\\n1       tiny-demo               running           [0-9]+ +[0-9]+\\.[0-9] MiB\\n");
        assertThat(ok("cell", "stats", "1").out()).contains("vmexits_pio");
        // the same counters scraped, by CPU and reason; the state, the pools, the process's memory
        String metrics = scrape(url);
        assertThat(sample(metrics, "jailhouse_vmexits_total{cell=\"tiny-demo\",cpu=\"2\",reason=\"pio\"}"))
                .isPositive();
        assertThat(sample(metrics, "jailhouse_cell_state{cell=\"tiny-demo\",id=\"1\",state=\"running\"}"))
                .isEqualTo(1);
        assertThat(sample(metrics, "jailhouse_process_resident_bytes{cell=\"tiny-demo\",process=\"cell\"}"))
                .isGreaterThan(1 << 20);
        assertThat(sample(metrics, "jailhouse_pool_used_pages{pool=\"mem\"}")).isPositive();
        assertThat(sample(metrics, "jailhouse_console_dropped_bytes_total{cell=\"tiny-demo\"}")).isZero();
        CliRun rootStats = ok("cell", "stats", "0");
        assertThat(rootStats.out()).isEqualTo("Statistics for cell \"QEMU-VM\" (id 0)\n");
        assertThat(rootStats.err()).contains("has no statistics: the root cell is the host Linux itself");
        assertThat(ok("console").out()).contains("Created cell \"tiny-demo\"", "Started cell \"tiny-demo\"");

        // shutdown, reload by id, restart: the output starts over
        ok("cell", "shutdown", "tiny-demo");
        assertThat(ok("cell", "list").out()).contains("shut down");
        ok("cell", "load", "1", TINY_DEMO.toString(), "-a", "0xf0000", "-s", "loops=2", "-a", "0xf1000");
        ok("cell", "start", "1");
        ok("cell", "destroy", "tiny-demo");
        assertThat(ok("cell", "list").out()).doesNotContain("tiny-demo");
        ok("disable");
        assertThat(run.socket()).doesNotExist();
        assertThat(CliRun.of(main, "cell", "list").out()).isEmpty();
    }

    /**
     * The walkthrough of the seed's README (shared/spec/walkthrough.md), with
     * its literal commands on the bundled configs: apic-demo locks the
     * hypervisor and refuses its first shutdown; a second cell is created
     * once apic-demo is shut down; both are reloaded and restarted while the
     * lock holds; disable needs a second try.
     */
    @Test
    void walkthrough() throws Exception {
        assertThat(ok("hardware", "check", cfg("qemu-vm.cell")).out()).contains("Check passed!");
        Path sysconfig = tmp.resolve("sysconfig.c");
        ok("config", "create", sysconfig.toString());
        assertThat(Files.readString(sysconfig)).contains("#include <jailhouse/cell-config.h>");

        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        ok("cell", "create", cfg("apic-demo.cell"));
        ok("cell", "load", "apic-demo", APIC_DEMO.toString(), "-a", "0xf0000");
        ok("cell", "start", "apic-demo");
        String out = awaitConsole("apic-demo", "Timer fired, jitter:", 3);
        assertThat(out).contains("Calibrated TSC frequency:");
        assertThat(ok("cell", "list").out()).contains("1       apic-demo               running/locked    3");

        // while apic-demo runs, no cell can be created
        assertThat(fails("cell", "create", cfg("tiny-demo.cell")).err())
                .startsWith("JAILHOUSE_CELL_CREATE: Operation not permitted (cell \"apic-demo\" is running/locked");
        // its first shutdown request is refused, the second accepted
        assertThat(fails("cell", "shutdown", "apic-demo").err())
                .startsWith("JAILHOUSE_CELL_LOAD: Operation not permitted (cell \"apic-demo\" refused the shutdown request");
        assertThat(awaitConsole("apic-demo", "Rejecting first shutdown request - try again!", 1)).isNotEmpty();
        ok("cell", "shutdown", "apic-demo");
        assertThat(awaitConsole("apic-demo", "Stopped APIC demo", 1)).isNotEmpty();
        assertThat(ok("cell", "list").out()).contains("1       apic-demo               shut down         3");
        // the lock as the events saw it come and go
        assertThat(awaitEvents("unlocked \"apic-demo\" (id 1): now shut down")).containsPattern(
                "Z started \"apic-demo\" \\(id 1\\)\n(.*\n)*.*Z locked \"apic-demo\" \\(id 1\\)\n(.*\n)*"
                        + ".*Z shut-down \"apic-demo\" \\(id 1\\)\n");

        // a second, non-Linux cell: pci-demo on the second serial port, with its (emulated) HDA's MSI
        ok("cell", "create", cfg("pci-demo.cell"));
        ok("cell", "load", "pci-demo", PCI_DEMO.toString(), "-a", "0xf0000");
        ok("cell", "start", "2");
        assertThat(awaitConsole("pci-demo", "HDA MSI received (STATESTS: 0001)", 1))
                .contains("Found 8086:2668 at 00:1b.0");

        // reloading and restarting existing cells works while apic-demo holds the lock again
        ok("cell", "start", "apic-demo");
        awaitConsole("apic-demo", "Calibrated TSC frequency:", 2);
        assertThat(ok("cell", "list").out()).contains("running/locked");
        ok("cell", "load", "pci-demo", PCI_DEMO.toString(), "-a", "0xf0000");
        ok("cell", "start", "pci-demo");
        awaitConsole("pci-demo", "HDA MSI received (STATESTS: 0001)", 2);
        assertThat(fails("cell", "destroy", "pci-demo").err())
                .startsWith("JAILHOUSE_CELL_DESTROY: Operation not permitted (cell \"apic-demo\" is running/locked");

        // disable: apic-demo refuses the first time, so disable is called again
        assertThat(fails("disable").err()).startsWith("JAILHOUSE_DISABLE: Operation not permitted");
        ok("disable");
        assertThat(run.socket()).doesNotExist();
        assertThat(CliRun.of(main, "cell", "list").out()).isEmpty();
    }

    @Test
    void currentUpstreamContractImageAtZero() throws Exception {
        CellConfig at0 = ConfigFiles.read(RunningDaemon.config("tiny-demo.cell"), CellConfig.class)
                .withName("tiny-demo-0").withCpuResetAddress(0);
        Path yaml = tmp.resolve("tiny-demo-0.yaml");
        ConfigFiles.write(yaml, at0);
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        ok("cell", "create", yaml.toString());
        ok("cell", "load", "tiny-demo-0", TINY_DEMO.toString(), "-s", "loops=2", "-a", "0x1000");
        ok("cell", "start", "tiny-demo-0");
        assertThat(awaitTinyDemo("tiny-demo-0")).startsWith("Hello from this tiny cell!\r\n");
        ok("disable");
    }

    @Test
    void refusalsAreUpstreamsErrorsWithTheReason() throws Exception {
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        assertThat(fails("enable", cfg("qemu-vm.cell")).err()).startsWith("JAILHOUSE_ENABLE: Device or resource busy");
        ok("cell", "create", cfg("tiny-demo.cell"));
        assertThat(fails("cell", "create", cfg("tiny-demo.cell")).err())
                .startsWith("JAILHOUSE_CELL_CREATE: File exists (a cell named \"tiny-demo\" exists already (id 1))");
        // pci-demo wants CPU 2 too
        assertThat(fails("cell", "create", cfg("pci-demo.cell")).err())
                .startsWith("JAILHOUSE_CELL_CREATE: Device or resource busy (CPU 2 of cell \"pci-demo\" is held by cell \"tiny-demo\"");
        assertThat(fails("cell", "start", "nosuch").err())
                .isEqualTo("JAILHOUSE_CELL_START: No such file or directory (no cell named \"nosuch\")\n");
        assertThat(fails("cell", "destroy", "0").err()).startsWith("JAILHOUSE_CELL_DESTROY: Invalid argument");
        // 128 KiB from 0xf0000 runs past the 1 MiB RAM into the comm region
        Path big = tmp.resolve("big.bin");
        Files.write(big, new byte[0x20000]);
        assertThat(fails("cell", "load", "tiny-demo", big.toString(), "-a", "0xf0000").err())
                .startsWith("JAILHOUSE_CELL_LOAD: Invalid argument (image " + big)
                .contains("leaves memory region 0", "overlaps the comm region (region 1 at 0x100000)");
        assertThat(fails("cell", "load", "tiny-demo", "-s", "x", "-a", "0x100000").err()).contains("comm region");
        assertThat(fails("cell", "load", "tiny-demo", "/nonexistent.bin").err())
                .isEqualTo("opening /nonexistent.bin: No such file or directory\n");
        // start without an image at the reset vector: a warning, not an error
        ok("cell", "load", "tiny-demo", TINY_DEMO.toString());
        CliRun start = ok("cell", "start", "tiny-demo");
        assertThat(start.err()).contains("reset address 0xffff0", "-a 0xf0000");
        ok("disable");
        assertThat(fails("cell", "create", cfg("tiny-demo.cell")).err())
                .startsWith("JAILHOUSE_CELL_CREATE: Invalid argument (hypervisor not enabled");
    }

    @Test
    void ivshmemFromTheShellAsTheRootCell() throws Exception {
        assertThat(fails("ivshmem", "list").err()).startsWith("ivshmem list: Invalid argument");
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        assertThat(ok("ivshmem", "list").out()).isEqualTo("""
                BDF      Root peer  Peers  Vectors  Protocol  Attached
                01:0e.0  0          3      16       0x0000    no
                  peer 0  "QEMU-VM"                  state 0x00000000
                """);
        ok("cell", "create", cfg("ivshmem-demo-2.cell"));
        ok("cell", "load", "ivshmem-demo-2", DEMOS.resolve("ivshmem-demo.bin").toString(), "-a", "0xf0000",
                "-s", "count=3 period=500 target=0", "-a", "0xf1000");
        ok("cell", "start", "ivshmem-demo-2");
        awaitConsole("ivshmem-demo-2", "IVSHMEM: initialized device", 1);

        // the cell rings the root with vector id + 1 = 3 every half second
        CliRun watch = ok("ivshmem", "watch", "01:0e.0", "--state", "0x7", "--count", "2", "--timeout", "120");
        assertThat(watch.out()).startsWith("ivshmem 01:0e.0: root cell peer 0 of 3, 16 MSI-X vector(s), protocol 0x0000\n")
                .contains("  state[0] = 0x00000007  (root)", "  state[2] = 0x00000003", "interrupt vector 3 (#");
        assertThat(ok("ivshmem", "list").out()).contains("01:0e.0  0          3      16       0x0000    no",
                "peer 2  \"ivshmem-demo-2\"", "state 0x00000003");

        ok("ivshmem", "doorbell", "01:0e.0", "2", "2");
        assertThat(awaitConsole("ivshmem-demo-2", "IVSHMEM: got interrupt 2 (#1)", 1)).contains("rw[2] = 1");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String dump = "";
        while (!dump.contains("Output section of peer 2 (0x2000 bytes):\n  0000: 0a 00 00 00")) {
            assertThat(System.nanoTime()).as("the cell's output in the dump:\n" + dump).isLessThan(deadline);
            dump = ok("ivshmem", "dump", "01:0e.0", "--bytes", "16").out();
        }
        assertThat(dump).contains("State table:\n  state[0] = 0x00000000  (root)\n", "  state[2] = 0x00000003",
                "R/W section (0x9000 bytes):\n  0000: 00 00 00 00 00 00 00 00 01 00 00 00");
        String json = ok("ivshmem", "dump", "01:0e.0", "--bytes", "4", "--json").out();
        assertThat(json).contains("\"bdf\" : \"01:0e.0\"", "\"states\" : [ 0, 0, 3 ]", "\"head\" : \"0a000000\"");
        assertThat(ok("ivshmem", "list", "--json").out()).contains("\"attached\" : false", "\"cell\" : \"ivshmem-demo-2\"");
        assertThat(ok("console").out()).contains("Root cell program attached to ivshmem 01:0e.0 as peer 0",
                "Root cell program detached from ivshmem 01:0e.0");

        assertThat(fails("ivshmem", "dump", "01:0f.0").err()).isEqualTo("ivshmem attach: No such file or directory "
                + "(the root cell has no ivshmem device 01:0f.0 (it has 01:0e.0))\n");
        assertThat(fails("ivshmem", "dump", "1:xx.0").err()).contains("'1:xx.0' is not a PCI device BB:DD.F");
        assertThat(fails("ivshmem", "doorbell", "01:0e.0", "5").err()).contains("PEER 5 is not a peer id of this link");
        CliRun absent = ok("ivshmem", "doorbell", "01:0e.0", "1", "1");
        assertThat(absent.err()).contains("no cell is peer 1 of 01:0e.0 now; the doorbell is dropped");
        CliRun timeout = fails("ivshmem", "watch", "01:0e.0", "--count", "1000", "--timeout", "0.5");
        assertThat(timeout.err()).contains("Timeout: ");
        ok("disable");
    }

    @Test
    void rootPeerDemoExampleTalksToIvshmemDemo() throws Exception {
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        ok("cell", "create", cfg("ivshmem-demo-2.cell"));
        ok("cell", "load", "ivshmem-demo-2", DEMOS.resolve("ivshmem-demo.bin").toString(), "-a", "0xf0000",
                "-s", "period=300 target=0", "-a", "0xf1000");
        ok("cell", "start", "ivshmem-demo-2");
        awaitConsole("ivshmem-demo-2", "IVSHMEM: initialized device", 1);

        Path example = Path.of("..", "examples", "ivshmem-root", "RootPeerDemo.java").toAbsolutePath().normalize();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), example.toString(),
                "01:0e.0", "--target", "2", "--count", "3", "--period", "300").redirectErrorStream(true);
        pb.environment().put("JAILHOUSE_RUN_DIR", run.path().toString());
        Process demo = pb.start();
        var output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(demo.getInputStream().readAllBytes());
            } catch (java.io.IOException e) {
                return "(output lost: " + e + ")";
            }
        });
        boolean ended;
        try {
            ended = demo.waitFor(120, TimeUnit.SECONDS);
        } finally {
            demo.destroyForcibly();
        }
        String out = output.get(10, TimeUnit.SECONDS);
        assertThat(ended).as("the example ends:\n" + out).isTrue();
        assertThat(demo.exitValue()).as(out).isZero();
        assertThat(out).contains("IVSHMEM: attached to 01:0e.0 as root cell peer 0 of 3",
                "IVSHMEM: sending IRQ 1 to peer 2", "IVSHMEM: got interrupt 3 (#1)", "state[2] = 3",
                "IVSHMEM: done, 3 doorbell(s) sent");
        assertThat(awaitConsole("ivshmem-demo-2", "IVSHMEM: got interrupt 1 (#1)", 1)).contains("state[0] = 1");

        // a program killed while attached leaves nothing attached: its connection ends, the daemon detaches
        pb.command(new java.util.ArrayList<>(pb.command().subList(0, pb.command().size() - 6))); // runs forever
        Process killed = pb.start();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(killed.getInputStream()))) {
            String first = lines.readLine();
            assertThat(first).as("the example attached").startsWith("IVSHMEM: attached to 01:0e.0");
            assertThat(ok("ivshmem", "list").out()).contains("0x0000    yes");
            killed.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!ok("ivshmem", "list").out().contains("0x0000    no")) {
            assertThat(System.nanoTime()).as("detached after the kill").isLessThan(deadline);
            Thread.sleep(100);
        }
        assertThat(ok("ivshmem", "list").out()).contains("peer 0  \"QEMU-VM\"                  state 0x00000000");
        ok("disable");
    }
}
