package io.jailhouse.cli.hardware;

import java.util.ArrayList;
import java.util.List;

/** All findings of a hardware check, in groups, and the verdict. */
public record HardwareReport(List<List<Finding>> groups) {
    public static final int EXIT_PASSED = 0;
    public static final int EXIT_SKIPPED = 1;
    public static final int EXIT_FAILED = 2;

    public HardwareReport {
        groups = groups.stream().map(List::copyOf).toList();
    }

    public List<Finding> findings() {
        return groups.stream().flatMap(List::stream).toList();
    }

    /** 2 if a required feature is missing, 1 if one could not be checked, else 0. */
    public int exitCode() {
        if (findings().stream().anyMatch(Finding::fails)) {
            return EXIT_FAILED;
        }
        if (findings().stream().anyMatch(Finding::essentialSkipped)) {
            return EXIT_SKIPPED;
        }
        return EXIT_PASSED;
    }

    /** The table as printed: feature, availability, detail; then notes and the verdict. */
    public List<String> render() {
        List<String> out = new ArrayList<>();
        out.add(String.format("%-32s%s", "Feature", "Availability"));
        out.add(String.format("%-32s%s", "------------------------------", "------------------"));
        for (int g = 0; g < groups.size(); g++) {
            if (g > 0) {
                out.add("");
            }
            for (Finding f : groups.get(g)) {
                String name = (f.indented() ? "  " : "") + f.feature();
                String line = f.detail().isEmpty()
                        ? String.format("%-32s%s", name, f.availability())
                        : String.format("%-32s%-24s%s", name, f.availability(), f.detail());
                out.add(line.stripTrailing());
            }
        }
        out.add("");
        List<String> relaxed = findings().stream().filter(Finding::limitsToRelaxed).map(Finding::feature).toList();
        if (!relaxed.isEmpty()) {
            out.add("Note: only relaxed partitioning (cell CPUs sharing host CPUs) is possible here, for lack of: "
                    + String.join(", ", relaxed) + ".");
        }
        List<String> pinning = findings().stream().filter(Finding::limitsToPinning).map(Finding::feature).toList();
        if (!pinning.isEmpty()) {
            out.add("Note: strict partitioning pins each cell CPU to its own host CPU but cannot keep host tasks off it"
                    + " here, for lack of: " + String.join(", ", pinning) + ".");
        }
        switch (exitCode()) {
            case EXIT_FAILED -> out.add("Check FAILED!");
            case EXIT_SKIPPED -> {
                long n = findings().stream().filter(Finding::essentialSkipped).count();
                out.add("Check incomplete: " + n + " essential check" + (n == 1 ? " was" : "s were")
                        + " skipped (marked SKIPPED).");
            }
            default -> out.add("Check passed!");
        }
        return out;
    }
}
