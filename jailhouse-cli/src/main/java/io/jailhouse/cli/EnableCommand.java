package io.jailhouse.cli;

import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.daemon.ControlServer;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.boundary.DeviceEmulations;
import io.jailhouse.sys.Errno;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import io.jailhouse.daemon.MetricsAddress;
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

    @Option(names = "--foreground", description = "run the daemon in place of this command, in the foreground (for service managers)")
    boolean foreground;

    @Option(names = DeviceEmulations.OPTION, paramLabel = "BDF=MODEL",
            description = {"serve the system's PCI device BDF with a device model in every cell that lists it",
                "(repeatable; models: intel-hda), e.g. --emulate 00:1b.0=intel-hda for upstream's pci-demo"})
    List<String> emulate = new ArrayList<>();

    @Option(names = "--memory-dir", paramLabel = "DIR",
            description = {"put the reserved memory's file in DIR rather than /dev/shm: a hugetlbfs mount backs",
                "cells with huge pages (cell RAM regions must then be aligned to its page size)"})
    Path memoryDirectory;

    @Option(names = MetricsAddress.OPTION, paramLabel = "HOST:PORT",
            description = {"serve Prometheus text at http://HOST:PORT/metrics: exits by cell, CPU and reason,",
                "cell states, pools, dropped console bytes, resident memory (e.g. 127.0.0.1:9669)"})
    String metrics;

    @Override
    int run() throws CommandFailure {
        Partitioning mode;
        try {
            mode = Jailhoused.Options.partitioning(partitioning);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid --partitioning: " + e.getMessage());
        }
        CellCreateCommand.checkReadable(sysconfig);
        if (!emulate.isEmpty()) {
            // Refused here, in one line, rather than in the new daemon's log.
            try {
                DeviceEmulations.parse(emulate, ConfigFiles.read(sysconfig, SystemConfig.class));
            } catch (IllegalArgumentException e) {
                throw CommandFailure.of(IOCTL, Errno.EINVAL, e.getMessage());
            } catch (ConfigFormatException e) {
                throw CommandFailure.of(IOCTL, Errno.EINVAL, e.getMessage());
            }
        }
        RunDirectory runDirectory = runDirectory();
        if (ControlServer.answers(runDirectory.socket())) {
            throw CommandFailure.of(IOCTL, Errno.EBUSY, "already enabled: " + whoAnswers(runDirectory));
        }
        if (memoryDirectory != null && !java.nio.file.Files.isDirectory(memoryDirectory)) {
            throw CommandFailure.of(IOCTL, Errno.ENOENT, "--memory-dir " + memoryDirectory + " is not a directory");
        }
        MetricsAddress metricsAddress;
        try {
            metricsAddress = metrics == null ? null : MetricsAddress.parse(metrics);
        } catch (IllegalArgumentException e) {
            throw CommandFailure.of(IOCTL, Errno.EINVAL, e.getMessage());
        }
        Jailhoused.Options options = new Jailhoused.Options(sysconfig, mode, runDirectory, emulate, memoryDirectory,
                metricsAddress);
        if (foreground) {
            Main main = Main.of(spec);
            if (main.isProcess()) {
                return main.daemonProcess().exec(options, out(), err());
            }
            return Jailhoused.run(options, main.hypervisorFactory(), out(), err()); // in a test's JVM, on its hypervisor
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
