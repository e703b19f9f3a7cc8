package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jailhouse.daemon.FakeHypervisor;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.protocol.CellEvent;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.protocol.RunDirectory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jailhouse events}: the held events, following, JSON lines, and how following ends. */
class EventsCommandTest {
    @TempDir
    Path tmp;
    RunningDaemon daemon;
    Main main;

    @BeforeEach
    void start() throws Exception {
        daemon = RunningDaemon.start(tmp.resolve("run"), Partitioning.RELAXED);
        main = new Main(new RunDirectory(tmp.resolve("run")), DaemonProcess.ofThisJvm(), FakeHypervisor::new);
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    CliRun ok(String... args) {
        CliRun r = CliRun.of(main, args);
        assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
        return r;
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Await.until(condition, what);
    }

    @Test
    void onceJsonPrintsEachEventHeldAsOneObjectALine() throws Exception {
        Instant before = Instant.now().minusMillis(1);
        String cell = RunningDaemon.config("apic-demo.cell").toString();
        ok("cell", "create", cell);
        ok("cell", "load", "apic-demo", "-s", "hello", "-a", "0x1000");
        ok("cell", "start", "apic-demo");
        daemon.fake().state("apic-demo", CellState.FAILED, 3);
        daemon.fake().events().publish(CellEvent.Type.FAILED, "apic-demo", 1, "FATAL: Invalid PIO read, port: 64");
        ok("cell", "destroy", "apic-demo");

        CliRun r = ok("events", "--once", "--json");
        List<JsonNode> lines = r.out().lines().map(l -> {
            try {
                return new ObjectMapper().readTree(l);
            } catch (Exception e) {
                throw new AssertionError("not one JSON object: " + l, e);
            }
        }).toList();
        assertThat(lines).extracting(n -> n.get("event").asText())
                .containsExactly("created", "loaded", "started", "failed", "destroyed");
        assertThat(lines).allSatisfy(n -> {
            assertThat(n.get("cell").asText()).isEqualTo("apic-demo");
            assertThat(n.get("id").asInt()).isEqualTo(1);
            assertThat(Instant.parse(n.get("time").asText())).isAfter(before).isBeforeOrEqualTo(Instant.now());
        });
        assertThat(lines.get(3).get("detail").asText()).isEqualTo("FATAL: Invalid PIO read, port: 64");
        assertThat(lines).extracting(n -> n.get("seq").asLong()).containsExactly(0L, 1L, 2L, 3L, 4L);

        CliRun text = ok("events", "--once");
        assertThat(text.out().lines().toList().get(3)).matches(
                "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z failed \"apic-demo\" \\(id 1\\): "
                        + "FATAL: Invalid PIO read, port: 64");
    }

    @Test
    void followingPrintsWhatComesNotWhatWasAndEndsWithTheDaemon() throws Exception {
        ok("cell", "create", RunningDaemon.config("apic-demo.cell").toString());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        CommandLine cl = Main.commandLine(main);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        Thread follower = Thread.ofPlatform().daemon().start(() -> exit.set(cl.execute("events")));
        // the follower starts at the next event: keep making events until it shows one
        await(() -> {
            daemon.fake().events().publish(CellEvent.Type.LOCKED, "apic-demo", 1, "");
            return out.toString().contains(" locked \"apic-demo\" (id 1)");
        }, "a new event on the follower");
        assertThat(out.toString()).as("not the held ones").doesNotContain("created");
        daemon.fake().events().publish(CellEvent.Type.UNLOCKED, "apic-demo\u001b]0;owned\u0007", 1, "");
        await(() -> out.toString().contains("unlocked"), "the next event");
        assertThat(out.toString()).as("a name's controls escaped").contains("\"apic-demo^[]0;owned^G\"");
        daemon.close();
        follower.join(Duration.ofSeconds(10));
        assertThat(follower.isAlive()).isFalse();
        assertThat(exit.get()).as(err.toString()).isZero();
    }

    @Test
    void aFollowerThatFellBehindIsToldHowManyEventsItLost() throws Exception {
        for (int i = 0; i < io.jailhouse.daemon.CellEvents.CAPACITY + 5; i++) {
            daemon.fake().events().publish(CellEvent.Type.LOCKED, "c", 1, "");
        }
        CliRun r = ok("events", "--once");
        assertThat(r.err()).as("from the oldest held is no loss").isEmpty();
        assertThat(r.out().lines()).hasSize(io.jailhouse.daemon.CellEvents.CAPACITY);
    }
}
