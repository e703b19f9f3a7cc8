package io.jailhouse.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.DaemonStatus;
import io.jailhouse.protocol.JsonCodec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse status [--json]} (not upstream's): whether the hypervisor
 * is enabled, on what, since when, how full its pools are, its cells by
 * state and what each process holds in memory. Exit 0 enabled or not: the
 * first line (or {@code "enabled"}) says which.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the hypervisor's state: configuration, uptime, pools, cells, memory.")
final class StatusCommand extends DaemonCommand {
    @Option(names = "--json", description = "print the status as JSON")
    boolean json;

    @Override
    int run() throws CommandFailure {
        DaemonStatus status = requestIfEnabled("status", ControlClient::status).orElse(null);
        if (status == null) {
            out().println(json ? JsonCodec.pretty(JsonCodec.object().put("enabled", false)) : "Hypervisor: not enabled");
            return 0;
        }
        out().print(json ? toJson(status) + "\n" : text(status));
        return 0;
    }

    static String toJson(DaemonStatus s) {
        ObjectNode root = JsonCodec.object().put("enabled", true);
        root.setAll(ControlMessages.status(s)); // the daemon's reply, as it sent it
        return JsonCodec.pretty(root);
    }

    static String text(DaemonStatus s) {
        StringBuilder sb = new StringBuilder();
        line(sb, "Hypervisor:", "enabled, Jailhouse " + s.release() + ", system configuration \"" + s.system()
                + "\", " + s.cells().partitioning().name().toLowerCase(Locale.ROOT) + " partitioning");
        line(sb, "Uptime:", duration(s.uptimeMillis()) + " (since "
                + Instant.ofEpochMilli(s.startedMillis()).truncatedTo(ChronoUnit.SECONDS) + ")");
        DaemonStatus.PoolUsage p = s.pool();
        line(sb, "Memory pool:", p.memUsed() + "/" + p.memTotal() + " pages" + percent(p.memUsed(), p.memTotal()));
        line(sb, "Remap pool:", p.remapUsed() + "/" + p.remapTotal() + percent(p.remapUsed(), p.remapTotal()));
        Map<String, Integer> byState = new TreeMap<>();
        for (CellStatus c : s.cells().cells()) {
            byState.merge(c.stateText(), 1, Integer::sum);
        }
        StringBuilder states = new StringBuilder();
        byState.forEach((state, n) -> states.append(states.isEmpty() ? "" : ", ").append(n).append(' ').append(state));
        line(sb, "Cells:", s.cells().cells().size() + (states.isEmpty() ? "" : " (" + states + ")"));
        line(sb, "Supervisor:", "pid " + s.pid() + ", " + mebibytes(s.supervisorRss()) + " resident");
        sb.append('\n');
        TextColumns.left(sb, "ID", 8);
        TextColumns.left(sb, "Name", 24);
        TextColumns.left(sb, "State", 18);
        TextColumns.left(sb, "PID", 10);
        sb.append("RSS\n");
        for (CellStatus c : s.cells().cells()) {
            Long rss = s.cellRss().get(c.id());
            TextColumns.left(sb, c.id(), 8);
            TextColumns.left(sb, c.name(), 24);
            TextColumns.left(sb, c.stateText(), 18);
            TextColumns.left(sb, c.pid() == 0 ? "-" : Long.toString(c.pid()), 10);
            sb.append(rss == null ? "-" : mebibytes(rss)).append('\n');
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String label, String value) {
        TextColumns.left(sb, label, 14).append(value).append('\n');
    }

    static String duration(long millis) {
        long s = millis / 1000;
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    static String mebibytes(long bytes) {
        return bytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    private static String percent(long used, long total) {
        return total <= 0 ? "" : String.format(Locale.ROOT, " (%.1f %%)", 100.0 * used / total);
    }
}
