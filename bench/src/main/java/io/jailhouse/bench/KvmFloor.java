package io.jailhouse.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The floor the hypervisor is measured against: {@code bench/floor/kvm-floor},
 * the minimal C KVM loop, run on the same inmate images.
 */
final class KvmFloor {
    private static final Pattern PIO_LOOP = Pattern.compile("pio-loop: (\\d+) exits, (\\d+) cycles/exit");
    private static final Pattern PIO_LOOP_EXITS = Pattern.compile(
            "pio-loop: per-exit cycles p50 (\\d+) p90 (\\d+) p99 (\\d+) p99\\.9 (\\d+) max (\\d+)");
    private static final long TIMEOUT_SECONDS = 600;

    private final Path binary;

    KvmFloor(Path top) {
        this.binary = top.resolve("bench/floor/kvm-floor");
    }

    Path binary() {
        return binary;
    }

    /** Runs {@code image} at {@code address} (reset 0), command line at 0x1000, until {@code until}; returns its console. */
    String console(Path image, long address, String cmdline, String until) throws IOException, InterruptedException {
        return run(false, "--reset", "0", "--cmdline", cmdline, "--cmdline-addr", "0x1000", "--until", until,
                "--timeout", Long.toString(TIMEOUT_SECONDS), image.toString(), "0x" + Long.toHexString(address));
    }

    /** Runs the floor with these arguments; returns its summary (stderr) when {@code summary}, else its console. */
    String run(boolean summary, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        if (summary) {
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        } else {
            pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        }
        Process p = pb.start();
        String out = new String((summary ? p.getErrorStream() : p.getInputStream()).readAllBytes(),
                StandardCharsets.ISO_8859_1);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("kvm-floor " + String.join(" ", args) + " failed; it printed:\n" + out);
        }
        return out;
    }

    /** One PIO exit round trip on the floor, in guest TSC cycles: pio-loop with {@code loops} reads. */
    long pioExitCycles(Path pioLoop, int loops) throws IOException, InterruptedException {
        return pioLoopCycles(pioLoopOnTheFloor(pioLoop, loops), "C floor");
    }

    /** pio-loop's console under the floor. */
    String pioLoopOnTheFloor(Path pioLoop, int loops) throws IOException, InterruptedException {
        return console(pioLoop, 0, "loops=" + loops, "pio-loop done");
    }

    /** Percentiles of single exits as the guest's TSC saw them (pio-loop's second loop), in cycles. */
    record ExitDistribution(long p50, long p90, long p99, long p999, long max) {
    }

    static ExitDistribution pioLoopDistribution(String output, String who) {
        Matcher m = PIO_LOOP_EXITS.matcher(output);
        if (!m.find()) {
            throw new IllegalStateException(who + ": no pio-loop per-exit percentiles in:\n" + output);
        }
        return new ExitDistribution(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                Long.parseLong(m.group(4)), Long.parseLong(m.group(5)));
    }

    /** The cycles per exit pio-loop printed (under the floor or in a cell). */
    static long pioLoopCycles(String output, String who) {
        Matcher m = PIO_LOOP.matcher(output);
        if (!m.find()) {
            throw new IllegalStateException(who + ": no pio-loop result in:\n" + output);
        }
        return Long.parseLong(m.group(2));
    }
}
