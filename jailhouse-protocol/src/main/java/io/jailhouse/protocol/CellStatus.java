package io.jailhouse.protocol;

import java.util.List;

/**
 * One line of {@code jailhouse cell list}: what upstream's sysfs shows of a
 * cell.
 *
 * @param state null when the comm region holds a value no state has ("invalid")
 * @param assignedCpus logical CPU numbers of the cell, ascending
 * @param failedCpus the cell's CPUs that were parked after a fatal access
 * @param pid the cell's process, or 0 for none (the root cell is the host; a
 *        failed cell's process may be gone)
 */
public record CellStatus(int id, String name, CellState state, List<Integer> assignedCpus,
        List<Integer> failedCpus, long pid) {
    public CellStatus {
        assignedCpus = List.copyOf(assignedCpus);
        failedCpus = List.copyOf(failedCpus);
    }

    /** A cell without a process of its own. */
    public CellStatus(int id, String name, CellState state, List<Integer> assignedCpus, List<Integer> failedCpus) {
        this(id, name, state, assignedCpus, failedCpus, 0);
    }

    /** The state text upstream's sysfs shows. */
    public String stateText() {
        return state == null ? "invalid" : state.text();
    }
}
