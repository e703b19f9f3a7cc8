package io.jailhouse.cli;

import picocli.CommandLine.Command;

/** {@code jailhouse ivshmem list}: the root cell's links and who is on them. */
@Command(name = "list", mixinStandardHelpOptions = true, description = "List the root cell's ivshmem links.")
final class IvshmemListCommand extends DaemonCommand {
    @Override
    int run() throws CommandFailure {
        out().print(IvshmemCommand.linkTable(request("ivshmem list", c -> c.ivshmemLinks())));
        return 0;
    }
}
