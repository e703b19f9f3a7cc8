package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.daemon.ConsoleLog;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The end-to-end measure of the exit loop: the same guest ({@code pio-loop},
 * which reads the PM timer N times and reports TSC cycles per read) run
 * alternately under the Java hypervisor and under the minimal C KVM loop of
 * {@code bench/floor}, in one run, on one machine. Each read is one PIO exit
 * to user space and back, so cycles per read is the cost of one exit round
 * trip as the guest sees it. Each cell runs in a new process, so the Java
 * side runs pio-loop twice in the same cell: the first run is the cold
 * figure (a fresh process: its first exits run before the loop is compiled,
 * while the next spare process starts beside it), the second the exit
 * loop's steady cost, which the ratio compares. pio-loop then times each exit
 * of a second loop with the TSC and prints percentiles, compared the same
 * way at p50, p90, p99 and p99.9. Also measures the time from {@code cell start}
 * to the cell's first console byte with tiny-demo (which prints at once),
 * loaded as the walkthrough does, against the floor's time from its first
 * {@code KVM_RUN} to the first byte of the same image.
 *
 * <p>Usage: {@code ExitCostComparison [ROUNDS] [LOOPS]}, run from the project root.
 */
public final class ExitCostComparison {
    private static final Pattern FLOOR_FIRST = Pattern.compile("first console output after ([0-9.]+) ms");
    private static final String DONE = "pio-loop done";

    private ExitCostComparison() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int loops = args.length > 1 ? Integer.parseInt(args[1]) : 20000;
        Path top = Path.of(System.getProperty("jailhouse.home", "."));
        Path image = top.resolve("inmates/tests/x86/pio-loop.bin");
        KvmFloor floor = new KvmFloor(top);
        Path tiny = top.resolve("inmates/demos/x86/tiny-demo.bin");
        for (Path p : List.of(image, floor.binary(), tiny)) {
            if (!Files.isRegularFile(p)) {
                throw new IOException(p + " is missing; build first (bin/build)");
            }
        }
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        // The bundled tiny-demo cell, started at 0 as current upstream does: pio-loop runs from 0.
        CellConfig tinyDemo = ConfigFiles.read(top.resolve("configs/x86/tiny-demo.yaml"), CellConfig.class);
        CellConfig cell = tinyDemo.withName("pio-loop").withCpuResetAddress(0);
        byte[] code = Files.readAllBytes(image);
        String cmdline = "loops=" + loops;

        List<Long> javaCycles = new ArrayList<>();
        List<Long> coldCycles = new ArrayList<>();
        List<Long> floorCycles = new ArrayList<>();
        List<Double> firstByteMs = new ArrayList<>();
        List<Double> floorFirstByteMs = new ArrayList<>();
        List<KvmFloor.ExitDistribution> javaExits = new ArrayList<>();
        List<KvmFloor.ExitDistribution> floorExits = new ArrayList<>();
        System.out.printf("pio-loop, %d PM-timer reads per run, %d rounds (Java and C alternating)%n", loops, rounds);
        try (EnabledHypervisor enabled = EnabledHypervisor.enable(system)) {
            Hypervisor hv = enabled.hv();
            for (int round = 1; round <= rounds; round++) {
                hv.createCell(cell);
                CellRef ref = CellRef.parse("pio-loop");
                byte[] line = (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1);
                hv.loadCell(ref, List.of(new LoadImage(image.toString(), code, 0),
                        new LoadImage("cmdline", line, 0x1000)));
                ConsoleLog console = hv.cellConsole(ref);
                long t0 = System.nanoTime();
                hv.startCell(ref);
                String out = waitFor(console, t0, DONE) > 0 ? console.read(0, 1 << 20).text() : "";
                long cold = KvmFloor.pioLoopCycles(out, "Java");
                long before = console.tail();
                hv.startCell(ref); // again, in the same process
                waitFor(console, System.nanoTime(), DONE, before);
                String second = console.read(before, 1 << 20).text();
                hv.destroyCell(ref);
                long java = KvmFloor.pioLoopCycles(second, "Java");
                javaExits.add(KvmFloor.pioLoopDistribution(second, "Java"));
                coldCycles.add(cold);
                String onFloor = floor.pioLoopOnTheFloor(image, loops);
                long c = KvmFloor.pioLoopCycles(onFloor, "C floor");
                floorExits.add(KvmFloor.pioLoopDistribution(onFloor, "C floor"));
                javaCycles.add(java);
                floorCycles.add(c);

                hv.createCell(tinyDemo);
                CellRef demo = CellRef.parse(tinyDemo.name());
                hv.loadCell(demo, List.of(new LoadImage(tiny.toString(), Files.readAllBytes(tiny), 0xf0000)));
                ConsoleLog demoConsole = hv.cellConsole(demo);
                long t1 = System.nanoTime();
                hv.startCell(demo);
                long first = waitFor(demoConsole, t1, null);
                hv.destroyCell(demo);
                double javaFirst = (first - t1) / 1e6;
                // tiny-demo under the floor at the reset vector, as the walkthrough loads it
                double floorFirst = floorFirstByte(floor.run(true, "--reset", "0xffff0", "--until", "Hello",
                        "--timeout", "300", tiny.toString(), "0xf0000"));
                firstByteMs.add(javaFirst);
                floorFirstByteMs.add(floorFirst);
                System.out.printf("round %d: exit round trip Java %6d cycles (first run in a new process %6d),"
                        + " C floor %6d cycles, ratio %.2f (first run %.2f); start to first console byte Java %.1f ms,"
                        + " C floor %.1f ms%n", round, java, cold, c, (double) java / c, (double) cold / c, javaFirst,
                        floorFirst);
            }
        }
        long j = median(javaCycles);
        long c = median(floorCycles);
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < javaCycles.size(); i++) {
            ratios.add((double) javaCycles.get(i) / floorCycles.get(i));
        }
        List<Double> coldRatios = new ArrayList<>();
        for (int i = 0; i < coldCycles.size(); i++) {
            coldRatios.add((double) coldCycles.get(i) / floorCycles.get(i));
        }
        System.out.printf("median: Java %d cycles/exit, C floor %d cycles/exit; median of the rounds' ratios Java/C %.2f"
                + " (first run in a new process: %d cycles/exit, ratio %.2f)%n", j, c, medianD(ratios),
                median(coldCycles), medianD(coldRatios));
        // Per-exit percentiles: each round's Java/C ratio at each percentile, then the median over the rounds.
        System.out.println("single exits (guest TSC around each port read), median over the rounds:");
        String[] names = {"p50", "p90", "p99", "p99.9", "max"};
        for (int k = 0; k < names.length; k++) {
            List<Long> jv = new ArrayList<>();
            List<Long> fv = new ArrayList<>();
            List<Double> r = new ArrayList<>();
            for (int i = 0; i < javaExits.size(); i++) {
                long a = at(javaExits.get(i), k);
                long b = at(floorExits.get(i), k);
                jv.add(a);
                fv.add(b);
                r.add((double) a / b);
            }
            System.out.printf("  %-6s Java %7d cycles, C floor %7d cycles, ratio %.3f%n", names[k], median(jv), median(fv),
                    medianD(r));
        }
        System.out.printf("median start to first console byte (tiny-demo at 0xf0000): Java %.1f ms, C floor %.1f ms%n",
                medianD(firstByteMs), medianD(floorFirstByteMs));
    }

    private static long at(KvmFloor.ExitDistribution d, int k) {
        return switch (k) {
            case 0 -> d.p50();
            case 1 -> d.p90();
            case 2 -> d.p99();
            case 3 -> d.p999();
            default -> d.max();
        };
    }

    /** Waits for the first byte (text null) or for text; returns the time seen, or -1 on timeout. */
    private static long waitFor(ConsoleLog console, long t0, String text) throws InterruptedException {
        return waitFor(console, t0, text, 0);
    }

    /** As {@link #waitFor(ConsoleLog, long, String)}, for what the console got after position {@code from}. */
    private static long waitFor(ConsoleLog console, long t0, String text, long from) throws InterruptedException {
        long deadline = t0 + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < deadline) {
            if (text == null ? console.tail() > from
                    : console.read(from, 1 << 20).text().contains(text)) {
                return System.nanoTime();
            }
            Thread.sleep(0, 200_000);
        }
        throw new IllegalStateException("the cell did not " + (text == null ? "print" : "print \"" + text + "\"")
                + " within 300 s; its console:\n" + console.read(0, 1 << 20).text());
    }

    private static double floorFirstByte(String summary) {
        Matcher m = FLOOR_FIRST.matcher(summary);
        if (!m.find()) {
            throw new IllegalStateException("no first-output time in the floor's summary:\n" + summary);
        }
        return Double.parseDouble(m.group(1));
    }

    private static long median(List<Long> values) {
        List<Long> s = new ArrayList<>(values);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    private static double medianD(List<Double> values) {
        List<Double> s = new ArrayList<>(values);
        s.sort(null);
        return s.get(s.size() / 2);
    }
}
