package io.jailhouse.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jailhouse} command: the same commands and arguments as upstream's
 * management tool, driving this project's hypervisor.
 */
@Command(name = "jailhouse",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Manage the Jailhouse partitioning hypervisor.",
        subcommands = {ConfigCommand.class, HardwareCommand.class})
public final class Main implements Runnable {
    public static final String VERSION = "0.12";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit status (also used by tests). */
    public static int execute(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // Upstream's tool prints the usage and exits 1 on any wrong argument.
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println(ex.getMessage());
            c.usage(c.getErr());
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            c.getErr().println(ex.getMessage() != null ? ex.getMessage() : ex.toString());
            return 1;
        });
        return cl;
    }

    /** {@code --version} prints {@code Jailhouse management tool <version>}, as upstream. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"Jailhouse management tool " + VERSION};
        }
    }
}
