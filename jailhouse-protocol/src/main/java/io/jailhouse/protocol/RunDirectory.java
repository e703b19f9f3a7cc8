package io.jailhouse.protocol;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Where a running daemon can be found: the directory holding its control
 * socket, pid file and log. The CLI and the daemon resolve it the same way,
 * so that both agree without talking first.
 */
public record RunDirectory(Path path) {
    public static final Path DEFAULT = Path.of("/run/jailhouse");
    /** Overrides the default for both the CLI and the daemon (tests, unprivileged development). */
    public static final String ENVIRONMENT_VARIABLE = "JAILHOUSE_RUN_DIR";

    public RunDirectory {
        path = path.toAbsolutePath().normalize();
    }

    /** {@code argument} (the daemon's {@code --run-dir}) if given, else the environment's, else the default. */
    public static RunDirectory locate(String argument, Map<String, String> environment) {
        if (argument != null && !argument.isEmpty()) {
            return new RunDirectory(Path.of(argument));
        }
        String env = environment.get(ENVIRONMENT_VARIABLE);
        return new RunDirectory(env != null && !env.isEmpty() ? Path.of(env) : DEFAULT);
    }

    public Path socket() {
        return path.resolve("control.sock");
    }

    public Path pidFile() {
        return path.resolve("jailhoused.pid");
    }

    /**
     * What the hypervisor keeps across supervisors: each cell process's
     * socket and log, and the hypervisor console.
     */
    public Path cells() {
        return path.resolve("cells");
    }

    /** Where the background daemon's stdout and stderr go. */
    public Path log() {
        return path.resolve("jailhoused.log");
    }

    /**
     * Creates the directory, private to its owner (0700), if it is missing.
     * An existing directory is left as it is: it may be one the user chose
     * and shares with other things.
     */
    public void create() throws IOException {
        if (Files.isDirectory(path)) {
            return;
        }
        Files.createDirectories(path.getParent());
        try {
            Files.createDirectory(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(path)) {
                throw e;
            }
        }
    }

    /** Writes the pid file atomically, so a reader never sees half a number. */
    public void writePid(long pid) throws IOException {
        Path tmp = Files.createTempFile(path, ".jailhoused", ".pid");
        try {
            Files.writeString(tmp, pid + "\n", StandardCharsets.US_ASCII);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(tmp, pidFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The pid the file names, if there is a readable one. */
    public OptionalLong readPid() {
        try {
            return OptionalLong.of(Long.parseLong(Files.readString(pidFile(), StandardCharsets.US_ASCII).strip()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
