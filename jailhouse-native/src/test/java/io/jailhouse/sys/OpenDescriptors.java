package io.jailhouse.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What this process has open, as {@code /proc/self/fd} says: for tests that nothing leaks. */
public final class OpenDescriptors {
    private static final Path FDS = Path.of("/proc/self/fd");

    private OpenDescriptors() {
    }

    /** How many descriptors are open (the listing's own included, the same every time). */
    public static long count() throws IOException {
        try (Stream<Path> fds = Files.list(FDS)) {
            return fds.count();
        }
    }

    /** What each open descriptor refers to ("pipe:[…]", "memfd:NAME (deleted)", a path). */
    public static List<String> targets() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> fds = Files.list(FDS)) {
            for (Path fd : fds.toList()) {
                try {
                    out.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }
}
