package io.jailhouse.daemon;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * A pids cgroup of the test's own (v1 or v2) that caps the tasks of the
 * processes moved into it: how a test makes a process's next thread fail
 * to start, root or not (RLIMIT_NPROC does not bind root). Where the
 * controller is missing the test is skipped, loudly.
 */
final class PidsLimit implements AutoCloseable {
    private final Path dir;
    private final Path home;

    private PidsLimit(Path dir, Path home) {
        this.dir = dir;
        this.home = home;
    }

    static PidsLimit create(String name) throws Exception {
        Path v1 = Path.of("/sys/fs/cgroup/pids");
        Path v2 = Path.of("/sys/fs/cgroup");
        Path dir;
        Path home;
        if (Files.isDirectory(v1) && Files.exists(v1.resolve("cgroup.procs"))) {
            dir = v1.resolve(name);
            home = v1;
        } else if (Files.exists(v2.resolve("cgroup.subtree_control"))
                && Files.readString(v2.resolve("cgroup.subtree_control")).contains("pids")) {
            dir = v2.resolve(name);
            home = v2;
        } else {
            String message = "PIDS CGROUP TESTS SKIPPED: no pids controller at /sys/fs/cgroup/pids or in "
                    + "/sys/fs/cgroup/cgroup.subtree_control";
            System.err.println("!!!!! " + message + " !!!!!");
            Assumptions.abort(message);
            throw new AssertionError("unreachable");
        }
        if (!Files.isWritable(home.resolve("cgroup.procs"))) {
            String message = "PIDS CGROUP TESTS SKIPPED: " + home + " is not writable (not root?)";
            System.err.println("!!!!! " + message + " !!!!!");
            Assumptions.abort(message);
        }
        Files.createDirectories(dir);
        return new PidsLimit(dir, home);
    }

    /** Moves {@code pid} (all its threads) in and caps the group at the tasks it has now plus {@code more}. */
    void hold(long pid, int more) throws Exception {
        Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
        long tasks = Files.readAllLines(dir.resolve("tasks").toFile().exists() ? dir.resolve("tasks")
                : dir.resolve("cgroup.threads")).size();
        Files.writeString(dir.resolve("pids.max"), Long.toString(tasks + more));
    }

    @Override
    public void close() throws Exception {
        for (String pid : Files.readAllLines(dir.resolve("cgroup.procs"))) {
            try {
                Files.writeString(home.resolve("cgroup.procs"), pid);
            } catch (java.io.IOException e) {
                // gone meanwhile
            }
        }
        Files.deleteIfExists(dir);
    }
}
