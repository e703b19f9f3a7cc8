package io.jailhouse.cli;

import io.jailhouse.config.PciDevice;
import io.jailhouse.ivshmem.IvshmemEndpoint;
import java.io.IOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jailhouse ivshmem doorbell BDF PEER [VECTOR]}: rings a peer as the root cell. */
@Command(name = "doorbell", mixinStandardHelpOptions = true, description = "Ring a peer's doorbell as the root cell.")
final class IvshmemDoorbellCommand extends IvshmemCommand.Attaching {
    @CommandLine.Parameters(index = "1", paramLabel = "PEER", description = "the target peer id")
    int peer;

    @CommandLine.Parameters(index = "2", arity = "0..1", paramLabel = "VECTOR", defaultValue = "0",
            description = "the target's vector (default: ${DEFAULT-VALUE})")
    int vector;

    @CommandLine.Option(names = "--count", paramLabel = "N", defaultValue = "1",
            description = "doorbells to send (default: ${DEFAULT-VALUE})")
    int count;

    @Override
    int with(IvshmemEndpoint e) throws IOException, CommandFailure {
        if (peer < 0 || peer >= e.maxPeers()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "PEER " + peer + " is not a peer id of this link (0-" + (e.maxPeers() - 1) + ")");
        }
        if (vector < 0 || vector >= e.interruptCount()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "VECTOR " + vector + " is not below the link's vector count " + e.interruptCount());
        }
        if (count < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--count must be at least 1");
        }
        boolean present = request("ivshmem list", c -> c.ivshmemLinks()).stream()
                .filter(l -> l.bdf() == bdf).flatMap(l -> l.peers().stream()).anyMatch(p -> p.id() == peer);
        if (!present) {
            err().printf("Note: no cell is peer %d of %s now; the doorbell is dropped, as on the device.%n", peer,
                    PciDevice.formatBdf(bdf));
        }
        for (int i = 0; i < count; i++) {
            e.ring(peer, vector);
        }
        return 0;
    }
}
