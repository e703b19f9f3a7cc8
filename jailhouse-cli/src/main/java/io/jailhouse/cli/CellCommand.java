package io.jailhouse.cli;

import picocli.CommandLine.Command;

/** {@code jailhouse cell ...}: the cells of the enabled hypervisor. */
@Command(name = "cell", mixinStandardHelpOptions = true,
        description = "Create, load, start, shut down, destroy, list and inspect cells.")
final class CellCommand {
}
