package io.jailhouse.bench;

import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.RunDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A hypervisor daemon as users run it: started and stopped with
 * {@code bin/jailhouse}, in a run directory of its own, driven through the
 * control socket. For the endurance runs, which kill it, restart it and
 * count what its processes hold.
 */
final class DaemonUnderTest {
    final Path top;
    final RunDirectory run;
    final Path systemConfig;

    DaemonUnderTest(Path top, Path runDir, Path systemConfig) {
        this.top = top;
        this.run = new RunDirectory(runDir);
        this.systemConfig = systemConfig;
    }

    /** A daemon on the bundled development system config, in a new run directory named after {@code purpose}. */
    static DaemonUnderTest onQemuVm(Path top, String purpose) throws IOException {
        return new DaemonUnderTest(top, Files.createTempDirectory("jailhouse-" + purpose),
                top.resolve("configs/x86/qemu-vm.cell"));
    }

    /** Runs {@code bin/jailhouse ARGS} against this run directory; its exit status and output. */
    record Outcome(int status, String output) {
    }

    Outcome jailhouse(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(top.resolve("bin/jailhouse").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put(RunDirectory.ENVIRONMENT_VARIABLE, run.path().toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("jailhouse " + String.join(" ", args) + " did not end within 120 s");
        }
        return new Outcome(p.exitValue(), out);
    }

    Outcome enable() throws IOException, InterruptedException {
        return jailhouse("enable", systemConfig.toString(), "--partitioning", "relaxed");
    }

    ControlClient client() throws IOException, io.jailhouse.protocol.DaemonUnavailableException {
        return ControlClient.connect(run.socket()).timeout(Duration.ofSeconds(60));
    }

    /** The supervisor's pid, as it answers a ping. */
    long pid() throws Exception {
        try (ControlClient c = client()) {
            return c.ping().pid();
        }
    }

    List<CellStatus> cells() throws Exception {
        try (ControlClient c = client()) {
            return c.cells().cells();
        }
    }

    /** Descriptors, threads and resident memory of a process, from /proc. */
    record Usage(long descriptors, long threads, long rssKiB) {
        static Usage of(long pid) throws IOException {
            long fds;
            try (Stream<Path> s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                fds = s.count();
            }
            long threads = 0;
            long rss = 0;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Threads:")) {
                    threads = Long.parseLong(line.substring(8).trim());
                } else if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                }
            }
            return new Usage(fds, threads, rss);
        }
    }

    /** Bytes the reserved-memory files of every supervisor take in /dev/shm (what pages cells touched and left). */
    static long backingBytes() throws IOException, InterruptedException {
        long total = 0;
        for (Path f : backingFiles()) {
            Process p = new ProcessBuilder("du", "-B1", "--", f.toString()).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            if (!out.isEmpty()) {
                total += Long.parseLong(out.split("\\s+")[0]);
            }
        }
        return total;
    }

    static List<Path> backingFiles() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/dev/shm"))) {
            return s.filter(f -> f.getFileName().toString().startsWith("jailhouse-memory-")).toList();
        }
    }

    /** Cell processes alive on this machine (any supervisor's). */
    static List<Long> cellProcesses() {
        return ProcessHandle.allProcesses().filter(h -> h.info().commandLine()
                .map(c -> c.contains("io.jailhouse.hypervisor.CellMain")).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    /** Supervisors alive on this machine. */
    static List<Long> supervisors() {
        return ProcessHandle.allProcesses().filter(h -> h.info().commandLine()
                .map(c -> c.contains("io.jailhouse.daemon.Jailhoused")).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    /** The cgroup directories of cpusets a supervisor made (strict partitioning). */
    static List<Path> cpusets() throws IOException {
        Path root = Path.of("/sys/fs/cgroup/jailhouse");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isDirectory).toList();
        }
    }
}
