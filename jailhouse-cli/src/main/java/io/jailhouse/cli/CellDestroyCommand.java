package io.jailhouse.cli;

import io.jailhouse.protocol.CellRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code jailhouse cell destroy { ID | [--name] NAME }}. */
@Command(name = "destroy", mixinStandardHelpOptions = true, description = "Destroy a cell, giving its resources back to the root cell.")
final class CellDestroyCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_CELL_DESTROY";

    @Mixin
    CellArgument cell;

    @Mixin
    ForceOption force;

    @Override
    int run() throws CommandFailure {
        CellRef ref = cell.ref();
        request(IOCTL, c -> {
            c.destroyCell(ref, force.force);
            return null;
        });
        return 0;
    }
}
