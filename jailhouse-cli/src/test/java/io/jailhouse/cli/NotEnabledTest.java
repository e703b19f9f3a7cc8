package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.daemon.FakeHypervisor;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.daemon.RunningDaemon;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What each command says when no daemon runs, as upstream's tool does without the hypervisor. */
class NotEnabledTest {
    @TempDir
    Path tmp;
    Main main;
    String socket;

    @BeforeEach
    void setUp() {
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        main = new Main(run, DaemonProcess.ofThisJvm(), FakeHypervisor::new);
        socket = run.socket().toString();
    }

    CliRun run(String... args) {
        return CliRun.of(main, args);
    }

    void assertNotEnabled(String operation, String... args) {
        CliRun r = run(args);
        assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo(operation + " (hypervisor not enabled (no daemon at " + socket + "))\n");
    }

    @Test
    void cellOperationsAreEinval() {
        assertNotEnabled("JAILHOUSE_DISABLE: Invalid argument", "disable");
        assertNotEnabled("JAILHOUSE_CELL_CREATE: Invalid argument", "cell", "create",
                RunningDaemon.config("apic-demo.cell").toString());
        assertNotEnabled("JAILHOUSE_CELL_LOAD: Invalid argument", "cell", "load", "apic-demo", "-s", "x");
        assertNotEnabled("JAILHOUSE_CELL_LOAD: Invalid argument", "cell", "shutdown", "1");
        assertNotEnabled("JAILHOUSE_CELL_START: Invalid argument", "cell", "start", "apic-demo");
        assertNotEnabled("JAILHOUSE_CELL_DESTROY: Invalid argument", "cell", "destroy", "--name", "apic-demo");
        assertNotEnabled("read(statistics): Invalid argument", "cell", "stats", "apic-demo");
        assertNotEnabled("read(cell console): Invalid argument", "cell", "console", "apic-demo");
        assertNotEnabled("read(events): Invalid argument", "events");
        assertNotEnabled("read(events): Invalid argument", "events", "--once", "--json");
    }

    @Test
    void consoleIsEagain() {
        assertNotEnabled("read(console): Resource temporarily unavailable", "console");
        assertNotEnabled("read(console): Resource temporarily unavailable", "console", "-f");
    }

    @Test
    void statusSaysNotEnabledAndSucceeds() {
        CliRun r = run("status");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("Hypervisor: not enabled\n");
        assertThat(r.err()).isEmpty();
        assertThat(run("status", "--json").out()).isEqualTo("{\n  \"enabled\" : false\n}\n");
    }

    @Test
    void cellListPrintsNothingAndSucceeds() {
        CliRun r = run("cell", "list");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEmpty();
        CliRun json = run("cell", "list", "--json");
        assertThat(json.exit()).isZero();
        assertThat(json.out()).contains("\"enabled\" : false", "\"cells\" : [ ]");
    }

    @Test
    void aStaleSocketWithNobodyListeningIsNotEnabled() throws Exception {
        java.nio.file.Files.createDirectories(tmp.resolve("run"));
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(Path.of(socket)));
        }
        assertNotEnabled("JAILHOUSE_CELL_START: Invalid argument", "cell", "start", "1");
        assertThat(run("cell", "list").out()).isEmpty();
    }

    @Test
    void argumentsAreCheckedBeforeTheDaemonIsAsked() {
        CliRun r = run("cell", "start");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Missing cell", "Usage: jailhouse cell start");
    }
}
