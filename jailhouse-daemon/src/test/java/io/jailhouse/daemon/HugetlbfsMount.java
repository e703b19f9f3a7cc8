package io.jailhouse.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * A hugetlbfs mount of the test's own, with a few free 2 MiB pages set
 * aside for it (root only): mounted at {@link #open}, unmounted and the pages
 * given back at {@link #close}. Where that is impossible (not root, no
 * hugetlbfs in the kernel, no free memory) the test is skipped, loudly.
 */
final class HugetlbfsMount implements AutoCloseable {
    private static final Path NR_HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");

    final Path path;
    private final long pagesBefore;

    private HugetlbfsMount(Path path, long pagesBefore) {
        this.path = path;
        this.pagesBefore = pagesBefore;
    }

    /** Mounts hugetlbfs at a new directory under {@code parent} with {@code pages} more huge pages in the pool. */
    static HugetlbfsMount open(Path parent, int pages) throws Exception {
        String reason = null;
        long before = -1;
        Path dir = Files.createDirectories(parent.resolve("hugetlbfs"));
        if (io.jailhouse.sys.Libc.geteuid() != 0) {
            reason = "not root: cannot set aside huge pages nor mount hugetlbfs";
        } else if (!Files.isWritable(NR_HUGEPAGES)) {
            reason = NR_HUGEPAGES + " is not writable (no hugetlbfs in this kernel?)";
        } else {
            before = Long.parseLong(Files.readString(NR_HUGEPAGES).trim());
            Files.writeString(NR_HUGEPAGES, Long.toString(before + pages));
            if (Long.parseLong(Files.readString(NR_HUGEPAGES).trim()) < before + pages) {
                reason = "the kernel could not set aside " + pages + " huge pages";
            } else if (run("mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", dir.toString()) != 0) {
                reason = "mount -t hugetlbfs failed";
            }
            if (reason != null) {
                Files.writeString(NR_HUGEPAGES, Long.toString(before));
            }
        }
        if (reason != null) {
            String message = "HUGETLBFS TESTS SKIPPED: " + reason;
            System.err.println("!!!!! " + message + " !!!!!");
            Assumptions.abort(message);
        }
        return new HugetlbfsMount(dir, before);
    }

    private static int run(String... command) throws IOException, InterruptedException {
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    @Override
    public void close() throws Exception {
        run("umount", path.toString());
        Files.writeString(NR_HUGEPAGES, Long.toString(pagesBefore));
    }
}
