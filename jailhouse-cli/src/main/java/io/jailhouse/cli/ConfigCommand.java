package io.jailhouse.cli;

import picocli.CommandLine.Command;

/** {@code jailhouse config ...}: offline commands on configuration files. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Check, create and convert configurations.")
final class ConfigCommand {
}
