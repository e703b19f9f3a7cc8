package io.jailhouse.cli;

import io.jailhouse.protocol.JsonCodec;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.protocol.CellList;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.Partitioning;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse cell list}: upstream's table, byte for byte; nothing at all
 * when the hypervisor is not enabled (upstream finds no sysfs directory and
 * says nothing).
 */
@Command(name = "list", mixinStandardHelpOptions = true, description = "List the cells.")
final class CellListCommand extends DaemonCommand {
    static final String RELAXED_NOTE = "Relaxed partitioning: logical CPUs share host CPUs (for development only).";

    @Option(names = "--json", description = "print the cells as JSON")
    boolean json;

    @Override
    int run() throws CommandFailure {
        CellList list = requestIfEnabled("cell list", ControlClient::cells).orElse(null);
        if (list == null) {
            if (json) {
                out().println(toJson(null));
            }
            return 0;
        }
        out().print(json ? toJson(list) + "\n" : table(list));
        if (!json && list.partitioning() == Partitioning.RELAXED && !list.cells().isEmpty()) {
            out().flush();
            err().println(RELAXED_NOTE); // not a row of the table
        }
        return 0;
    }

    /** Upstream's {@code printf} formats: left-aligned columns of 8, 24, 18, 24 and 24 characters. */
    static String table(CellList list) {
        StringBuilder sb = new StringBuilder();
        if (list.cells().isEmpty()) {
            return "";
        }
        row(sb, "ID", "Name", "State", "Assigned CPUs", "Failed CPUs");
        for (CellStatus c : list.cells()) {
            row(sb, c.id(), c.name(), c.stateText(), cpuList(c.assignedCpus()), cpuList(c.failedCpus()));
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, Object id, String name, String state, String assigned, String failed) {
        TextColumns.left(sb, id, 8);
        TextColumns.left(sb, name, 24);
        TextColumns.left(sb, state, 18);
        TextColumns.left(sb, assigned, 24);
        TextColumns.left(sb, failed, 24).append('\n');
    }

    /** The kernel's {@code %*pbl} range list: {@code 0-1,3,5-7}. */
    static String cpuList(List<Integer> cpus) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < cpus.size()) {
            int first = cpus.get(i);
            int last = first;
            while (i + 1 < cpus.size() && cpus.get(i + 1) == last + 1) {
                last = cpus.get(++i);
            }
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            sb.append(first);
            if (last != first) {
                sb.append('-').append(last);
            }
            i++;
        }
        return sb.toString();
    }

    /** @param list null when not enabled */
    static String toJson(CellList list) {
        ObjectNode root = JsonCodec.object().put("enabled", list != null);
        if (list != null) {
            root.setAll(ControlMessages.cellList(list)); // the daemon's reply: partitioning, cells
        } else {
            root.putArray("cells");
        }
        return JsonCodec.pretty(root);
    }
}
