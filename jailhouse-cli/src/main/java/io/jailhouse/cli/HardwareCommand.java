package io.jailhouse.cli;

import picocli.CommandLine.Command;

/** {@code jailhouse hardware ...}. */
@Command(name = "hardware", mixinStandardHelpOptions = true,
        description = "Check the hardware for the hypervisor.")
final class HardwareCommand {
}
