package io.jailhouse.daemon;

import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.boundary.DeviceEmulations;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import io.jailhouse.protocol.RunDirectory;

/**
 * The daemon that holds the enabled hypervisor: what {@code jailhouse
 * enable} starts and {@code jailhouse disable} ends. It owns /dev/kvm and the
 * cells; the {@code jailhouse} command talks to it over the control socket in
 * its run directory.
 *
 * <p>{@code jailhoused --config FILE [--partitioning strict|relaxed] [--emulate BDF=MODEL]... [--memory-dir DIR] [--run-dir DIR]}
 */
public final class Jailhoused implements AutoCloseable {
    public static final String USAGE = "usage: jailhoused --config SYSCONFIG [--partitioning strict|relaxed] "
            + "[--emulate BDF=MODEL]... [--memory-dir DIR] [--metrics HOST:PORT] [--run-dir DIR]";

    /**
     * The daemon's command line.
     *
     * @param emulate {@code BDF=MODEL} choices, checked against the system config when it is read
     * @param memoryDirectory where the reserved memory's file goes (a hugetlbfs mount, say); null: /dev/shm
     * @param metrics where Prometheus text is served; null: nowhere
     */
    public record Options(Path config, Partitioning partitioning, RunDirectory runDirectory, List<String> emulate,
            Path memoryDirectory, MetricsAddress metrics) {
        public Options {
            emulate = List.copyOf(emulate);
        }

        public Options(Path config, Partitioning partitioning, RunDirectory runDirectory) {
            this(config, partitioning, runDirectory, List.of(), null, null);
        }

        /** Parses the arguments; {@code environment} may name the run directory. */
        public static Options parse(String[] args, Map<String, String> environment) {
            Path config = null;
            Partitioning partitioning = Partitioning.STRICT;
            String runDir = null;
            List<String> emulate = new ArrayList<>();
            Path memoryDirectory = null;
            MetricsAddress metrics = null;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String name = arg;
                String value = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    name = arg.substring(0, eq);
                    value = arg.substring(eq + 1);
                }
                if (!List.of("--config", "--partitioning", "--run-dir", "--memory-dir", DeviceEmulations.OPTION,
                        MetricsAddress.OPTION).contains(name)) {
                    throw new IllegalArgumentException("unknown argument \"" + arg + "\"");
                }
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(name + " needs a value");
                    }
                    value = args[++i];
                }
                switch (name) {
                    case "--config" -> config = Path.of(value);
                    case "--partitioning" -> partitioning = partitioning(value);
                    case DeviceEmulations.OPTION -> emulate.add(value);
                    case "--memory-dir" -> memoryDirectory = Path.of(value);
                    case MetricsAddress.OPTION -> metrics = MetricsAddress.parse(value);
                    default -> runDir = value;
                }
            }
            if (config == null) {
                throw new IllegalArgumentException("--config is required");
            }
            return new Options(config, partitioning, RunDirectory.locate(runDir, environment), emulate,
                    memoryDirectory, metrics);
        }

        public static Partitioning partitioning(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "strict" -> Partitioning.STRICT;
                case "relaxed" -> Partitioning.RELAXED;
                default -> throw new IllegalArgumentException("partitioning \"" + value + "\" is neither strict nor relaxed");
            };
        }

        /** The command line that gives these options (what {@code jailhouse enable} passes to a new daemon). */
        public List<String> arguments() {
            List<String> args = new ArrayList<>(List.of("--config", config.toAbsolutePath().toString(), "--partitioning",
                    partitioning.name().toLowerCase(Locale.ROOT), "--run-dir", runDirectory.path().toString()));
            for (String e : emulate) {
                args.add(DeviceEmulations.OPTION);
                args.add(e);
            }
            if (memoryDirectory != null) {
                args.add("--memory-dir");
                args.add(memoryDirectory.toAbsolutePath().toString());
            }
            if (metrics != null) {
                args.add(MetricsAddress.OPTION);
                args.add(metrics.toString());
            }
            return args;
        }
    }

    private final RunDirectory runDirectory;
    private final ControlServer server;
    private final Hypervisor hypervisor;
    private final DaemonLog log;
    private final CellLockWatch lockWatch;
    /** Null without {@code --metrics}. */
    private final MetricsEndpoint metrics;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch ended = new CountDownLatch(1);

    private Jailhoused(RunDirectory runDirectory, ControlServer server, Hypervisor hypervisor, DaemonLog log,
            MetricsEndpoint metrics) {
        this.metrics = metrics;
        this.runDirectory = runDirectory;
        this.server = server;
        this.hypervisor = hypervisor;
        this.log = log;
        // the events of enable (adoptions) first, then each as it comes
        hypervisor.events().follow(log::event);
        this.lockWatch = CellLockWatch.started(hypervisor::cells, hypervisor.events());
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(run(args, System.getenv(), HypervisorFactory.KVM, out, err));
    }

    /** Runs a daemon until it is disabled or the JVM is asked to end; returns the exit status. */
    public static int run(String[] args, Map<String, String> environment, HypervisorFactory factory, PrintWriter out,
            PrintWriter err) {
        Options options;
        try {
            options = Options.parse(args, environment);
        } catch (IllegalArgumentException e) {
            err.println("jailhoused: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        return run(options, factory, out, err);
    }

    /** As {@link #run(String[], Map, HypervisorFactory, PrintWriter, PrintWriter)} with parsed options. */
    public static int run(Options options, HypervisorFactory factory, PrintWriter out, PrintWriter err) {
        DaemonLog log = new DaemonLog(out);
        log.info("pid " + ProcessHandle.current().pid() + ", system configuration " + options.config()
                + ", " + options.partitioning().name().toLowerCase(Locale.ROOT) + " partitioning, run directory "
                + options.runDirectory());
        Jailhoused daemon;
        try {
            SystemConfig config = ConfigFiles.read(options.config(), SystemConfig.class);
            DeviceEmulations emulations;
            try {
                emulations = DeviceEmulations.parse(options.emulate(), config);
            } catch (IllegalArgumentException e) {
                err.println(enableFailure(Errno.EINVAL, e.getMessage()));
                return 1;
            }
            daemon = start(options.runDirectory(), config, options.partitioning(), emulations,
                    options.memoryDirectory(), options.metrics(), factory, log);
        } catch (ConfigFormatException e) {
            err.println(enableFailure(Errno.EINVAL, e.getMessage()));
            return 1;
        } catch (HypervisorException e) {
            err.println(enableFailure(e.errno(), e.getMessage()));
            return 1;
        } catch (IOException e) {
            err.println(enableFailure(Errno.EIO, "run directory " + options.runDirectory() + ": " + e));
            return 1;
        } catch (RuntimeException e) {
            log.error("enable failed unexpectedly", e);
            err.println(enableFailure(Errno.EIO, e.toString()));
            return 1;
        }
        ServiceNotifier service = ServiceNotifier.of(System.getenv(), log);
        service.ready(ProcessHandle.current().pid(), "enabled on " + options.config().getFileName() + ", "
                + daemon.hypervisor().cells().size() + " cells");
        // SIGTERM (and SIGINT in the foreground) end the daemon as cleanly as disable does, minus asking cells.
        Thread hook = new Thread(() -> {
            service.stopping();
            daemon.close();
        }, "jailhoused-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            daemon.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            service.stopping();
            daemon.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down; the hook has run or is running.
            }
        }
        return 0;
    }

    /** Upstream's wording for a failed enable ioctl, plus what went wrong. */
    static String enableFailure(Errno errno, String detail) {
        return "JAILHOUSE_ENABLE: " + errno.description() + (detail == null ? "" : " (" + detail + ")");
    }

    /**
     * Enables the hypervisor and starts answering on the run directory's
     * socket. The socket is bound first, so that two daemons never enable at
     * once; whatever fails, nothing is left behind.
     */
    public static Jailhoused start(RunDirectory runDirectory, SystemConfig config, Partitioning partitioning,
            HypervisorFactory factory, DaemonLog log) throws HypervisorException, IOException {
        return start(runDirectory, config, partitioning, DeviceEmulations.NONE, null, null, factory, log);
    }

    /**
     * As above, with device models standing in for PCI devices ({@code --emulate}),
     * the reserved memory's file in {@code memoryDirectory} (null: /dev/shm)
     * and Prometheus text served at {@code metricsAddress} (null: nowhere).
     * The socket and the metrics port are bound before the hypervisor is
     * enabled: a port in use refuses the enable and changes nothing.
     */
    public static Jailhoused start(RunDirectory runDirectory, SystemConfig config, Partitioning partitioning,
            DeviceEmulations emulations, Path memoryDirectory, MetricsAddress metricsAddress,
            HypervisorFactory factory, DaemonLog log) throws HypervisorException, IOException {
        runDirectory.create();
        ControlServer server = ControlServer.bind(runDirectory.socket(), log);
        MetricsEndpoint metrics = null;
        Hypervisor hypervisor;
        try {
            metrics = metricsAddress == null ? null : MetricsEndpoint.bind(metricsAddress);
            hypervisor = factory.enable(config, partitioning, emulations, runDirectory.cells(), memoryDirectory);
        } catch (HypervisorException | RuntimeException | Error e) {
            if (metrics != null) {
                metrics.close();
            }
            server.close();
            throw e;
        }
        long pid = ProcessHandle.current().pid();
        try {
            PeerAuthorization authorization = PeerAuthorization.rootAnd(Libc.geteuid());
            runDirectory.writePid(pid);
            Jailhoused daemon = new Jailhoused(runDirectory, server, hypervisor, log, metrics);
            List<String> notices = new ArrayList<>(notices(config, partitioning));
            notices.addAll(hypervisor.notices());
            if (metrics != null) {
                metrics.serve(hypervisor);
                notices.add("Metrics: Prometheus text at " + metrics.url() + ".");
            }
            server.serve(new ControlOperations(hypervisor, pid, notices, log), authorization, daemon::close);
            notices.forEach(log::info);
            log.info("listening on " + server.socket());
            return daemon;
        } catch (IOException | RuntimeException e) {
            if (metrics != null) {
                metrics.close();
            }
            hypervisor.close();
            server.close();
            Files.deleteIfExists(runDirectory.pidFile());
            throw e;
        }
    }

    /** What the user is told once the hypervisor is enabled. */
    static List<String> notices(SystemConfig config, Partitioning partitioning) {
        List<String> notices = new ArrayList<>();
        String name = config.rootCell().name();
        if (partitioning == Partitioning.STRICT) {
            notices.add("Jailhouse enabled: system configuration \"" + name
                    + "\", strict partitioning (every cell CPU is a host CPU of its own).");
        } else {
            notices.add("Jailhouse enabled: system configuration \"" + name + "\", relaxed partitioning.");
            notices.add("Relaxed partitioning: logical CPUs share host CPUs, so cells are not isolated in time"
                    + " from each other or from Linux. For development and tests only.");
        }
        return notices;
    }

    public RunDirectory runDirectory() {
        return runDirectory;
    }

    public Hypervisor hypervisor() {
        return hypervisor;
    }

    /** Waits until the daemon was disabled or closed. */
    public void awaitTermination() throws InterruptedException {
        ended.await();
    }

    /**
     * Ends the daemon: no more requests, the hypervisor releases everything,
     * the socket and pid file go. Idempotent; the first caller does the work.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        log.info("shutting down");
        server.close();
        lockWatch.close();
        if (metrics != null) {
            metrics.close(); // before the hypervisor: no scrape reads a closed one
        }
        try {
            hypervisor.close();
        } catch (RuntimeException e) {
            log.error("releasing the hypervisor failed", e);
        }
        try {
            Files.deleteIfExists(runDirectory.pidFile());
        } catch (IOException e) {
            log.warn("cannot remove " + runDirectory.pidFile() + ": " + e.getMessage());
        }
        log.info("ended");
        ended.countDown();
    }
}
