package io.jailhouse.cli;

import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellStatistics;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse cell stats { ID | [--name] NAME } [--once] [--json]}: the
 * exit counters under upstream's names. On a terminal, as upstream's viewer:
 * refreshed every second with a PER SEC column, the busiest first, keys
 * q, c (next CPU) and a (all CPUs). Through a pipe, with {@code --once} or
 * {@code --json}: printed once, summed over the cell and per CPU.
 */
@Command(name = "stats", mixinStandardHelpOptions = true, description = {"Show a cell's exit statistics.",
    "On a terminal they refresh every second: q quits, c shows the next CPU, a all CPUs."})
final class CellStatsCommand extends DaemonCommand {
    static final String OPERATION = "read(statistics)";

    @Mixin
    CellArgument cell;

    @Option(names = "--json", description = "print the statistics as JSON (once)")
    boolean json;

    @Option(names = "--once", description = "print the statistics once, even on a terminal")
    boolean once;

    @Override
    int run() throws CommandFailure {
        CellRef ref = cell.ref();
        if (!once && !json && Main.of(spec).isInteractive()) {
            return live(ref);
        }
        CellStatistics stats = request(OPERATION, c -> c.statistics(ref));
        if (!stats.counted()) {
            err().println("Cell \"" + stats.cellName() + "\" has no statistics: " + stats.note() + ".");
        }
        out().print(json ? toJson(stats) + "\n" : table(stats));
        return 0;
    }

    /** Upstream's viewer: one connection for all frames; the root cell, which has no counters, is refused first. */
    private int live(CellRef ref) throws CommandFailure {
        CellStatistics first = request(OPERATION, c -> c.statistics(ref));
        if (!first.counted()) {
            err().println("Cell \"" + first.cellName() + "\" has no statistics: " + first.note() + ".");
            return 0;
        }
        return request(OPERATION, c -> {
            try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
                new LiveStats(terminal, () -> c.statistics(ref), new StatsView(first.cellName())).run();
            }
            return 0;
        });
    }

    static String table(CellStatistics s) {
        List<Integer> cpus = new ArrayList<>(s.perCpu().keySet());
        cpus.sort(null);
        StringBuilder sb = new StringBuilder();
        sb.append("Statistics for cell \"").append(s.cellName()).append("\" (id ").append(s.cellId()).append(")\n");
        if (!s.counted()) {
            return sb.toString(); // the reason went to stderr
        }
        sb.append('\n');
        TextColumns.right(TextColumns.left(sb, "COUNTER", 26), "SUM", 14);
        for (int cpu : cpus) {
            TextColumns.right(sb, "CPU " + cpu, 14);
        }
        sb.append('\n');
        // Upstream's order first; names a newer hypervisor adds come after.
        Set<String> names = new LinkedHashSet<>(CellStatistics.NAMES);
        names.addAll(s.total().keySet());
        for (String name : names) {
            TextColumns.right(TextColumns.left(sb, name, 26), s.total().getOrDefault(name, 0L), 14);
            for (int cpu : cpus) {
                TextColumns.right(sb, s.perCpu().get(cpu).getOrDefault(name, 0L), 14);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String toJson(CellStatistics s) {
        return JsonCodec.pretty(ControlMessages.statistics(s));
    }
}
