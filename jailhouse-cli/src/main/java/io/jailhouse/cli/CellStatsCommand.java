package io.jailhouse.cli;

import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellStatistics;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse cell stats { ID | [--name] NAME }}: the exit counters
 * under upstream's names, summed over the cell and per CPU. Upstream shows
 * them in a curses viewer; this prints them once, so it can be piped.
 */
@Command(name = "stats", mixinStandardHelpOptions = true, description = "Show a cell's exit statistics.")
final class CellStatsCommand extends DaemonCommand {
    static final String OPERATION = "read(statistics)";

    @Mixin
    CellArgument cell;

    @Option(names = "--json", description = "print the statistics as JSON")
    boolean json;

    @Override
    int run() throws CommandFailure {
        CellRef ref = cell.ref();
        CellStatistics stats = request(OPERATION, c -> c.statistics(ref));
        if (!stats.counted()) {
            err().println("Cell \"" + stats.cellName() + "\" has no statistics: " + stats.note() + ".");
        }
        out().print(json ? toJson(stats) + "\n" : table(stats));
        return 0;
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
