package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.DaemonUnavailableException;

/** The daemon's lifecycle: run directory, socket, pid file, already-enabled, disable, failures. */
class JailhousedTest {
    @TempDir
    Path tmp;

    static DaemonLog quietLog() {
        return new DaemonLog(new PrintWriter(new StringWriter()));
    }

    @Test
    void runDirectoryIsPrivateSocketIs0600AndPidFileNamesTheProcess() throws Exception {
        Path run = tmp.resolve("a/run");
        try (RunningDaemon d = RunningDaemon.start(run, Partitioning.STRICT)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(run))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.socket()))).isEqualTo("rw-------");
            assertThat(d.runDirectory().readPid()).hasValue(ProcessHandle.current().pid());
            assertThat(d.log()).contains("listening on " + d.socket());
        }
        assertThat(run.resolve("control.sock")).doesNotExist();
        assertThat(run.resolve("jailhoused.pid")).doesNotExist();
    }

    @Test
    void aSecondDaemonOnTheSameRunDirectoryIsRefusedWithEbusy() throws Exception {
        try (RunningDaemon d = RunningDaemon.start(tmp, Partitioning.STRICT)) {
            AtomicInteger enabled = new AtomicInteger();
            HypervisorException refused = null;
            try {
                Jailhoused.start(d.runDirectory(), RunningDaemon.systemConfig(), Partitioning.STRICT, (c, p, e, state, m) -> {
                    enabled.incrementAndGet();
                    return new FakeHypervisor(c, p);
                }, quietLog()).close();
            } catch (HypervisorException e) {
                refused = e;
            }
            assertThat(refused).isNotNull();
            assertThat(refused.errno()).isEqualTo(Errno.EBUSY);
            assertThat(refused.getMessage()).contains("already enabled");
            assertThat(enabled).as("the second hypervisor was never enabled").hasValue(0);
            try (ControlClient c = d.client()) {
                assertThat(c.ping().pid()).isEqualTo(ProcessHandle.current().pid());
            }
        }
    }

    @Test
    void aStaleSocketIsReplaced() throws Exception {
        Path sock = tmp.resolve("control.sock");
        ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        dead.bind(UnixDomainSocketAddress.of(sock));
        dead.close();
        assertThat(sock).exists();
        try (RunningDaemon d = RunningDaemon.start(tmp, Partitioning.STRICT); ControlClient c = d.client()) {
            assertThat(c.ping().system()).isEqualTo("QEMU-VM");
            assertThat(d.log()).contains("removing stale socket");
        }
    }

    @Test
    void disableDestroysCellsRepliesAndEndsTheDaemon() throws Exception {
        RunningDaemon d = RunningDaemon.start(tmp, Partitioning.STRICT);
        try {
            disableEnds(d);
        } finally {
            d.close();
        }
        assertThat(d.fake().closeCount()).as("close is idempotent").isEqualTo(1);
    }

    private static void disableEnds(RunningDaemon d) throws Exception {
        try (ControlClient c = d.client()) {
            c.createCell(Files.readAllBytes(RunningDaemon.config("apic-demo.cell")));
            c.disable();
        }
        Thread waiter = Thread.ofVirtual().start(() -> {
            try {
                d.daemon().awaitTermination();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(waiter.join(Duration.ofSeconds(10))).as("daemon ended").isTrue();
        assertThat(d.fake().cellNames()).containsExactly("QEMU-VM");
        assertThat(d.fake().closeCount()).isEqualTo(1);
        assertThat(d.socket()).doesNotExist();
        assertThat(d.runDirectory().pidFile()).doesNotExist();
        assertThatThrownBy(d::client).isInstanceOf(DaemonUnavailableException.class)
                .hasMessage("hypervisor not enabled (no daemon at " + d.socket() + ")");
    }

    @Test
    void aRefusedDisableLeavesTheDaemonServing() throws Exception {
        try (RunningDaemon d = RunningDaemon.start(tmp, Partitioning.STRICT); ControlClient c = d.client()) {
            c.createCell(Files.readAllBytes(RunningDaemon.config("apic-demo.cell")));
            c.startCell(io.jailhouse.protocol.CellRef.ofName("apic-demo"));
            d.fake().refusals = 1;
            assertThatThrownBy(c::disable).isInstanceOfSatisfying(ControlException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
            assertThat(c.cells().cells()).hasSize(2);
            c.disable();
            assertThat(d.fake().cellNames()).containsExactly("QEMU-VM");
        }
    }

    @Test
    void aFailedEnableLeavesNoSocketOrPidFile() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Jailhoused.run(new String[] {"--config", RunningDaemon.config("qemu-vm.cell").toString(),
            "--partitioning", "relaxed", "--run-dir", tmp.resolve("run").toString()}, Map.of(),
                (c, p, e, state, m) -> {
                    throw new HypervisorException(Errno.ENODEV, "KVM hypervisor not yet available");
                }, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(status).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("JAILHOUSE_ENABLE: No such device (KVM hypervisor not yet available)\n");
        assertThat(out.toString()).contains("relaxed partitioning");
        assertThat(tmp.resolve("run/control.sock")).doesNotExist();
        assertThat(tmp.resolve("run/jailhoused.pid")).doesNotExist();
    }

    @Test
    void anUnexpectedFailureOfEnableIsReportedAsEio() {
        StringWriter err = new StringWriter();
        int status = Jailhoused.run(new String[] {"--config", RunningDaemon.config("qemu-vm.cell").toString(),
            "--run-dir", tmp.toString()}, Map.of(), (c, p, e, state, m) -> {
                throw new IllegalStateException("boom");
            }, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertThat(status).isEqualTo(1);
        assertThat(err.toString()).startsWith("JAILHOUSE_ENABLE: Input/output error (java.lang.IllegalStateException: boom)");
        assertThat(tmp.resolve("control.sock")).doesNotExist();
    }

    @Test
    void anUnreadableOrWrongConfigIsEinval() {
        StringWriter err = new StringWriter();
        int status = Jailhoused.run(new String[] {"--config", RunningDaemon.config("apic-demo.cell").toString(),
            "--run-dir", tmp.toString()}, Map.of(), FakeHypervisor::new, new PrintWriter(new StringWriter(), true),
                new PrintWriter(err, true));
        assertThat(status).isEqualTo(1);
        assertThat(err.toString()).startsWith("JAILHOUSE_ENABLE: Invalid argument (")
                .contains("apic-demo.cell: this is a cell configuration");
        assertThat(tmp.resolve("control.sock")).doesNotExist();
    }

    @Test
    void runServesUntilDisabled() throws Exception {
        Path run = tmp.resolve("run");
        StringWriter out = new StringWriter();
        AtomicInteger status = new AtomicInteger(-1);
        Thread t = Thread.ofPlatform().start(() -> status.set(Jailhoused.run(new String[] {"--config",
            RunningDaemon.config("qemu-vm.cell").toString(), "--run-dir=" + run}, Map.of(), FakeHypervisor::new,
                new PrintWriter(out, true), new PrintWriter(new StringWriter(), true))));
        try {
            Path sock = run.resolve("control.sock");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!Files.exists(run.resolve("jailhoused.pid")) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            try (ControlClient c = ControlClient.connect(sock)) {
                assertThat(c.ping().partitioning()).isEqualTo(Partitioning.STRICT);
                c.disable();
            }
            assertThat(t.join(Duration.ofSeconds(10))).isTrue();
            assertThat(status).hasValue(0);
            assertThat(out.toString()).contains("disabled: all cells destroyed", "ended");
        } finally {
            if (t.isAlive()) {
                try (ControlClient c = ControlClient.connect(run.resolve("control.sock"))) {
                    c.disable();
                } catch (Exception e) {
                    // Already gone.
                }
            }
        }
    }

    @Test
    void argumentsAreParsedAndCheckedAndTheRunDirectoryIsLocated() {
        var o = Jailhoused.Options.parse(new String[] {"--config", "x.cell", "--partitioning", "RELAXED"},
                Map.of("JAILHOUSE_RUN_DIR", "/tmp/jh"));
        assertThat(o.partitioning()).isEqualTo(Partitioning.RELAXED);
        assertThat(o.runDirectory().path()).isEqualTo(Path.of("/tmp/jh"));
        assertThat(Jailhoused.Options.parse(new String[] {"--config=x.cell", "--run-dir=/a"}, Map.of("JAILHOUSE_RUN_DIR", "/b"))
                .runDirectory().path()).isEqualTo(Path.of("/a"));
        assertThat(Jailhoused.Options.parse(new String[] {"--config", "x.cell"}, Map.of()).runDirectory().path())
                .isEqualTo(Path.of("/run/jailhouse"));
        assertThat(o.arguments()).containsSubsequence("--partitioning", "relaxed", "--run-dir", "/tmp/jh");
        assertThatThrownBy(() -> Jailhoused.Options.parse(new String[] {"--partitioning", "loose", "--config", "x"}, Map.of()))
                .hasMessageContaining("neither strict nor relaxed");
        assertThatThrownBy(() -> Jailhoused.Options.parse(new String[] {}, Map.of())).hasMessage("--config is required");
        assertThatThrownBy(() -> Jailhoused.Options.parse(new String[] {"--config"}, Map.of())).hasMessage("--config needs a value");
        StringWriter err = new StringWriter();
        assertThat(Jailhoused.run(new String[] {"--bogus"}, Map.of(), FakeHypervisor::new,
                new PrintWriter(new StringWriter()), new PrintWriter(err, true))).isEqualTo(2);
        assertThat(err.toString()).contains("unknown argument \"--bogus\"", Jailhoused.USAGE);
    }

    @Test
    void noticesSayPlainlyWhatRelaxedMeans() throws Exception {
        SystemConfig sys = ConfigFiles.read(RunningDaemon.config("qemu-vm.cell"), SystemConfig.class);
        assertThat(Jailhoused.notices(sys, Partitioning.RELAXED)).anySatisfy(n -> assertThat(n)
                .contains("logical CPUs share host CPUs", "development"));
        assertThat(Jailhoused.notices(sys, Partitioning.STRICT)).singleElement().asString().contains("strict partitioning");
    }

    @Test
    void anIvshmemAttachmentLastsAsLongAsItsConnection() throws Exception {
        int link = 0x0170;
        try (RunningDaemon d = RunningDaemon.start(tmp, Partitioning.RELAXED); ControlClient other = d.client()) {
            assertThat(other.ivshmemLinks()).singleElement().satisfies(l -> {
                assertThat(l.bdf()).isEqualTo(link);
                assertThat(l.attached()).isFalse();
            });
            try (ControlClient c = d.client()) {
                var a = c.attachIvshmem(link);
                assertThat(a.bdf()).isEqualTo(link);
                assertThat(a.peerId()).isZero();
                assertThat(a.maxPeers()).isEqualTo(3);
                assertThat(other.ivshmemLinks().get(0).attached()).isTrue();
                assertThatThrownBy(() -> other.attachIvshmem(link)).isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY));
                assertThatThrownBy(() -> other.detachIvshmem(link)).as("only the attaching connection detaches")
                        .isInstanceOfSatisfying(ControlException.class,
                                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
                assertThatThrownBy(() -> other.attachIvshmem(0x0178)).isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (d.fake().ivshmemAttached(link)) {
                assertThat(System.nanoTime()).as("detached when the connection closed").isLessThan(deadline);
                Thread.sleep(10);
            }
            other.attachIvshmem(link);
            other.detachIvshmem(link);
            assertThat(d.fake().ivshmemAttached(link)).isFalse();
        }
    }
}
