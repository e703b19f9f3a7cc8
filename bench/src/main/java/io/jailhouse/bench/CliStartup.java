package io.jailhouse.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How long a {@code jailhouse} command takes as a user feels it: whole
 * processes, wall time, median of ROUNDS, beside its floors in the same
 * run: the C client making the same socket request ({@code bench/floor/cli-floor})
 * and a trivial Java program on the CLI's JVM options. The daemon is
 * started with {@code bin/jailhouse enable}; tiny-demo is created and
 * loaded for the commands that need a cell.
 *
 * <p>Usage: {@code bench/run cli [ROUNDS]} (default 10), as root.
 */
public final class CliStartup {
    private CliStartup() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Path top = Path.of(System.getProperty("jailhouse.home", ".")).toAbsolutePath();
        Path floor = top.resolve("bench/floor/cli-floor");
        if (!Files.isExecutable(floor)) {
            throw new IllegalStateException(floor + " is missing: make -C bench/floor");
        }
        DaemonUnderTest d = DaemonUnderTest.onQemuVm(top, "cli");
        if (d.enable().status() != 0) {
            throw new IllegalStateException("enable failed");
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        try {
            run(d, "cell", "create", top.resolve("configs/x86/tiny-demo.cell").toString());
            run(d, "cell", "load", "tiny-demo", top.resolve("inmates/demos/x86/tiny-demo.bin").toString(), "-a",
                    "0xf0000");
            System.out.printf("whole processes, wall time, median of %d (min-max), ms:%n", rounds);
            report("C client, cell.list request (floor)", d, rounds, List.of(floor.toString(),
                    d.run.socket().toString()));
            report("trivial Java program, the CLI's JVM options (floor)", d, rounds, List.of(java,
                    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m", "-XX:-UsePerfData", "-cp",
                    System.getProperty("java.class.path"), Hello.class.getName()));
            String jh = top.resolve("bin/jailhouse").toString();
            Path aot = top.resolve("jailhouse-cli/target/jailhouse-cli.aot");
            System.out.println("  (the CLI's AOT cache " + aot + (Files.isRegularFile(aot) ? " is used" : " is missing")
                    + "; \"without AOT\" rows run with JAILHOUSE_CLI_AOT=off)");
            report("jailhouse --version, without AOT", d, rounds, List.of("env", "JAILHOUSE_CLI_AOT=off", jh,
                    "--version"));
            report("jailhouse cell list, without AOT", d, rounds, List.of("env", "JAILHOUSE_CLI_AOT=off", jh,
                    "cell", "list"));
            report("jailhouse --version", d, rounds, List.of(jh, "--version"));
            report("jailhouse --help", d, rounds, List.of(jh, "--help"));
            report("jailhouse cell list", d, rounds, List.of(jh, "cell", "list"));
            report("jailhouse cell stats tiny-demo", d, rounds, List.of(jh, "cell", "stats", "tiny-demo"));
            report("jailhouse console", d, rounds, List.of(jh, "console"));
            List<Double> start = new ArrayList<>();
            List<Double> shutdown = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                start.add(time(d, List.of(jh, "cell", "start", "tiny-demo")));
                shutdown.add(time(d, List.of(jh, "cell", "shutdown", "tiny-demo")));
            }
            print("jailhouse cell start tiny-demo", start);
            print("jailhouse cell shutdown tiny-demo", shutdown);
        } finally {
            d.jailhouse("disable", "--force");
        }
    }

    private static void run(DaemonUnderTest d, String... args) throws Exception {
        DaemonUnderTest.Outcome o = d.jailhouse(args);
        if (o.status() != 0) {
            throw new IllegalStateException("jailhouse " + String.join(" ", args) + ": " + o.output());
        }
    }

    private static void report(String what, DaemonUnderTest d, int rounds, List<String> command) throws Exception {
        time(d, command); // once to warm the page cache, not counted
        List<Double> t = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            t.add(time(d, command));
        }
        print(what, t);
    }

    private static double time(DaemonUnderTest d, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put(io.jailhouse.protocol.RunDirectory.ENVIRONMENT_VARIABLE, d.run.path().toString());
        long t0 = System.nanoTime();
        int status = pb.start().waitFor();
        double ms = (System.nanoTime() - t0) / 1e6;
        if (status != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + status);
        }
        return ms;
    }

    private static void print(String what, List<Double> t) {
        List<Double> s = new ArrayList<>(t);
        s.sort(null);
        System.out.printf("  %-55s %8.1f  (%.1f-%.1f)%n", what, s.get(s.size() / 2), s.get(0), s.get(s.size() - 1));
    }
}
