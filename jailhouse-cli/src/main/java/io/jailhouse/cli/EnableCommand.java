package io.jailhouse.cli;

import io.jailhouse.daemon.ControlClient;
import io.jailhouse.daemon.ControlServer;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.daemon.RunDirectory;
import io.jailhouse.hypervisor.Partitioning;
import io.jailhouse.sys.Errno;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jailhouse enable SYSCONFIG}: starts the daemon that holds the
 * hypervisor, in the background, and returns once it answers.
 */
@Command(name = "enable", mixinStandardHelpOptions = true,
        description = {"Enable the hypervisor with a system configuration.",
            "Starts jailhoused in the background and returns once it answers."})
final class EnableCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_ENABLE";

    @Parameters(index = "0", paramLabel = "SYSCONFIG", description = "system configuration (.cell, .yaml, .json, .c)")
    Path sysconfig;

    @Option(names = "--partitioning", paramLabel = "strict|relaxed", defaultValue = "strict",
            description = {"strict (default): every cell CPU is a host CPU of its own.",
                "relaxed: logical CPUs may share host CPUs; for development only."})
    String partitioning;

    @Option(names = "--foreground", description = "run the daemon in this process (for service managers)")
    boolean foreground;

    @Override
    int run() throws CommandFailure {
        Partitioning mode;
        try {
            mode = Jailhoused.Options.partitioning(partitioning);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid --partitioning: " + e.getMessage());
        }
        CellCreateCommand.checkReadable(sysconfig);
        RunDirectory runDirectory = runDirectory();
        if (ControlServer.answers(runDirectory.socket())) {
            throw CommandFailure.of(IOCTL, Errno.EBUSY, "already enabled: " + whoAnswers(runDirectory));
        }
        Jailhoused.Options options = new Jailhoused.Options(sysconfig, mode, runDirectory);
        if (foreground) {
            return Jailhoused.run(options, Main.of(spec).hypervisorFactory(), out(), err());
        }
        return Main.of(spec).daemonProcess().start(options, out(), err());
    }

    private static String whoAnswers(RunDirectory runDirectory) {
        try (ControlClient c = ControlClient.connect(runDirectory.socket())) {
            return "jailhoused " + c.timeout(Duration.ofSeconds(5)).ping().pid() + " answers at " + runDirectory.socket();
        } catch (Exception e) {
            return "a daemon answers at " + runDirectory.socket();
        }
    }
}
