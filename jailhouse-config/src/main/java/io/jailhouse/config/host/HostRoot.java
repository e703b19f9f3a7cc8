package io.jailhouse.config.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The directory that stands for a host's {@code /}: the running system itself,
 * or a copy of its {@code /proc}, {@code /sys} and {@code /run} files collected
 * elsewhere (and the fake trees the tests use). Every host fact is read through
 * here, so the same code describes the local machine and a collected one.
 */
public final class HostRoot {
    private final Path root;

    private HostRoot(Path root) {
        this.root = root;
    }

    /** The machine this runs on. */
    public static HostRoot live() {
        return new HostRoot(Path.of("/"));
    }

    public static HostRoot at(Path root) {
        return new HostRoot(root.toAbsolutePath().normalize());
    }

    public Path path() {
        return root;
    }

    public boolean isLive() {
        return root.equals(Path.of("/"));
    }

    /** The file standing for the host's absolute path {@code hostPath} ({@code /proc/iomem}). */
    public Path resolve(String hostPath) {
        if (!hostPath.startsWith("/")) {
            throw new IllegalArgumentException("host path '" + hostPath + "' is not absolute");
        }
        return root.resolve(hostPath.substring(1));
    }

    /** How messages name a host file: the path itself for the live system, else with the root in front. */
    public String describe(String hostPath) {
        return resolve(hostPath).toString();
    }

    public boolean exists(String hostPath) {
        return Files.exists(resolve(hostPath));
    }

    public String readText(String hostPath) throws HostDataException {
        return new String(readBytes(hostPath), StandardCharsets.UTF_8);
    }

    /** The file's text, or empty if it does not exist; other read failures are errors. */
    public Optional<String> readTextIfPresent(String hostPath) throws HostDataException {
        if (!Files.exists(resolve(hostPath))) {
            return Optional.empty();
        }
        return Optional.of(readText(hostPath));
    }

    /** The first line of a one-value sysfs file, trimmed. */
    public String readValue(String hostPath) throws HostDataException {
        String text = readText(hostPath);
        int nl = text.indexOf('\n');
        return (nl < 0 ? text : text.substring(0, nl)).trim();
    }

    public byte[] readBytes(String hostPath) throws HostDataException {
        Path p = resolve(hostPath);
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new HostDataException(p.toString(), "not found");
        } catch (AccessDeniedException e) {
            throw new HostDataException(p.toString(), "permission denied (run as root)");
        } catch (IOException e) {
            throw new HostDataException(p.toString(), "cannot read: " + e.getMessage());
        }
    }

    /** Names in a host directory, sorted; empty if the directory does not exist. */
    public List<String> list(String hostDir) throws HostDataException {
        Path d = resolve(hostDir);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new HostDataException(d.toString(), "cannot list: " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
