package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.MemoryRegion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.LoadImage;

/**
 * Hostile inmates (their own small programs, built by the inmates module)
 * in one cell, the well-behaved {@code ticker} in another beside it: each
 * hostile cell ends as upstream would have it (FAILED with the FATAL line,
 * or still running), can be destroyed, and the ticker keeps its 100 ms
 * schedule throughout. Relaxed partitioning here: the two cells' CPUs map to
 * the host's two CPUs. Skipped loudly without KVM.
 */
class IsolationTest extends KvmCellTestBase {
    static final Path TESTS = Path.of("..", "inmates", "tests", "x86");
    static final Pattern TICK = Pattern.compile("tick (\\d+) at (\\d+) ns");
    /**
     * The ticker's period is 100 ms. A neighbour disturbed by a hostile cell
     * stays behind for as long as the hostility lasts (seconds here); a few
     * hundred ms are the host's scheduling, as relaxed partitioning shares the
     * host's two CPUs with the cell processes' JVMs starting.
     */
    static final long MAX_TICK_GAP_NS = 500_000_000L;

    /** apic-demo's CPU and memory, but passive: the ticker does not answer messages. */
    static CellConfig neighbour() throws Exception {
        CellConfig a = ConfigFiles.read(CONFIGS.resolve("apic-demo.yaml"), CellConfig.class);
        return a.withName("ticker").withFlags(a.flags() | CellConfig.PASSIVE_COMMREG);
    }

    /** tiny-demo plus one read-only page at 0x200000 (phys 0x3f200000, inside the root's memory). */
    static CellConfig hostileCell() throws Exception {
        CellConfig t = ConfigFiles.read(CONFIGS.resolve("tiny-demo.yaml"), CellConfig.class);
        List<MemoryRegion> regions = new ArrayList<>(t.memoryRegions());
        regions.add(new MemoryRegion(0x3f200000L, 0x200000L, 0x1000, MemoryRegion.READ));
        return t.withName("hostile").withMemoryRegions(regions);
    }

    void start(CellConfig cell, Path image, String cmdline) throws Exception {
        hv.createCell(cell);
        CellRef ref = CellRef.parse(cell.name());
        hv.loadCell(ref, List.of(new LoadImage(image.toString(), Files.readAllBytes(image), 0xf0000),
                new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
        hv.startCell(ref);
    }

    String console(String cell) throws HypervisorException {
        ConsoleLog c = hv.cellConsole(CellRef.parse(cell));
        return c.read(0, 1 << 20).text();
    }

    void await(Supplier<Boolean> condition, String what) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!condition.get()) {
            assertThat(System.nanoTime()).as("waiting for %s; hypervisor console:%n%s", what,
                    hv.console().read(0, 4096).text()).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    static List<long[]> ticks(String out) {
        List<long[]> ticks = new ArrayList<>();
        Matcher m = TICK.matcher(out);
        while (m.find()) {
            ticks.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
        }
        return ticks;
    }

    int tickCount() throws HypervisorException {
        return ticks(console("ticker")).size();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "bad-pio      | port=0x1234 | failed  | FATAL: Invalid PIO write, port: 1234 size: 1",
        "bad-mmio     | addr=0x10000000 | failed | FATAL: Invalid MMIO/RAM read, addr: 0x0000000010000000 size: 4",
        "ro-write     | addr=0x200000 | failed  | FATAL: Invalid MMIO/RAM write, addr: 0x0000000000200000 size: 4",
        "triple-fault | insn=ud2    | failed  | FATAL: Unhandled VM-Exit, reason 2 (triple fault)",
        "endless-loop | ''          | running | endless-loop: spinning with interrupts off",
        "exit-storm   | report=2000 | running | exit-storm: 4000 exits"})
    void aHostileCellIsContainedAndItsNeighbourKeepsItsSchedule(String inmate, String cmdline, String outcome,
            String evidence) throws Exception {
        start(neighbour(), TESTS.resolve("ticker.bin"), "period=100");
        await(() -> tickSafe() >= 3, "the ticker's first ticks");

        start(hostileCell(), TESTS.resolve(inmate + ".bin"), cmdline);
        CellRef hostile = CellRef.parse("hostile");
        if (outcome.equals("failed")) {
            await(() -> stateSafe(hostile) == CellState.FAILED, inmate + " to fail");
            assertThat(hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text())
                    .contains(evidence, "Parking CPU 2 (Cell: \"hostile\")");
            assertThat(hv.cell(hostile).failedCpus()).containsExactly(2);
            assertThat(console("hostile")).doesNotContain(inmate + ": survived");
            await(() -> failedEvent("hostile").contains(evidence), "the failed event with the FATAL line");
        } else {
            await(() -> consoleSafe("hostile").contains(evidence), inmate + " to get going");
        }
        // the neighbour keeps ticking on time for a while beside it
        int before = tickCount();
        Thread.sleep(1500);
        assertThat(tickCount() - before).as("ticks in 1.5 s beside " + inmate).isGreaterThanOrEqualTo(10);
        if (outcome.equals("running")) {
            assertThat(hv.cell(hostile).state()).isEqualTo(CellState.RUNNING);
        }
        hv.destroyCell(hostile);
        int afterDestroy = tickCount();
        await(() -> tickSafe() >= afterDestroy + 3, "ticks after the hostile cell is gone");

        List<long[]> ticks = ticks(console("ticker"));
        for (int i = 1; i < ticks.size(); i++) {
            assertThat(ticks.get(i)[0]).isEqualTo(ticks.get(i - 1)[0] + 1);
            assertThat(ticks.get(i)[1] - ticks.get(i - 1)[1]).as("gap before tick %d beside %s",
                    ticks.get(i)[0], inmate).isLessThan(MAX_TICK_GAP_NS);
        }
        assertThat(hv.cell(CellRef.parse("ticker")).state()).isEqualTo(CellState.RUNNING);
    }

    /**
     * kill -9 of a cell's process: that cell alone fails (FATAL line, its
     * CPU failed, no process), its neighbour keeps its 10 Hz tick, and
     * {@code cell load} + {@code cell start} bring it back in a new process
     * with its console history.
     */
    @org.junit.jupiter.api.Test
    void aKilledCellProcessFailsOnlyItsCellAndLoadAndStartBringItBack() throws Exception {
        start(neighbour(), TESTS.resolve("ticker.bin"), "period=100");
        await(() -> tickSafe() >= 3, "the ticker's first ticks");
        Path tiny = DEMOS.resolve("tiny-demo.bin");
        CellRef victim = CellRef.parse("hostile");
        start(hostileCell(), tiny, "");
        await(() -> consoleSafe("hostile").contains("Hello from this tiny cell!"), "tiny-demo's greeting");
        long pid = hv.cell(victim).pid();
        assertThat(pid).as("the cell's process").isPositive().isNotEqualTo(ProcessHandle.current().pid());
        assertThat(hv.cell(CellRef.parse("ticker")).pid()).isPositive().isNotEqualTo(pid);

        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        await(() -> stateSafe(victim) == CellState.FAILED, "the killed cell to fail");
        assertThat(hv.console().read(0, 1 << 20).text()).contains("FATAL: the process " + pid
                + " of cell \"hostile\" ended (killed by signal 9)");
        assertThat(hv.cell(victim).failedCpus()).containsExactly(2);
        assertThat(hv.cell(victim).pid()).isZero();
        assertThat(failedEvent("hostile")).isEqualTo("FATAL: the process " + pid + " of cell \"hostile\" ended"
                + " (killed by signal 9); the cell has failed and keeps its resources until it is destroyed or loaded"
                + " again");
        int before = tickCount();
        Thread.sleep(1500);
        assertThat(tickCount() - before).as("ticks in 1.5 s after the neighbour's process died")
                .isGreaterThanOrEqualTo(10);
        assertThat(hv.cell(CellRef.parse("ticker")).state()).isEqualTo(CellState.RUNNING);
        assertThatThrownBy(() -> hv.startCell(victim)).hasMessageContaining("load it first");

        hv.loadCell(victim, List.of(new LoadImage(tiny.toString(), Files.readAllBytes(tiny), 0xf0000)));
        hv.startCell(victim);
        await(() -> consoleSafe("hostile").split("Hello from this tiny cell!", -1).length == 3,
                "the greeting of the new process after the first one's (history kept)");
        assertThat(hv.cell(victim).state()).isEqualTo(CellState.RUNNING);
        assertThat(hv.cell(victim).failedCpus()).isEmpty();
        assertThat(hv.cell(victim).pid()).isPositive().isNotEqualTo(pid);
        hv.destroyCell(victim);

        List<long[]> ticks = ticks(console("ticker"));
        for (int i = 1; i < ticks.size(); i++) {
            assertThat(ticks.get(i)[1] - ticks.get(i - 1)[1]).as("gap before tick %d", ticks.get(i)[0])
                    .isLessThan(MAX_TICK_GAP_NS);
        }
    }

    /** The detail of the cell's last failed event, or "" if it has none. */
    private String failedEvent(String cell) {
        String detail = "";
        for (io.jailhouse.protocol.CellEvent e : hv.events().read(-1, CellEvents.CAPACITY).events()) {
            if (e.type() == io.jailhouse.protocol.CellEvent.Type.FAILED && e.cell().equals(cell)) {
                detail = e.detail();
            }
        }
        return detail;
    }

    private int tickSafe() {
        try {
            return tickCount();
        } catch (HypervisorException e) {
            throw new AssertionError(e);
        }
    }

    private CellState stateSafe(CellRef ref) {
        try {
            return hv.cell(ref).state();
        } catch (HypervisorException e) {
            throw new AssertionError(e);
        }
    }

    private String consoleSafe(String cell) {
        try {
            return console(cell);
        } catch (HypervisorException e) {
            throw new AssertionError(e);
        }
    }
}
