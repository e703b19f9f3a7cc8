package io.jailhouse.cli;

import io.jailhouse.protocol.JsonCodec;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.config.PciDevice;
import io.jailhouse.ivshmem.IvshmemEndpoint;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jailhouse ivshmem dump BDF}: the state table and the start of every section. */
@Command(name = "dump", mixinStandardHelpOptions = true,
        description = "Print the state table and the first bytes of the R/W and output sections.")
final class IvshmemDumpCommand extends IvshmemCommand.Attaching {
    @CommandLine.Option(names = "--bytes", paramLabel = "N", defaultValue = "64",
            description = "bytes to show of each section (default: ${DEFAULT-VALUE})")
    long bytes;

    @CommandLine.Option(names = "--json", description = "print the device, the states and the bytes as JSON")
    boolean json;

    @Override
    int with(IvshmemEndpoint e) {
        if (bytes < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--bytes must not be negative");
        }
        if (json) {
            out().println(toJson(e));
            return 0;
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

    private String toJson(IvshmemEndpoint e) {
        ObjectNode root = JsonCodec.object().put("bdf", PciDevice.formatBdf(e.bdf())).put("root_peer_id", e.id())
                .put("max_peers", e.maxPeers()).put("vectors", e.vectors()).put("protocol", e.protocol());
        ArrayNode states = root.putArray("states");
        for (int p = 0; p < e.maxPeers(); p++) {
            states.add(e.state(p) & 0xffff_ffffL);
        }
        root.set("rw_section", section(e.readWriteSection()));
        ArrayNode outputs = root.putArray("output_sections");
        for (int p = 0; p < e.maxPeers(); p++) {
            outputs.add(section(e.outputSection(p)));
        }
        return JsonCodec.pretty(root);
    }

    /** Size and the first {@code bytes} bytes as hex. */
    private ObjectNode section(MemorySegment s) {
        byte[] head = s.asSlice(0, Math.min(bytes, s.byteSize())).toArray(ValueLayout.JAVA_BYTE);
        return JsonCodec.object().put("size", s.byteSize()).put("head", HexFormat.of().formatHex(head));
    }
}
