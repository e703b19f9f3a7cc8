package io.jailhouse.daemon;

import io.jailhouse.hypervisor.CellStatus;
import io.jailhouse.hypervisor.Partitioning;
import java.util.List;

/** The cells as {@code cell.list} returns them: root first, then by id. */
public record CellList(Partitioning partitioning, List<CellStatus> cells) {
    public CellList {
        cells = List.copyOf(cells);
    }
}
