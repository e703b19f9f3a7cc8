package io.jailhouse.cli;

import io.jailhouse.protocol.ControlClient;
import io.jailhouse.daemon.ControlServer;
import io.jailhouse.protocol.DaemonInfo;
import io.jailhouse.protocol.DaemonUnavailableException;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * How {@code jailhouse enable} starts {@code jailhoused} in the background: a
 * new JVM of the same java binary and class path as this command, in a
 * session of its own so that the terminal's signals and hangups don't reach
 * it, with its output in the run directory's log.
 *
 * @param java the java launcher
 * @param classPath what the daemon's JVM gets as {@code -cp}
 * @param mainClass {@link Jailhoused} (tests give one with a fake hypervisor)
 * @param startTimeout how long the daemon has to answer
 */
record DaemonProcess(String java, String classPath, String mainClass, Duration startTimeout) {
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    static final int LOG_TAIL_LINES = 20;
    /** A log larger than this at enable becomes {@code jailhoused.log.1} (replacing the one before) and starts anew. */
    static final long LOG_ROTATE_BYTES = 8L << 20;

    /** A daemon run by this JVM's java, from this JVM's class path. */
    /**
     * The supervisor's JVM: it maps no cell memory and runs no guest, so a
     * small heap that shrinks again, the serial collector, the quick
     * compiler, freed native memory handed back every few seconds and no
     * class-data archive (whose mapping is most of a small JVM's resident
     * memory) keep it small; its pauses stop no cell: cells are processes
     * of their own. Out of memory, it exits at once rather than go on in an
     * unknown state: the cells run on, and the next enable adopts them.
     */
    static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
            "-Xms4m", "-Xmx256m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20", "-Xss512k",
            "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:MaxMetaspaceSize=96m",
            "-XX:ReservedCodeCacheSize=32m", "-XX:TrimNativeHeapInterval=5000", "-Xshare:off", "-XX:-UsePerfData",
            "-XX:+ExitOnOutOfMemoryError");

    /** What the daemon's environment sets, in the background or the foreground: one malloc arena, not one per thread. */
    static final Map<String, String> ENVIRONMENT = Map.of("MALLOC_ARENA_MAX", "1");

    static DaemonProcess ofThisJvm() {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return new DaemonProcess(java, System.getProperty("java.class.path"), Jailhoused.class.getName(), START_TIMEOUT);
    }

    /** The daemon's command line in the background: a session of its own. */
    List<String> command(Jailhoused.Options options) {
        List<String> cmd = new ArrayList<>();
        Path setsid = setsid();
        if (setsid != null) {
            cmd.add(setsid.toString());
        }
        cmd.addAll(jvmCommand(options));
        return cmd;
    }

    /** The daemon's JVM and arguments. The daemon runs in /, so every path in it is absolute. */
    List<String> jvmCommand(Jailhoused.Options options) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(absoluteClassPath(classPath));
        cmd.add(mainClass);
        cmd.addAll(options.arguments());
        return cmd;
    }

    private static Path setsid() {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(path == null ? List.of() : Arrays.asList(path.split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/bin", "/bin"));
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, "setsid");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    static String absoluteClassPath(String classPath) {
        List<String> out = new ArrayList<>();
        for (String entry : classPath.split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            if (entry.endsWith("*")) {
                String dir = entry.substring(0, entry.length() - 1);
                out.add(Path.of(dir.isEmpty() ? "." : dir).toAbsolutePath().normalize() + File.separator + "*");
            } else {
                out.add(Path.of(entry).toAbsolutePath().normalize().toString());
            }
        }
        return String.join(File.pathSeparator, out);
    }

    private static void createRunDirectory(RunDirectory runDirectory) throws CommandFailure {
        try {
            runDirectory.create();
        } catch (IOException e) {
            throw CommandFailure.of(EnableCommand.IOCTL, e instanceof AccessDeniedException ? Errno.EACCES : Errno.EIO,
                    "cannot create the run directory " + runDirectory + ": " + CommandFailure.reason(e));
        }
    }

    /**
     * {@code enable --foreground}: the daemon in place of this process
     * (execve), so that it runs on its own JVM options, never the CLI's, with
     * the pid a service manager started and the standard streams it gave.
     * Returns only by failing.
     */
    int exec(Jailhoused.Options options, PrintWriter out, PrintWriter err) throws CommandFailure {
        createRunDirectory(options.runDirectory());
        Map<String, String> variables = new HashMap<>(System.getenv());
        variables.putAll(ENVIRONMENT);
        List<String> environment = new ArrayList<>();
        variables.forEach((k, v) -> environment.add(k + "=" + v));
        out.flush();
        err.flush();
        System.out.flush();
        System.err.flush();
        NativeException e = Libc.execve(java, jvmCommand(options), environment);
        throw CommandFailure.of(EnableCommand.IOCTL, e.errno(), "cannot run " + java + ": " + e.getMessage());
    }

    /**
     * Starts the daemon and waits until it answers; prints its notices
     * (exit 0) or the end of its log (exit 1).
     */
    int start(Jailhoused.Options options, PrintWriter out, PrintWriter err) throws CommandFailure {
        RunDirectory runDirectory = options.runDirectory();
        createRunDirectory(runDirectory);
        Path log = runDirectory.log();
        long begin = rotate(log); // this daemon's lines start here: a failure shows those, not an earlier run's
        ProcessBuilder builder = new ProcessBuilder(command(options))
                .directory(new File("/"))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(ENVIRONMENT);
        Process daemon;
        try {
            daemon = builder.start();
        } catch (IOException e) {
            throw CommandFailure.of(EnableCommand.IOCTL, Errno.EIO, "cannot start " + java + ": " + e.getMessage());
        }
        long deadline = System.nanoTime() + startTimeout.toNanos();
        while (true) {
            if (!daemon.isAlive()) {
                cleanUp(runDirectory, daemon.pid());
                // The daemon's own last words (e.g. "JAILHOUSE_ENABLE: No such device (...)") end the tail.
                err.println("jailhoused exited with status " + daemon.exitValue() + " before answering; the end of "
                        + log + ":");
                logTail(log, begin).forEach(l -> err.println("  " + l));
                return 1;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                stop(daemon);
                cleanUp(runDirectory, daemon.pid());
                err.println("the end of " + log + ":");
                logTail(log, begin).forEach(l -> err.println("  " + l));
                throw CommandFailure.of(EnableCommand.IOCTL, Errno.ETIMEDOUT,
                        "jailhoused did not answer within " + startTimeout.toSeconds() + " s and was stopped");
            }
            try (ControlClient client = ControlClient.connect(runDirectory.socket())) {
                // The socket is bound before the hypervisor is enabled; the ping is answered after.
                DaemonInfo info = client.timeout(Duration.ofNanos(left)).ping();
                info.notices().forEach(err::println); // notes, not output
                return 0;
            } catch (DaemonUnavailableException e) {
                // Not bound yet.
            } catch (Exception e) {
                // Starting, or dying: the next round tells which.
            }
            try {
                daemon.waitFor(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop(daemon);
                cleanUp(runDirectory, daemon.pid());
                throw CommandFailure.of(EnableCommand.IOCTL, Errno.EINTR, "interrupted while the daemon started");
            }
        }
    }

    /** SIGTERM (the daemon cleans up after itself), then SIGKILL if it must be. */
    private static void stop(Process daemon) {
        daemon.destroy();
        try {
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
                daemon.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            daemon.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** A daemon that died hard leaves its socket and pid file; the next enable should not trip over them. */
    private static void cleanUp(RunDirectory runDirectory, long pid) {
        try {
            if (Files.exists(runDirectory.socket()) && !ControlServer.answers(runDirectory.socket())) {
                Files.deleteIfExists(runDirectory.socket());
            }
            if (runDirectory.readPid().orElse(-1) == pid) {
                Files.deleteIfExists(runDirectory.pidFile());
            }
        } catch (IOException e) {
            // Best effort: the next daemon replaces a stale socket anyway.
        }
    }

    /**
     * Keeps the log across enables (appended to, as a service's journal is),
     * moving it to {@code jailhoused.log.1} once it is larger than
     * {@link #LOG_ROTATE_BYTES}; returns its length now, where the next
     * daemon's lines begin.
     */
    static long rotate(Path log) throws CommandFailure {
        try {
            long size = Files.exists(log) ? Files.size(log) : 0;
            if (size <= LOG_ROTATE_BYTES) {
                return size;
            }
            Files.move(log, log.resolveSibling(log.getFileName() + ".1"),
                    StandardCopyOption.REPLACE_EXISTING);
            return 0;
        } catch (IOException e) {
            throw CommandFailure.of(EnableCommand.IOCTL, Errno.EIO, "cannot rotate " + log + ": "
                    + CommandFailure.reason(e));
        }
    }

    /** The last lines the log got from {@code begin} on (its last 64 KiB at most). */
    static List<String> logTail(Path log, long begin) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long length = f.length();
            long from = Math.max(Math.min(begin, length), length - (64 << 10));
            byte[] bytes = new byte[(int) (length - from)];
            f.seek(from);
            f.readFully(bytes);
            List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
            if (lines.isEmpty()) {
                return List.of("(the log is empty)");
            }
            return lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size());
        } catch (IOException e) {
            return List.of("(cannot read the log: " + CommandFailure.reason(e) + ")");
        }
    }
}
