package io.jailhouse.cli;

import io.jailhouse.protocol.CellRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code jailhouse cell shutdown { ID | [--name] NAME }}. */
@Command(name = "shutdown", mixinStandardHelpOptions = true, description = "Shut a cell down (a load without images), after it agrees.")
final class CellShutdownCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_CELL_LOAD";

    @Mixin
    CellArgument cell;

    @Mixin
    ForceOption force;

    @Override
    int run() throws CommandFailure {
        CellRef ref = cell.ref();
        request(IOCTL, c -> {
            c.shutdownCell(ref, force.force);
            return null;
        });
        return 0;
    }
}
