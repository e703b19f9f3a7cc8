package io.jailhouse.daemon;

import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.Partitioning;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.RunDirectory;

/**
 * A daemon running inside the test JVM on a fake hypervisor, with its run
 * directory under a test's temporary directory (never /run/jailhouse).
 * Closing it ends the daemon and removes its socket and pid file.
 */
public final class RunningDaemon implements AutoCloseable {
    /** The bundled configs, built by jailhouse-config. */
    public static final Path CONFIGS = Path.of("..", "configs", "x86").toAbsolutePath().normalize();

    private final Jailhoused daemon;
    private final FakeHypervisor fake;
    private final StringWriter log;

    private RunningDaemon(Jailhoused daemon, FakeHypervisor fake, StringWriter log) {
        this.daemon = daemon;
        this.fake = fake;
        this.log = log;
    }

    public static Path config(String file) {
        return CONFIGS.resolve(file);
    }

    public static SystemConfig systemConfig() throws Exception {
        return ConfigFiles.read(config("qemu-vm.cell"), SystemConfig.class);
    }

    /** Starts a daemon for qemu-vm.cell in {@code runDirectory}. */
    public static RunningDaemon start(Path runDirectory, Partitioning partitioning) throws Exception {
        SystemConfig system = systemConfig();
        FakeHypervisor fake = new FakeHypervisor(system, partitioning);
        StringWriter log = new StringWriter();
        Jailhoused daemon = Jailhoused.start(new RunDirectory(runDirectory), system, partitioning, (c, p, e, d, m) -> fake,
                new DaemonLog(new PrintWriter(log)));
        return new RunningDaemon(daemon, fake, log);
    }

    public FakeHypervisor fake() {
        return fake;
    }

    public RunDirectory runDirectory() {
        return daemon.runDirectory();
    }

    public Path socket() {
        return runDirectory().socket();
    }

    public Jailhoused daemon() {
        return daemon;
    }

    public ControlClient client() throws Exception {
        return ControlClient.connect(socket());
    }

    public String log() {
        return log.toString();
    }

    @Override
    public void close() {
        daemon.close();
    }
}
