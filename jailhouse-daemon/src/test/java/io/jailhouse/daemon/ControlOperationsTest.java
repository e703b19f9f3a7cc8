package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.jailhouse.protocol.CellList;
import io.jailhouse.protocol.ConsoleChunk;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.RunDirectory;

/** Each op through the client: replies, errno mapping, and failures that stay inside one request. */
class ControlOperationsTest {
    @TempDir
    Path tmp;
    RunningDaemon daemon;
    ControlClient client;

    @BeforeEach
    void start() throws Exception {
        daemon = RunningDaemon.start(tmp, Partitioning.RELAXED);
        client = daemon.client();
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        daemon.close();
    }

    static byte[] cell(String name) throws Exception {
        return Files.readAllBytes(RunningDaemon.config(name + ".cell"));
    }

    static void assertErrno(ThrowingCallable call, Errno errno, String... messageParts) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ControlException.class, e -> {
            assertThat(e.errno()).isEqualTo(errno);
            if (messageParts.length > 0) {
                assertThat(e.getMessage()).contains(messageParts);
            }
        });
    }

    @Test
    void cellLifecycle() throws Exception {
        CellStatus created = client.createCell(cell("apic-demo"));
        assertThat(created).isEqualTo(new CellStatus(1, "apic-demo", CellState.SHUT_DOWN, List.of(3), List.of()));
        CellRef apic = CellRef.ofName("apic-demo");
        byte[] image = {1, 2, 3};
        client.loadCell(apic, List.of(new LoadImage("apic-demo.bin", image, 0xf0000),
                new LoadImage("string \"x\"", new byte[] {'x', 0}, 0x1000)));
        assertThat(daemon.fake().find(apic).images()).extracting(LoadImage::address).containsExactly(0xf0000L, 0x1000L);
        assertThat(daemon.fake().find(apic).images().get(0).data()).isEqualTo(image);
        daemon.fake().startWarnings = List.of("no image covers the reset address");
        assertThat(client.startCell(CellRef.ofId(1))).containsExactly("no image covers the reset address");
        CellList list = client.cells();
        assertThat(list.partitioning()).isEqualTo(Partitioning.RELAXED);
        assertThat(list.cells()).extracting(CellStatus::name, CellStatus::stateText)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("QEMU-VM", "running"),
                        org.assertj.core.groups.Tuple.tuple("apic-demo", "running"));
        assertThat(list.cells().get(0).assignedCpus()).containsExactly(0, 1, 2);
        client.shutdownCell(apic);
        assertThat(daemon.fake().find(apic).state()).isEqualTo(CellState.SHUT_DOWN);
        assertThat(daemon.fake().find(apic).images()).isEmpty();
        client.destroyCell(apic);
        assertThat(client.cells().cells()).hasSize(1);
        assertThat(daemon.log()).containsPattern("Z INFO jailhoused: event created cell \"apic-demo\" \\(id 1\\)")
                .contains("INFO jailhoused: event destroyed cell \"apic-demo\" (id 1)");

        io.jailhouse.protocol.EventBatch events = client.readEvents(-1, 100, 0);
        assertThat(events.lost()).isZero();
        assertThat(events.events()).extracting(e -> e.type().text() + " " + e.cell() + " " + e.cellId())
                .containsExactly("created apic-demo 1", "loaded apic-demo 1", "started apic-demo 1",
                        "shut-down apic-demo 1", "destroyed apic-demo 1");
        assertThat(events.events()).extracting(io.jailhouse.protocol.CellEvent::seq).containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(events.next()).isEqualTo(5);
        assertThat(client.readEvents(events.next(), 100, 0).events()).as("nothing new").isEmpty();
        assertThat(client.readEvents(3, 1, 0).events()).extracting(e -> e.type().text()).containsExactly("shut-down");
    }

    @Test
    void anEventsReadWaitsForTheNextEventAndComesBackEmptyAfterItsWait() throws Exception {
        long t0 = System.nanoTime();
        io.jailhouse.protocol.EventBatch none = client.readEvents(0, 10, 200);
        assertThat(none.events()).isEmpty();
        assertThat(System.nanoTime() - t0).as("it waited").isGreaterThanOrEqualTo(190_000_000L);
        java.util.concurrent.CompletableFuture<io.jailhouse.protocol.EventBatch> waiting =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try (io.jailhouse.protocol.ControlClient other = daemon.client()) {
                        return other.readEvents(0, 10, 10_000);
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
        client.createCell(cell("apic-demo"));
        assertThat(waiting.get(10, java.util.concurrent.TimeUnit.SECONDS).events())
                .extracting(e -> e.type().text()).containsExactly("created");
    }

    @Test
    void imagesTravelAsDescriptorsSoNoMessageLimitBoundsThem() throws Exception {
        io.jailhouse.config.CellConfig apic = ConfigFiles.read(RunningDaemon.config("apic-demo.cell"),
                io.jailhouse.config.CellConfig.class);
        List<io.jailhouse.config.MemoryRegion> regions = new java.util.ArrayList<>(apic.memoryRegions());
        regions.add(new io.jailhouse.config.MemoryRegion(0x10000000L, 0x4000000L, 64 << 20,
                io.jailhouse.config.MemoryRegion.READ | io.jailhouse.config.MemoryRegion.WRITE
                        | io.jailhouse.config.MemoryRegion.LOADABLE));
        client.createCell(BinaryConfigCodec.encode(apic.withName("big").withMemoryRegions(regions)));
        byte[] image = new byte[40 << 20]; // more than a whole message may hold
        new java.util.Random(7).nextBytes(image);
        client.loadCell(CellRef.ofName("big"), List.of(new LoadImage("big.bin", image, 0x4000000L)));
        assertThat(image.length).isGreaterThan(io.jailhouse.protocol.ControlProtocol.MAX_REQUEST_BYTES);
        assertThat(daemon.fake().find(CellRef.ofName("big")).images().get(0).data()).isEqualTo(image);
    }

    @Test
    void anyFormOfConfigArrivesAsBinary() throws Exception {
        byte[] fromYaml = BinaryConfigCodec.encode(ConfigFiles.read(RunningDaemon.config("tiny-demo.yaml")));
        assertThat(client.createCell(fromYaml).name()).isEqualTo("tiny-demo");
    }

    @Test
    void hypervisorErrnosReachTheClient() throws Exception {
        client.createCell(cell("apic-demo"));
        assertErrno(() -> client.createCell(cell("apic-demo")), Errno.EEXIST, "apic-demo");
        assertErrno(() -> client.startCell(CellRef.ofName("nope")), Errno.ENOENT, "nope");
        assertErrno(() -> client.destroyCell(CellRef.ofId(7)), Errno.ENOENT, "id 7");
        assertErrno(() -> client.loadCell(CellRef.ofId(1), List.of(new LoadImage("big", new byte[16], 0xffff8))),
                Errno.EINVAL, "not inside a loadable region");
        assertErrno(() -> client.createCell(cell("qemu-vm")), Errno.EINVAL, "this is a system configuration");
        assertErrno(() -> client.createCell(new byte[] {'J', 'H', 'C', 'L', 'L'}), Errno.EINVAL, "cell configuration");
    }

    @Test
    void anUnexpectedFailureIsEioAndTheDaemonGoesOn() throws Exception {
        daemon.fake().nextFailure = new IllegalStateException("vCPU table corrupt");
        assertErrno(() -> client.cells(), Errno.EIO, "cell.list failed", "vCPU table corrupt");
        assertThat(daemon.log()).contains("cell.list failed unexpectedly", "at io.jailhouse");
        assertThat(client.cells().cells()).hasSize(1);
    }

    @Test
    void statisticsAreSummedAndPerCpu() throws Exception {
        client.createCell(cell("smp-demo"));
        daemon.fake().count("smp-demo", 1, "vmexits_total", 10);
        daemon.fake().count("smp-demo", 3, "vmexits_total", 5);
        daemon.fake().count("smp-demo", 3, "vmexits_pio", 4);
        CellStatistics s = client.statistics(CellRef.ofName("smp-demo"));
        assertThat(s.cellId()).isEqualTo(1);
        assertThat(s.total().keySet()).containsExactlyElementsOf(CellStatistics.NAMES);
        assertThat(s.total()).containsEntry("vmexits_total", 15L).containsEntry("vmexits_pio", 4L);
        assertThat(s.perCpu().keySet()).containsExactly(1, 2, 3);
        assertThat(s.perCpu().get(3)).containsEntry("vmexits_total", 5L);
    }

    @Test
    void consoleReadsFromTheOldestByteAndCountsWhatWasMissed() throws Exception {
        ConsoleRing ring = daemon.fake().console();
        ConsoleChunk all = client.readConsole(-1, 1 << 16, 0);
        assertThat(all.text()).startsWith("Initializing Jailhouse hypervisor");
        assertThat(all.missed()).isZero();
        ring.write("x".repeat(3000));
        ConsoleChunk after = client.readConsole(all.next(), 1 << 16, 0);
        assertThat(after.missed()).isEqualTo(all.next() + 3000 - 2048 - all.next());
        assertThat(after.data()).hasSize(2048);
        ConsoleChunk small = client.readConsole(-1, 10, 0);
        assertThat(small.data()).hasSize(10);
    }

    @Test
    void aWaitingConsoleReadReturnsWhenSomethingIsWritten() throws Exception {
        long tail = daemon.fake().console().tail();
        CompletableFuture<ConsoleChunk> read = CompletableFuture.supplyAsync(() -> {
            try (ControlClient c = daemon.client()) {
                return c.readConsole(tail, 100, 8000);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(200);
        daemon.fake().console().write("hello\n");
        assertThat(read.get(5, TimeUnit.SECONDS).text()).isEqualTo("hello\n");
    }

    @Test
    void cellConsoleIsTheCellsUartLog() throws Exception {
        client.createCell(cell("apic-demo"));
        daemon.fake().cellConsole(CellRef.ofName("apic-demo")).write("Calibrated APIC frequency\n");
        assertThat(client.readCellConsole(CellRef.ofName("apic-demo"), -1, 100, 0).text())
                .isEqualTo("Calibrated APIC frequency\n");
        assertErrno(() -> client.readCellConsole(CellRef.ofName("gone"), -1, 100, 0), Errno.ENOENT);
    }

    @Test
    void consoleWithoutVirtualDebugConsoleIsEperm(@TempDir Path other) throws Exception {
        SystemConfig sys = RunningDaemon.systemConfig();
        SystemConfig noConsole = new SystemConfig(sys.architecture(), 0, sys.hypervisorMemory(), sys.debugConsole(),
                sys.platform(), sys.rootCell(), sys.rootCellHeader());
        Jailhoused d = Jailhoused.start(new RunDirectory(other), noConsole, Partitioning.STRICT, FakeHypervisor::new,
                new DaemonLog(new PrintWriter(new StringWriter())));
        try (ControlClient c = ControlClient.connect(other.resolve("control.sock"))) {
            assertErrno(() -> c.readConsole(-1, 100, 0), Errno.EPERM, "virtual debug console");
        } finally {
            d.close();
        }
    }

    @Test
    void aTimeoutEndsAWaitForAReply() throws Exception {
        client.timeout(java.time.Duration.ofMillis(300));
        long tail = daemon.fake().console().tail();
        assertThatThrownBy(() -> client.readConsole(tail, 10, 5000)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("no reply from the daemon within 300 ms");
    }
}
