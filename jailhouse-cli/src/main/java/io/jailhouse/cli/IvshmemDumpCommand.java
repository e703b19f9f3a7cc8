package io.jailhouse.cli;

import io.jailhouse.ivshmem.IvshmemEndpoint;
import java.lang.foreign.MemorySegment;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jailhouse ivshmem dump BDF}: the state table and the start of every section. */
@Command(name = "dump", mixinStandardHelpOptions = true,
        description = "Print the state table and the first bytes of the R/W and output sections.")
final class IvshmemDumpCommand extends IvshmemCommand.Attaching {
    @CommandLine.Option(names = "--bytes", paramLabel = "N", defaultValue = "64",
            description = "bytes to show of each section (default: ${DEFAULT-VALUE})")
    long bytes;

    @Override
    int with(IvshmemEndpoint e) {
        if (bytes < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--bytes must not be negative");
        }
        out().println(IvshmemCommand.describe(e));
        out().println("State table:");
        out().print(IvshmemCommand.stateTable(e));
        out().printf("R/W section (0x%x bytes):%n", e.readWriteSection().byteSize());
        out().print(IvshmemCommand.hex(e.readWriteSection(), bytes));
        for (int p = 0; p < e.maxPeers(); p++) {
            MemorySegment s = e.outputSection(p);
            out().printf("Output section of peer %d (0x%x bytes%s):%n", p, s.byteSize(), p == e.id() ? ", root's" : "");
            out().print(IvshmemCommand.hex(s, bytes));
        }
        return 0;
    }
}
