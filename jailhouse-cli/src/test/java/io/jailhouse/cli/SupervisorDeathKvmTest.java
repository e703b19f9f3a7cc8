package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the supervisor with two cells running: both keep running (their
 * processes and ticks go on), {@code jailhouse enable} with the same system
 * config adopts them, their console history and ticks continue, and
 * shutdown, destroy and disable work on them afterwards.
 */
class SupervisorDeathKvmTest extends KvmCliTest {
    static final Path TICKER = Path.of("..", "inmates", "tests", "x86", "ticker.bin").toAbsolutePath().normalize();
    static final Pattern TICK = Pattern.compile("tick (\\d+) at (\\d+) ns");
    /**
     * The ticker's period is 100 ms. A cell held up by the supervisor's death
     * or by its adoption would show a gap of the whole 1.5 s without a
     * supervisor or of the enable; shorter gaps are the host's scheduling, as
     * relaxed partitioning shares the host's two CPUs with the new
     * supervisor's and the CLI's JVMs starting (272 ms seen in CI).
     */
    static final long MAX_TICK_GAP_NS = 1_000_000_000L;

    /** apic-demo's CPU and memory as a passive cell named "ticker" (the ticker does not answer messages). */
    Path tickerConfig() throws Exception {
        CellConfig a = ConfigFiles.read(Path.of("..", "configs", "x86", "apic-demo.yaml"), CellConfig.class);
        Path file = tmp.resolve("ticker.cell");
        ConfigFiles.write(file, a.withName("ticker").withFlags(a.flags() | CellConfig.PASSIVE_COMMREG));
        return file;
    }

    Map<String, Long> pids() throws Exception {
        JsonNode list = new ObjectMapper().readTree(ok("cell", "list", "--json").out());
        Map<String, Long> pids = new LinkedHashMap<>();
        for (JsonNode c : list.get("cells")) {
            if (c.get("id").asInt() != 0) {
                pids.put(c.get("name").asText(), c.get("pid").asLong());
            }
        }
        return pids;
    }

    static List<long[]> ticks(String out) {
        List<long[]> ticks = new ArrayList<>();
        Matcher m = TICK.matcher(out);
        while (m.find()) {
            ticks.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
        }
        return ticks;
    }

    @Test
    void cellsOutliveAKilledSupervisorAndTheNextOneAdoptsThem() throws Exception {
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        ok("cell", "create", tickerConfig().toString());
        ok("cell", "load", "ticker", TICKER.toString(), "-a", "0xf0000", "-s", "period=100", "-a", "0xf1000");
        ok("cell", "start", "ticker");
        ok("cell", "create", cfg("tiny-demo.cell"));
        ok("cell", "load", "tiny-demo", TINY_DEMO.toString(), "-a", "0xf0000");
        ok("cell", "start", "tiny-demo");
        awaitConsole("ticker", "tick ", 5);
        awaitConsole("tiny-demo", "PM Timer:", 1);
        Map<String, Long> pids = pids();
        assertThat(pids.keySet()).containsExactly("ticker", "tiny-demo");
        assertThat(pids.values()).allMatch(p -> p > 0);
        int ticksBefore = ticks(ok("cell", "console", "ticker").out()).size();

        long supervisor = run.readPid().orElseThrow();
        ProcessHandle.of(supervisor).orElseThrow().destroyForcibly();
        ProcessHandle.of(supervisor).ifPresent(p -> p.onExit().join());
        // Without a supervisor the cells run on: their processes live, and a second of ticks later...
        for (long pid : pids.values()) {
            assertThat(ProcessHandle.of(pid)).as("cell process %d", pid).hasValueSatisfying(
                    p -> assertThat(p.isAlive()).isTrue());
        }
        TimeUnit.MILLISECONDS.sleep(1500); // the ticks of this while show in the console afterwards

        CliRun enable = ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        assertThat(pids()).as("the same processes, adopted").isEqualTo(pids);
        String console = ok("console").out();
        assertThat(console).contains("Adopted cell \"ticker\" (id 1, process " + pids.get("ticker") + ")",
                "Adopted cell \"tiny-demo\" (id 2, process " + pids.get("tiny-demo") + ")");
        assertThat(console).as("the history from before").contains("Started cell \"tiny-demo\"");
        assertThat(ok("events", "--once").out()).as("the new supervisor's events begin with the adoptions")
                .containsPattern("Z adopted \"ticker\" \\(id 1\\): process " + pids.get("ticker") + "\n.*Z adopted "
                        + "\"tiny-demo\" \\(id 2\\): process " + pids.get("tiny-demo") + "\n");
        assertThat(enable.out() + enable.err()).doesNotContain("error");

        String ticker = awaitConsole("ticker", "tick ", ticksBefore + 20);
        List<long[]> ticks = ticks(ticker);
        assertThat(ticks.size()).as("ticks counted while no supervisor ran").isGreaterThan(ticksBefore + 14);
        for (int i = 1; i < ticks.size(); i++) {
            assertThat(ticks.get(i)[0]).isEqualTo(ticks.get(i - 1)[0] + 1);
            // from the kill on: the ticks before it shared the host's two CPUs with tiny-demo's start
            // (relaxed partitioning isolates nothing in time), which is not what this test is about
            if (i >= ticksBefore) {
                assertThat(ticks.get(i)[1] - ticks.get(i - 1)[1]).as("gap before tick %d", ticks.get(i)[0])
                        .isLessThan(MAX_TICK_GAP_NS);
            }
        }
        awaitConsole("tiny-demo", "PM Timer:", 3);
        assertThat(ok("cell", "stats", "tiny-demo").out()).contains("vmexits_pio");

        ok("cell", "shutdown", "tiny-demo");
        assertThat(ok("cell", "list").out()).containsPattern("tiny-demo\\s+shut down");
        ok("cell", "destroy", "tiny-demo");
        assertThat(ended(pids.get("tiny-demo"))).as("a destroyed cell's process ends").isTrue();
        ok("disable");
        assertThat(ended(pids.get("ticker"))).isTrue();
    }

    /**
     * Whether the process is gone or a zombie: an adopted process is not the
     * new supervisor's child, so the one that reaps it is init.
     */
    static boolean ended(long pid) throws Exception {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!java.nio.file.Files.exists(stat)) {
            return true;
        }
        String s = java.nio.file.Files.readString(stat);
        char state = s.charAt(s.lastIndexOf(')') + 2);
        return state == 'Z' || state == 'X';
    }
}
