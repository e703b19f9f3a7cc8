package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.protocol.CellStatistics;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.junit.jupiter.api.Test;

/** Live {@code cell stats}: the frames as upstream's viewer draws them, its keys, and the terminal given back. */
class LiveStatsTest {
    /** Two CPUs; CPU 2 makes {@code pio} exits at {@code n}, CPU 3 {@code mmio} ones at twice that. */
    static CellStatistics stats(long n) {
        Map<Integer, Map<String, Long>> perCpu = new LinkedHashMap<>();
        perCpu.put(2, counters(n, 0));
        perCpu.put(3, counters(0, 2 * n));
        return new CellStatistics(1, "tiny-demo", counters(n, 2 * n), perCpu);
    }

    static Map<String, Long> counters(long pio, long mmio) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String name : CellStatistics.NAMES) {
            m.put(name, 0L);
        }
        m.put("vmexits_pio", pio);
        m.put("vmexits_mmio", mmio);
        m.put("vmexits_total", pio + mmio);
        return m;
    }

    static String plain(List<String> frame) {
        return String.join("\n", frame).replace("\033[7m", "").replace("\033[0m", "");
    }

    @Test
    void framesShowSumsAndRatesTheBusiestFirstAndKeysPickTheCpu() {
        StatsView view = new StatsView("tiny-demo");
        List<String> first = view.frame(stats(100), 0, 80, 24);
        assertThat(first).hasSize(24);
        assertThat(first.get(0)).isEqualTo("Statistics for tiny-demo cell");
        assertThat(plain(first)).contains("COUNTER (All CPUs)                   SUM   PER SEC");
        assertThat(first.get(3)).as("no rate before a second frame").isEqualTo("vmexits_total" + " ".repeat(17)
                + "       300");
        assertThat(first.get(23)).startsWith("\033[7m" + StatsView.FOOTER);

        List<String> second = view.frame(stats(150), 2_000_000_000L, 80, 24);
        assertThat(second.subList(3, 6)).containsExactly(
                "vmexits_total                        450        75",
                "vmexits_mmio                         300        50",
                "vmexits_pio                          150        25");

        assertThat(view.key('c')).isTrue();
        List<String> cpu2 = view.frame(stats(200), 3_000_000_000L, 80, 24);
        assertThat(plain(cpu2)).contains("COUNTER (CPU 2)");
        assertThat(cpu2.get(3)).as("the rates start over").isEqualTo("vmexits_pio" + " ".repeat(19) + "       200");
        view.key('c');
        assertThat(plain(view.frame(stats(200), 4_000_000_000L, 80, 24))).contains("COUNTER (CPU 3)");
        view.key('c');
        assertThat(plain(view.frame(stats(200), 5_000_000_000L, 80, 24))).as("round to the first CPU")
                .contains("COUNTER (CPU 2)");
        view.key('a');
        assertThat(plain(view.frame(stats(200), 6_000_000_000L, 80, 24))).contains("COUNTER (All CPUs)");
        assertThat(view.key('x')).isTrue();
        assertThat(view.key('q')).isFalse();
        assertThat(view.frame(stats(200), 7_000_000_000L, 20, 6)).as("cut to a small screen").hasSize(6)
                .allMatch(l -> l.replace("\033[7m", "").replace("\033[0m", "").length() <= 20);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Await.until(condition, what);
    }

    @Test
    void aTerminalGetsAFrameASecondTakesKeysAndIsGivenBack() throws Exception {
        PipedOutputStream keys = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(keys);
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        AtomicLong reads = new AtomicLong();
        try (Terminal terminal = TerminalBuilder.builder().system(false).streams(in, screen).type("xterm")
                .build()) {
            var before = terminal.getAttributes();
            Thread t = Thread.ofPlatform().daemon().start(() -> {
                try {
                    new LiveStats(terminal, () -> stats(100 * reads.incrementAndGet()), new StatsView("tiny-demo"))
                            .run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await(() -> reads.get() >= 2, "a second frame a second later");
            keys.write('c');
            keys.flush();
            await(() -> screen.toString(StandardCharsets.UTF_8).contains("COUNTER (CPU 2)"), "CPU 2's frame");
            keys.write('q');
            keys.flush();
            t.join(Duration.ofSeconds(10));
            assertThat(t.isAlive()).isFalse();
            String shown = screen.toString(StandardCharsets.UTF_8);
            assertThat(shown).contains("\033[?1049h\033[?25l").endsWith("\033[?25h\033[?1049l");
            // 300 more exits in about a second (the frames' own clock says how long exactly)
            assertThat(shown).containsPattern("vmexits_total {24}600 +(2[5-9][0-9]|3[0-4][0-9])\\r+\\n");
            assertThat(terminal.getAttributes().toString()).as("the terminal as it was").isEqualTo(before.toString());
        }
    }
}
