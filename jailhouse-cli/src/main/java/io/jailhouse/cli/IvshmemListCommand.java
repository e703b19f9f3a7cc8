package io.jailhouse.cli;

import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.IvshmemLinkStatus;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jailhouse ivshmem list}: the root cell's links and who is on them. */
@Command(name = "list", mixinStandardHelpOptions = true, description = "List the root cell's ivshmem links.")
final class IvshmemListCommand extends DaemonCommand {
    @Option(names = "--json", description = "print the links as JSON")
    boolean json;

    @Override
    int run() throws CommandFailure {
        List<IvshmemLinkStatus> links = request("ivshmem list", c -> c.ivshmemLinks());
        out().print(json ? toJson(links) + "\n" : IvshmemCommand.linkTable(links));
        return 0;
    }

    static String toJson(List<IvshmemLinkStatus> links) {
        return JsonCodec.pretty(ControlMessages.ivshmemLinks(links));
    }
}
