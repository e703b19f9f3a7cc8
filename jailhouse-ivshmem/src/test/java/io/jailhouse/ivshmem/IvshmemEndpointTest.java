package io.jailhouse.ivshmem;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.daemon.DaemonLog;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.daemon.HypervisorFactory;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.RequiresKvm;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The endpoint against a real daemon on KVM (in this JVM, so the daemon's
 * descriptors are taken from this very process): the root's peer of
 * 01:0e.0 and ivshmem-demo as peer 2 ring each other, see each other's
 * state and output sections; the root's rights on the sections hold.
 */
@RequiresKvm
class IvshmemEndpointTest {
    static final Path TOP = Path.of("..").toAbsolutePath().normalize();
    static final int LINK = 0x0170;

    @TempDir
    Path tmp;
    Jailhoused daemon;
    ControlClient client;

    @BeforeEach
    void enable() throws Exception {
        SystemConfig system = ConfigFiles.read(TOP.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        daemon = Jailhoused.start(new RunDirectory(tmp), system, Partitioning.RELAXED, HypervisorFactory.KVM,
                new DaemonLog(new PrintWriter(new StringWriter())));
        client = ControlClient.connect(daemon.runDirectory().socket());
    }

    @AfterEach
    void disable() throws Exception {
        if (client != null) {
            client.close();
        }
        if (daemon != null) {
            try {
                daemon.hypervisor().disable(io.jailhouse.daemon.Caller.FORCING); // no cell process outlives the test
            } catch (io.jailhouse.boundary.HypervisorException e) {
                // disabled by the test already
            }
            daemon.close();
        }
    }

    IvshmemEndpoint attach() throws Exception {
        return IvshmemEndpoint.attach(daemon.runDirectory().socket(), LINK);
    }

    void startDemo(String config, String cmdline) throws Exception {
        client.createCell(Files.readAllBytes(TOP.resolve("configs/x86/" + config + ".cell")));
        Path bin = TOP.resolve("inmates/demos/x86/ivshmem-demo.bin");
        CellRef ref = CellRef.parse(config);
        client.loadCell(ref, List.of(new LoadImage(bin.toString(), Files.readAllBytes(bin), 0xf0000),
                new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
        client.startCell(ref);
    }

    String awaitConsole(String cell, String text) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (true) {
            String out = new String(client.readCellConsole(CellRef.parse(cell), 0, 1 << 20, 0).data(),
                    StandardCharsets.ISO_8859_1);
            if (out.contains(text)) {
                return out;
            }
            assertThat(System.nanoTime()).as("\"%s\" from %s; so far:%n%s", text, cell, out).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @Test
    void mapsTheSectionsWithTheRootsRights() throws Exception {
        try (IvshmemEndpoint e = attach()) {
            assertThat(e.id()).isZero();
            assertThat(e.maxPeers()).isEqualTo(3);
            assertThat(e.vectors()).isEqualTo(16);
            assertThat(e.interruptCount()).isEqualTo(16);
            assertThat(e.stateTable().byteSize()).isEqualTo(0x1000);
            assertThat(e.readWriteSection().byteSize()).isEqualTo(0x9000);
            assertThat(e.outputSection(1).byteSize()).isEqualTo(0x2000);
            assertThat(e.stateTable().isReadOnly()).isTrue();
            assertThat(e.outputSection(1).isReadOnly()).isTrue();
            assertThat(e.ownOutputSection().isReadOnly()).isFalse();
            assertThatThrownBy(() -> e.outputSection(2).set(JAVA_INT_UNALIGNED, 0, 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
            assertThatThrownBy(() -> e.outputSection(3)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> e.ring(-1, 0)).isInstanceOf(IllegalArgumentException.class);

            e.ownOutputSection().set(JAVA_INT_UNALIGNED, 0, 0x5eed);
            e.readWriteSection().set(JAVA_INT_UNALIGNED, 8, 0xcafe);
            e.setState(42);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (e.state(0) != 42) {
                assertThat(System.nanoTime()).as("STATE reaches the state table").isLessThan(deadline);
                Thread.sleep(5);
            }
            assertThat(client.ivshmemLinks().get(0).peers().get(0).state()).isEqualTo(42);
            assertThatThrownBy(() -> attach()).isInstanceOfSatisfying(ControlException.class,
                    x -> assertThat(x.errno()).isEqualTo(Errno.EBUSY));
            assertThat(e.awaitInterrupts(Duration.ZERO)).as("nothing rang").isZero();
        }
        assertThat(client.ivshmemLinks().get(0).attached()).isFalse();
        assertThat(client.ivshmemLinks().get(0).peers().get(0).state()).as("detaching resets the state").isZero();
        try (IvshmemEndpoint again = attach()) {
            assertThat(again.ownOutputSection().get(JAVA_INT_UNALIGNED, 0)).as("the memory stays").isEqualTo(0x5eed);
            assertThat(again.readWriteSection().get(JAVA_INT_UNALIGNED, 8)).isEqualTo(0xcafe);
        }
        assertThatThrownBy(() -> IvshmemEndpoint.attach(daemon.runDirectory().socket(), 0x0178))
                .isInstanceOfSatisfying(ControlException.class, x -> assertThat(x.errno()).isEqualTo(Errno.ENOENT))
                .hasMessageContaining("no ivshmem device 01:0f.0");
    }

    @Test
    void rootAndCellExchangeInterruptsStateAndOutput() throws Exception {
        try (IvshmemEndpoint e = attach()) {
            e.enableInterrupts(true);
            e.setState(7);
            startDemo("ivshmem-demo-2", "count=3 period=300 target=0");
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (e.interrupts(3) < 2) { // ivshmem-demo rings vector id + 1
                assertThat(System.nanoTime()).as("doorbells of the cell").isLessThan(deadline);
                e.awaitInterrupts(Duration.ofSeconds(1));
            }
            assertThat(e.interrupts(0)).as("the cell's state change").isPositive();
            assertThat(e.state(2)).isEqualTo(3);

            e.ownOutputSection().set(JAVA_INT_UNALIGNED, 0, 119);
            e.readWriteSection().set(JAVA_INT_UNALIGNED, 0, 5);
            e.ring(2, 2); // the vector peer 2 counts
            String out = awaitConsole("ivshmem-demo-2", "IVSHMEM: got interrupt 2 (#1)");
            out = out.substring(out.indexOf("IVSHMEM: got interrupt 2 (#1)"));
            while (!out.contains("in@0x4000")) { // the rest of the dump
                out = awaitConsole("ivshmem-demo-2", "IVSHMEM: got interrupt 2 (#1)");
                out = out.substring(out.indexOf("IVSHMEM: got interrupt 2 (#1)"));
                Thread.sleep(20);
            }
            // the cell reads the root's state, R/W slot and output section
            assertThat(out)
                    .contains("state[0] = 7", "rw[0] = 5", "in@0x0000 = 119");
            while (e.outputSection(2).get(JAVA_INT_UNALIGNED, 0) != 10) {
                assertThat(System.nanoTime()).as("the cell's output section").isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(e.readWriteSection().get(JAVA_INT_UNALIGNED, 8)).as("rw[2] = count").isEqualTo(1);
            awaitConsole("ivshmem-demo-2", "IVSHMEM: done");
        }
    }

    @Test
    void closingEndsAWaitAndTheDaemonDetaches() throws Exception {
        IvshmemEndpoint e = attach();
        e.enableInterrupts(true);
        CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return e.awaitInterrupts(Duration.ofSeconds(60));
            } catch (Exception x) {
                throw new IllegalStateException(x);
            }
        });
        Thread.sleep(200);
        e.close();
        assertThat(waiting.get(10, TimeUnit.SECONDS)).isZero();
        assertThatThrownBy(() -> e.setState(1)).isInstanceOf(IllegalStateException.class);
        assertThat(client.ivshmemLinks().get(0).attached()).isFalse();
        e.close(); // idempotent
    }

    @Test
    void aDisabledDaemonIsNoticedAndClosedViewsRefuseAccess() throws Exception {
        IvshmemEndpoint e = attach();
        var view = e.ownOutputSection();
        view.set(JAVA_INT_UNALIGNED, 0, 1);
        daemon.close(); // the hypervisor releases the attachment with everything else
        daemon = null;
        assertThatThrownBy(() -> e.awaitInterrupts(Duration.ofSeconds(30))).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("the daemon detached it");
        assertThatThrownBy(() -> e.setState(3)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("no longer takes register writes");
        assertThatThrownBy(e::close).isInstanceOf(java.io.IOException.class).hasMessageContaining("detaching");
        assertThatThrownBy(() -> view.get(JAVA_INT_UNALIGNED, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> e.interruptDescriptor(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> e.interrupts(16)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("vector 16 of 16");
    }
}
