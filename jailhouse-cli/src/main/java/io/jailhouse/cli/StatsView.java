package io.jailhouse.cli;

import io.jailhouse.protocol.CellStatistics;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What live {@code cell stats} shows, frame by frame, as upstream's
 * jailhouse-cell-stats: the counters of all CPUs or of one, with their sum
 * and their rate since the last frame, the busiest first (by rate, then by
 * sum, then by name); {@code c} steps to the next CPU, {@code a} back to all
 * of them, either starting the rates over. Pure: the terminal is
 * {@link LiveStats}'s.
 */
final class StatsView {
    static final String FOOTER = " Q - Quit | C - Toggle CPU | A - All CPUs";
    private static final String REVERSE = "\033[7m";
    private static final String NORMAL = "\033[0m";
    private static final String PREFIX = "vmexits_";

    private final String cellName;
    /** -1: all CPUs; else an index into the cell's CPUs, in their order. */
    private int cpu = -1;
    private Map<String, Long> previous = Map.of();
    private long previousNanos;
    /** The cell's CPUs as the last frame found them, which {@code c} steps through. */
    private List<Integer> cpus = List.of();

    StatsView(String cellName) {
        this.cellName = cellName;
    }

    /** A key the user pressed; false for the one that quits. */
    boolean key(int c) {
        switch (Character.toLowerCase(c)) {
            case 'q' -> {
                return false;
            }
            case 'c' -> {
                cpu = cpus.isEmpty() ? -1 : (cpu + 1) % cpus.size();
                previous = Map.of();
            }
            case 'a' -> {
                cpu = -1;
                previous = Map.of();
            }
            default -> {
                // upstream ignores other keys
            }
        }
        return true;
    }

    /** The frame for {@code s} read at {@code nanos}, cut to the screen; remembers it for the next rates. */
    List<String> frame(CellStatistics s, long nanos, int width, int height) {
        List<Integer> sorted = new ArrayList<>(s.perCpu().keySet());
        sorted.sort(null);
        cpus = List.copyOf(sorted);
        if (cpu >= cpus.size()) {
            cpu = -1;
        }
        Map<String, Long> values = new HashMap<>();
        Map<String, Long> source = cpu < 0 ? s.total() : s.perCpu().get(cpus.get(cpu));
        source.forEach((name, v) -> {
            if (name.startsWith(PREFIX)) {
                values.put(name, v);
            }
        });
        double seconds = (nanos - previousNanos) / 1e9;
        Map<String, Long> before = previous;
        Comparator<String> busiest = Comparator.<String>comparingLong(n -> before.containsKey(n)
                ? before.get(n) - values.get(n) : 0).thenComparingLong(n -> -values.get(n))
                .thenComparing(Comparator.naturalOrder());
        List<String> names = new ArrayList<>(values.keySet());
        names.sort(busiest);

        List<String> lines = new ArrayList<>();
        lines.add(cut("Statistics for " + cellName + " cell", width));
        lines.add("");
        StringBuilder header = new StringBuilder();
        TextColumns.left(header, "COUNTER " + (cpu < 0 ? "(All CPUs)" : "(CPU " + cpus.get(cpu) + ")"), 30);
        TextColumns.right(header, "SUM", 10);
        TextColumns.right(header, "PER SEC", 10);
        lines.add(REVERSE + pad(cut(header.toString(), width), width) + NORMAL);
        for (String name : names) {
            if (lines.size() >= height - 1) {
                break; // the footer keeps the last line
            }
            StringBuilder row = new StringBuilder();
            TextColumns.left(row, name, 30);
            TextColumns.right(row, values.get(name), 10);
            if (before.containsKey(name) && seconds > 0) {
                TextColumns.right(row, Math.round((values.get(name) - before.get(name)) / seconds), 10);
            }
            lines.add(cut(row.toString(), width));
        }
        while (lines.size() < height - 1) {
            lines.add("");
        }
        lines.add(REVERSE + pad(cut(FOOTER, width), width) + NORMAL);
        previous = values;
        previousNanos = nanos;
        return lines;
    }

    private static String cut(String line, int width) {
        return line.length() > width ? line.substring(0, Math.max(0, width)) : line;
    }

    private static String pad(String line, int width) {
        return line.length() >= width ? line : line + " ".repeat(width - line.length());
    }
}
