package io.jailhouse.protocol;

import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.Partitioning;
import java.util.List;

/** The cells as {@code cell.list} returns them: root first, then by id. */
public record CellList(Partitioning partitioning, List<CellStatus> cells) {
    public CellList {
        cells = List.copyOf(cells);
    }
}
