package io.jailhouse.cli;

import io.jailhouse.daemon.HypervisorFactory;
import io.jailhouse.protocol.RunDirectory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jailhouse} command: the same commands and arguments as upstream's
 * management tool, driving this project's hypervisor. The lifecycle commands
 * are clients of the daemon found through the run directory.
 */
@Command(name = "jailhouse",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Manage the Jailhouse partitioning hypervisor.")
public final class Main implements Runnable {
    public static final String VERSION = io.jailhouse.protocol.JailhouseVersion.RELEASE;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final RunDirectory runDirectory;
    /** Null until needed: only enable uses them, and resolving them loads the daemon's classes. */
    private DaemonProcess daemonProcess;
    private HypervisorFactory hypervisorFactory;
    /** Whether commands write to this process's standard output (not to a writer a test or an embedder set). */
    private boolean processOutput;

    /** The command as users run it: run directory from the environment, daemons in new JVMs, on KVM. */
    public Main() {
        this(RunDirectory.locate(null, System.getenv()), null, null);
    }

    /**
     * @param hypervisorFactory what {@code enable --foreground} runs the daemon on
     */
    Main(RunDirectory runDirectory, DaemonProcess daemonProcess, HypervisorFactory hypervisorFactory) {
        this.runDirectory = runDirectory;
        this.daemonProcess = daemonProcess;
        this.hypervisorFactory = hypervisorFactory;
    }

    RunDirectory runDirectory() {
        return runDirectory;
    }

    DaemonProcess daemonProcess() {
        if (daemonProcess == null) {
            daemonProcess = DaemonProcess.ofThisJvm();
        }
        return daemonProcess;
    }

    HypervisorFactory hypervisorFactory() {
        if (hypervisorFactory == null) {
            hypervisorFactory = HypervisorFactory.KVM;
        }
        return hypervisorFactory;
    }

    /** The {@code Main} a (sub)command runs under. */
    static Main of(CommandLine.Model.CommandSpec spec) {
        return (Main) spec.root().userObject();
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command");
    }

    public static void main(String[] args) {
        Main main = new Main();
        main.processOutput = true;
        int status = commandLineFor(main, args).execute(args);
        // System.exit first sets up the JDK's logging to record the exit (about 15 ms of a command);
        // a command that succeeded and left no thread of its own running ends by returning instead.
        if (status != 0 || Thread.activeCount() > 1) {
            System.exit(status);
        }
    }

    /** Whether this is the {@code jailhouse} process itself (not a test's or an embedder's command line). */
    boolean isProcess() {
        return processOutput;
    }

    /** Whether the command's output goes to a terminal (asked only by the commands that care). */
    boolean writesToTerminal() {
        return processOutput && io.jailhouse.sys.Libc.isatty(1);
    }

    /** Whether the command's error stream is a terminal, where progress is shown. */
    boolean errorsToTerminal() {
        return processOutput && io.jailhouse.sys.Libc.isatty(2);
    }

    /** Whether the command talks to a person: its input and output are a terminal (live views). */
    boolean isInteractive() {
        return writesToTerminal() && io.jailhouse.sys.Libc.isatty(0);
    }

    /** Runs the command line and returns the exit status (also used by tests). */
    public static int execute(String... args) {
        return commandLineFor(new Main(), args).execute(args);
    }

    /** Every command modelled (documentation, tests of the whole tree). */
    public static CommandLine commandLine() {
        return commandLine(new Main());
    }

    static CommandLine commandLine(Main main) {
        return configure(CommandTree.full(main));
    }

    /** The command line that runs {@code args}: only their commands modelled (see {@link CommandTree}). */
    static CommandLine commandLineFor(Main main, String... args) {
        return configure(CommandTree.forArguments(main, args));
    }

    /** Settings apply to the subcommands present, so they come after the tree is built. */
    private static CommandLine configure(CommandLine cl) {
        // Upstream has no @argument files; "-s @text" must stay a string.
        cl.setExpandAtFiles(false);
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
