package io.jailhouse.cli;

import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.sys.Errno;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse cell console { ID | [--name] NAME } [-f] [--raw]}: what the cell's
 * inmate wrote to its console UART. With {@code -f} it ends when the cell is
 * destroyed or the hypervisor disabled.
 */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = {"Print what a cell wrote to its console UART.",
            "With -f, keep printing until the cell is destroyed."})
final class CellConsoleCommand extends DaemonCommand {
    static final String OPERATION = "read(cell console)";

    @Mixin
    CellArgument cell;

    @Option(names = {"-f", "--follow"}, description = "keep printing new output")
    boolean follow;

    @Option(names = "--raw", description = "print control characters as they are, even on a terminal")
    boolean raw;

    @Override
    int run() throws CommandFailure {
        CellRef ref = cell.ref();
        ControlClient client = connect(OPERATION, Errno.EINVAL);
        return ConsoleCommand.print(client, OPERATION, follow, raw, (p, max, wait) -> client.readCellConsole(ref, p, max, wait),
                this);
    }
}
