package io.jailhouse.cli;

import io.jailhouse.protocol.CellRef;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code jailhouse cell start { ID | [--name] NAME }}. */
@Command(name = "start", mixinStandardHelpOptions = true, description = "Start (or restart) a cell at its reset address.")
final class CellStartCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_CELL_START";

    @Mixin
    CellArgument cell;

    @Override
    int run() throws CommandFailure {
        CellRef ref = cell.ref();
        List<String> warnings = request(IOCTL, c -> c.startCell(ref));
        warnings.forEach(err()::println);
        return 0;
    }
}
