package io.jailhouse.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The rule for a cell's CPUs, in one place for {@code config check} and for
 * {@code cell create}: a cell has CPUs, each of them the root cell's, none
 * held by another cell, and on x86 not CPU 0, which stays with Linux.
 * Callers word the conflicts for their context.
 */
public final class CpuAssignment {
    /** What is wrong with one CPU (or with the whole set, for {@link Kind#NO_CPU}; cpu is then -1). */
    public record Conflict(Kind kind, int cpu, int otherIndex) {
    }

    public enum Kind {
        /** The cell has no CPU at all. */
        NO_CPU,
        /** CPU 0 on x86: Linux cannot give it away. */
        CPU_0,
        /** Not a CPU of the root cell. */
        NOT_ROOTS,
        /** Held by another cell: {@link Conflict#otherIndex} in the list of others. */
        TAKEN
    }

    private CpuAssignment() {
    }

    /** The conflicts of {@code cell}'s CPUs with the system and with {@code others}, in CPU order. */
    public static List<Conflict> conflicts(SystemConfig system, CellConfig cell, List<CellConfig> others) {
        List<Conflict> out = new ArrayList<>();
        if (cell.cpus().isEmpty()) {
            out.add(new Conflict(Kind.NO_CPU, -1, -1));
        }
        Bitmap root = system.rootCell().cpus();
        for (int cpu : cell.cpus().bits().toArray()) {
            if (cpu == 0 && system.architecture() == Architecture.X86) {
                out.add(new Conflict(Kind.CPU_0, cpu, -1));
            }
            if (!root.isSet(cpu)) {
                out.add(new Conflict(Kind.NOT_ROOTS, cpu, -1));
            }
            for (int i = 0; i < others.size(); i++) {
                if (others.get(i).cpus().isSet(cpu)) {
                    out.add(new Conflict(Kind.TAKEN, cpu, i));
                    break;
                }
            }
        }
        return out;
    }
}
