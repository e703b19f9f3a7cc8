package io.jailhouse.cli;

import io.jailhouse.protocol.CellRef;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code { ID | [--name] NAME }}: the cell a command is about, parsed as upstream's tool does. */
final class CellArgument {
    @Option(names = "--name", paramLabel = "NAME", description = "the cell's name (also when it looks like a number)")
    String name;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ID|NAME",
            description = "the cell's id (decimal, 0x hex or 0 octal) or name")
    String token;

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    CellRef ref() {
        if ((name == null) == (token == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    name == null ? "Missing cell: ID, NAME or --name NAME" : "Give the cell once: ID, NAME or --name NAME");
        }
        return name != null ? CellRef.ofName(name) : CellRef.parse(token);
    }
}
