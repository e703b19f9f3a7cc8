package io.jailhouse.daemon;

import io.jailhouse.boundary.CellChannel;
import io.jailhouse.boundary.CellReply;
import io.jailhouse.boundary.CellRequest;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A cell's process as the supervisor sees it: the JVM that runs the cell
 * (started here, or adopted from a supervisor that went away), its channel
 * and a pidfd that tells when it ends. Calls are one at a time and bounded
 * in time: a process that does not answer is reported, never waited for
 * forever.
 */
final class CellProcess implements AutoCloseable {
    /** The cell runtime's main class. */
    static final String MAIN = "io.jailhouse.hypervisor.CellMain";
    /** How long a new process has to open its socket. */
    static final int START_MILLIS = 20_000;
    /** How long a request may take (loading a large image included). */
    static final int CALL_MILLIS = 60_000;
    /** How long a process that is to end may take before it is reported as not ending. */
    static final int END_MILLIS = 10_000;

    /** coreutils' nice, to start a process at low priority from its first instruction. */
    private static final Path NICE = Path.of("/usr/bin/nice");

    /** The signal the kernel ends a process with for a call its seccomp filter forbids. */
    static final int SIGSYS = 31;

    /** How cell processes are started: the JVM, its options and class path. */
    record Launch(String java, List<String> options, String classPath, String main) {
        public Launch {
            options = List.copyOf(options);
        }

        /** The same JVM with another main class (one that wraps {@link #MAIN}) and more options. */
        Launch withMain(String otherMain, List<String> moreOptions) {
            List<String> all = new ArrayList<>(options);
            all.addAll(moreOptions);
            return new Launch(java, all, classPath, otherMain);
        }

        /**
         * The JVM this supervisor runs in, with the class path it was
         * started with (or {@code -Djailhouse.cell.classpath}), and options
         * for a small JVM: the exit loop allocates nothing, so a small
         * heap and the serial collector keep a cell process's memory and
         * pauses small. Tiered compilation with one thread per compiler:
         * C1 soon, for the work of building and starting a cell, and C2 for
         * the exit loop of the vCPU threads. C2 alone measured the same
         * steady exit cost and about 5 MB less, but a cell's create and
         * first exits ran in the interpreter for longer (docs/performance.md).
         */
        static Launch ofThisJvm() {
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            String cp = System.getProperty("jailhouse.cell.classpath", System.getProperty("java.class.path"));
            List<String> options = new ArrayList<>(List.of("-XX:+UseSerialGC", "-Xms4m", "-Xmx32m",
                    "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20", "-Xss256k", "-Xshare:off",
                    "-XX:TrimNativeHeapInterval=5000",
                    "-XX:+TieredCompilation", "-XX:CICompilerCount=2",
                    "-XX:MaxMetaspaceSize=32m", "-XX:ReservedCodeCacheSize=16m", "-XX:-UsePerfData",
                    "-XX:+DisableAttachMechanism", "-XX:-UseContainerSupport", "--enable-native-access=ALL-UNNAMED"));
            String extra = System.getProperty("jailhouse.cell.jvmOptions", "");
            for (String o : extra.trim().split("\\s+")) {
                if (!o.isEmpty()) {
                    options.add(o);
                }
            }
            return new Launch(java, options, cp, MAIN);
        }
    }

    private final Process process;
    private final long pid;
    private final int pidfd;
    private final CellChannel channel;
    private Path socket;

    private CellProcess(Process process, long pid, int pidfd, CellChannel channel, Path socket) {
        this.process = process;
        this.pid = pid;
        this.pidfd = pidfd;
        this.channel = channel;
        this.socket = socket;
    }

    /**
     * The first of the users cell processes become when the supervisor runs
     * as root: cell {@code id} runs as user and group {@code CELL_UID_BASE + id},
     * ids no account has (above systemd's ranges, below 2^31), so that one
     * cell's process can neither signal nor trace another's.
     */
    static final int CELL_UID_BASE = 2_000_000_000;

    /** The user cell {@code id}'s process runs as (when the supervisor is root). */
    static int uidOf(int id) {
        return CELL_UID_BASE + id;
    }

    /** Where cell {@code id}'s socket is in the run directory's {@code cells} directory. */
    static Path socketOf(Path cellsDir, int id) {
        return cellsDir.resolve(id + ".sock");
    }

    /** Where cell {@code id}'s process writes its output. */
    static Path logOf(Path cellsDir, int id) {
        return cellsDir.resolve(id + ".log");
    }

    /**
     * Starts a cell process listening on {@code socket} and connects to it.
     * Its output goes to {@code log}.
     *
     * @param name what the process is for, in messages ({@code cell "x"})
     */
    static CellProcess spawn(Launch launch, Path socket, Path log, String name) throws HypervisorException {
        return spawn(launch, socket, log, name, false);
    }

    /**
     * As {@link #spawn(Launch, Path, Path, String)}; {@code background}: at
     * the lowest CPU priority (nice 19, when this supervisor may raise it
     * again, as root), so that a process started ahead of need does not take
     * CPU time from running cells. {@link #runInForeground} gives it the
     * normal priority when it gets a cell.
     */
    static CellProcess spawn(Launch launch, Path socket, Path log, String name, boolean background)
            throws HypervisorException {
        Process p;
        try {
            Files.deleteIfExists(socket);
            List<String> command = new ArrayList<>();
            if (background && Libc.geteuid() == 0 && Files.isExecutable(NICE)) {
                command.addAll(List.of(NICE.toString(), "-n", "19"));
            }
            command.add(launch.java());
            command.addAll(launch.options());
            command.add("-XX:ErrorFile=" + socket.resolveSibling("hs_err-%p.log"));
            command.add("-cp");
            command.add(launch.classPath());
            command.add(launch.main());
            command.add(socket.toString());
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put(io.jailhouse.boundary.CellChannel.SUPERVISOR_PID_VARIABLE, Long.toString(Libc.getpid()));
            pb.environment().put("MALLOC_ARENA_MAX", "1"); // one malloc arena, not one per thread: less memory
            p = pb.start();
        } catch (IOException e) {
            throw new HypervisorException(Errno.ENOMEM, name + ": cannot start its process: "
                    + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_MILLIS);
        while (true) {
            if (!p.isAlive()) {
                throw new HypervisorException(Errno.EIO, name + ": its process " + p.pid()
                        + " ended at start (" + exitOf(p) + ")" + logTail(log));
            }
            if (Files.exists(socket)) {
                try {
                    UnixSocket s = UnixSocket.connect(socket);
                    int pidfd = Libc.pidfdOpen(p.pid());
                    return new CellProcess(p, p.pid(), pidfd, new CellChannel(s), socket);
                } catch (NativeException e) {
                    // listening any moment now
                }
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new HypervisorException(Errno.ETIMEDOUT, name + ": its process " + p.pid()
                        + " did not open " + socket + " within " + START_MILLIS + " ms" + logTail(log));
            }
            try {
                Thread.sleep(2); // the JVM starts in tens of milliseconds; polling is the simplest wait here
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new HypervisorException(Errno.EINTR, "interrupted while starting the process of " + name);
            }
        }
    }

    /**
     * Connects to the running process behind {@code socket} (a supervisor
     * before this one started it).
     *
     * @throws HypervisorException when nothing listens there, or not as this
     *         user or cell {@code id}'s
     */
    static CellProcess adopt(Path socket, int id) throws HypervisorException {
        UnixSocket s = null;
        try {
            s = UnixSocket.connect(socket);
            UnixSocket.Peer peer = s.peer();
            if (peer.uid() != Libc.geteuid() && peer.uid() != uidOf(id)) {
                throw new HypervisorException(Errno.EPERM, socket + " belongs to user " + peer.uid());
            }
            int pidfd = Libc.pidfdOpen(peer.pid());
            return new CellProcess(null, peer.pid(), pidfd, new CellChannel(s), socket);
        } catch (NativeException e) {
            if (s != null) {
                try {
                    s.close();
                } catch (NativeException ignored) {
                    // failing already
                }
            }
            throw new HypervisorException(e.errno(), socket + ": " + e.getMessage(), e);
        }
    }

    long pid() {
        return pid;
    }

    /**
     * Gives every thread of the process the normal CPU priority (nice 0):
     * threads it starts later inherit it from their creators. The JIT
     * compiler's threads too: kept at the lowest, they starved behind the
     * cell's own busy vCPU thread, which then ran uncompiled for longer
     * (docs/performance.md).
     */
    void runInForeground() {
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : tasks.toList()) {
                try {
                    Libc.setNice(Integer.parseInt(t.getFileName().toString()), 0);
                } catch (NativeException | NumberFormatException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException e) {
            // the process ended: its channel says so at the next call
        }
    }

    /**
     * Makes a process started ahead of need (a spare) cell {@code id}'s: its
     * socket and log are renamed to the cell's (the listening socket and
     * the open log follow their files).
     */
    void assign(Path cellSocket, Path cellLog, Path spareLog) throws IOException {
        Files.move(socket, cellSocket, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        socket = cellSocket;
        Files.move(spareLog, cellLog, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** The pidfd: readable once the process ended. */
    int pidfd() {
        return pidfd;
    }

    Path socket() {
        return socket;
    }

    /** Whether the process still runs. */
    boolean alive() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(Libc.POLLFD_BYTES, 8);
            Libc.setPollFd(p, 0, pidfd, Libc.POLLIN);
            return Libc.poll(p, 1, 0) == 0;
        }
    }

    /** How the process ended, as far as this supervisor can tell. */
    String exitDescription() {
        if (process == null) {
            return "ended";
        }
        try {
            process.waitFor(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return exitOf(process);
    }

    private static String exitOf(Process p) {
        if (p.isAlive()) {
            return "still running";
        }
        int status = p.exitValue();
        // Java reports a process a signal ended as 128 + the signal
        if (status == 128 + SIGSYS) {
            return "killed by signal " + SIGSYS + " (SIGSYS: a system call its seccomp filter forbids)";
        }
        return status > 128 && status < 128 + 65 ? "killed by signal " + (status - 128) : "exit status " + status;
    }

    private static String logTail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            List<String> tail = lines.subList(Math.max(0, lines.size() - 5), lines.size());
            return tail.isEmpty() ? "" : "; its log " + log + " ends: " + String.join(" | ", tail);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Sends {@code request} and waits for the reply (one call at a time).
     *
     * @throws HypervisorException the cell's refusal (its errno and words),
     *         or EIO when the process does not answer in time or is gone
     */
    synchronized CellChannel.Received<CellReply> call(String cell, CellRequest request, int[] fds, int timeoutMillis)
            throws HypervisorException {
        CellChannel.Received<CellReply> r;
        try {
            r = channel.call(request, fds, timeoutMillis);
        } catch (IOException e) {
            throw new HypervisorException(Errno.EIO, "cell \"" + cell + "\": its process " + pid + ": "
                    + e.getMessage(), e);
        }
        if (r.message() instanceof CellReply.Failed f) {
            r.closeFds();
            Errno errno = Errno.of(f.errno());
            throw new HypervisorException(errno == null ? Errno.EIO : errno, f.message());
        }
        return r;
    }

    /** As {@link #call(String, CellRequest, int[], int)} with no descriptors either way. */
    CellReply call(String cell, CellRequest request) throws HypervisorException {
        CellChannel.Received<CellReply> r = call(cell, request, new int[0], CALL_MILLIS);
        r.closeFds();
        return r.message();
    }

    /** Waits up to {@link #END_MILLIS} for the process to end (after Destroy); whether it did. */
    boolean awaitEnd() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(Libc.POLLFD_BYTES, 8);
            Libc.setPollFd(p, 0, pidfd, Libc.POLLIN);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(END_MILLIS);
            while (System.nanoTime() < deadline) {
                if (Libc.poll(p, 1, 100) > 0) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Lets go of the process (channel and pidfd); the process runs on unless it ended. */
    @Override
    public void close() {
        channel.close();
        try {
            Libc.close(pidfd);
        } catch (NativeException ignored) {
            // closing at teardown
        }
    }
}
