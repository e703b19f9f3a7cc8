package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.protocol.CellEvent;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.EventBatch;
import io.jailhouse.protocol.Partitioning;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The events ring, its followers, the lock watch and how the daemon's log records events. */
class CellEventsTest {
    @Test
    void readersKeepTheirPositionAndAreToldWhatTheyLost() {
        CellEvents events = new CellEvents(4);
        for (int i = 0; i < 6; i++) {
            events.publish(CellEvent.Type.CREATED, "c" + i, i + 1, "");
        }
        EventBatch held = events.read(-1, 100);
        assertThat(held.lost()).as("from the oldest held is no loss").isZero();
        assertThat(held.events()).extracting(CellEvent::cell).containsExactly("c2", "c3", "c4", "c5");
        assertThat(held.next()).isEqualTo(6);
        EventBatch behind = events.read(0, 100);
        assertThat(behind.lost()).isEqualTo(2);
        assertThat(behind.events()).extracting(CellEvent::seq).containsExactly(2L, 3L, 4L, 5L);
        assertThat(events.read(3, 1).events()).extracting(CellEvent::seq).containsExactly(3L);
        assertThat(events.read(99, 10)).isEqualTo(new EventBatch(List.of(), 0, 6));
    }

    @Test
    void aWaitingReadWakesForTheNextEvent() throws Exception {
        CellEvents events = new CellEvents();
        CompletableFuture<EventBatch> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return events.await(0, 10, 10_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        events.publish(CellEvent.Type.STARTED, "tiny-demo", 1, "");
        assertThat(waiting.get(10, TimeUnit.SECONDS).events()).extracting(CellEvent::type)
                .containsExactly(CellEvent.Type.STARTED);
        assertThat(events.await(1, 10, 50).events()).as("nothing after the wait").isEmpty();
    }

    @Test
    void followersGetTheEventsHeldThenEachNewOneInOrder() {
        CellEvents events = new CellEvents();
        events.publish(CellEvent.Type.ADOPTED, "a", 1, "process 7");
        List<String> heard = new ArrayList<>();
        events.follow(e -> heard.add(e.seq() + " " + e.type().text()));
        events.publish(CellEvent.Type.DESTROYED, "a", 1, "");
        assertThat(heard).containsExactly("0 adopted", "1 destroyed");
    }

    @Test
    void detailsAreBoundedAndTypesHaveTheirNames() {
        CellEvent e = new CellEvent(0, 0, CellEvent.Type.FAILED, "x", 1, "F".repeat(5000));
        assertThat(e.detail()).hasSize(CellEvent.MAX_DETAIL);
        assertThat(CellEvent.Type.SHUT_DOWN.text()).isEqualTo("shut-down");
        assertThat(CellEvent.Type.ofText("shut-down")).isEqualTo(CellEvent.Type.SHUT_DOWN);
        assertThat(CellEvent.Type.ofText("rebooted")).isNull();
        assertThat(CellEvent.formatTime(0)).isEqualTo("1970-01-01T00:00:00.000Z");
    }

    @Test
    void theLockWatchReportsLockingAndUnlocking() throws Exception {
        FakeHypervisor fake = new FakeHypervisor(RunningDaemon.systemConfig(), Partitioning.RELAXED);
        fake.createCell(io.jailhouse.config.ConfigFiles.read(RunningDaemon.config("apic-demo.cell"),
                io.jailhouse.config.CellConfig.class));
        CellEvents events = new CellEvents();
        CellLockWatch watch = new CellLockWatch(fake::cells, events); // not started: the test takes the samples
        watch.sample();
        fake.state("apic-demo", CellState.RUNNING_LOCKED);
        watch.sample();
        watch.sample();
        fake.state("apic-demo", CellState.RUNNING);
        watch.sample();
        assertThat(events.read(-1, 10).events()).extracting(ev -> ev.type().text() + " " + ev.detail())
                .containsExactly("locked ", "unlocked now running");
        watch.close();
    }

    @Test
    void theDaemonLogRecordsEventsWithTheirLevelOneRecordALine() {
        StringWriter text = new StringWriter();
        DaemonLog log = new DaemonLog(new PrintWriter(text));
        log.event(new CellEvent(3, 0, CellEvent.Type.FAILED, "hostile", 2, "FATAL: Invalid PIO read, port: 64"));
        log.event(new CellEvent(4, 0, CellEvent.Type.STARTED, "tiny-demo", 1, ""));
        log.client("refused request: \"op\"\n2026-01-01T00:00:00.000Z ERROR jailhoused: forged");
        assertThat(text.toString().lines().toList()).satisfiesExactly(
                l -> assertThat(l).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z WARN jailhoused: "
                        + "event failed cell \"hostile\" \\(id 2\\): FATAL: Invalid PIO read, port: 64"),
                l -> assertThat(l).endsWith(" INFO jailhoused: event started cell \"tiny-demo\" (id 1)"),
                l -> assertThat(l).endsWith(" WARN jailhoused: refused request: \"op\""),
                l -> assertThat(l).as("a client's line break continues the record, indented")
                        .startsWith("\t2026-01-01T00:00:00.000Z ERROR"));
    }
}
