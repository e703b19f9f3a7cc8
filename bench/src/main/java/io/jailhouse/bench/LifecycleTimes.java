package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How long the management operations take on this machine: cell create,
 * load (64 KiB image), start, shutdown and destroy of the bundled tiny-demo
 * cell, repeated, as medians. In-process, so the times are the hypervisor's,
 * without the CLI's JVM start. Every other round waits for the spare cell
 * process to be listening before its create; creates are reported apart by
 * whether a spare was there (its socket) or a process had to be started.
 *
 * <p>Usage: {@code LifecycleTimes [ROUNDS]}, run from the project root.
 */
public final class LifecycleTimes {
    private LifecycleTimes() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path top = Path.of(System.getProperty("jailhouse.home", "."));
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        CellConfig tiny = ConfigFiles.read(top.resolve("configs/x86/tiny-demo.yaml"), CellConfig.class);
        byte[] image = Files.readAllBytes(top.resolve("inmates/demos/x86/tiny-demo.bin"));
        String[] ops = {"create", "load", "start", "shutdown", "destroy"};
        List<Double> createWithSpare = new ArrayList<>();
        List<Double> createStarting = new ArrayList<>();
        List<List<Double>> times = new ArrayList<>();
        for (int i = 0; i < ops.length; i++) {
            times.add(new ArrayList<>());
        }
        try (EnabledHypervisor enabled = EnabledHypervisor.enable(system)) {
            Hypervisor hv = enabled.hv();
            CellRef ref = CellRef.parse(tiny.name());
            Path spare = enabled.state().resolve("spare.sock");
            for (int r = 0; r < rounds; r++) {
                if (r % 2 == 1) {
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (!Files.exists(spare) && System.nanoTime() < deadline) {
                        Thread.sleep(10); // the condition is the socket; a bench may poll for it
                    }
                }
                boolean withSpare = Files.exists(spare);
                long t0 = System.nanoTime();
                hv.createCell(tiny);
                long t1 = System.nanoTime();
                hv.loadCell(ref, List.of(new LoadImage("tiny-demo.bin", image, 0xf0000)));
                long t2 = System.nanoTime();
                hv.startCell(ref);
                long t3 = System.nanoTime();
                hv.loadCell(ref, List.of());
                long t4 = System.nanoTime();
                hv.destroyCell(ref);
                long t5 = System.nanoTime();
                long[] t = {t0, t1, t2, t3, t4, t5};
                for (int i = 0; i < ops.length; i++) {
                    times.get(i).add((t[i + 1] - t[i]) / 1e6);
                }
                (withSpare ? createWithSpare : createStarting).add((t1 - t0) / 1e6);
            }
        }
        System.out.printf("tiny-demo cell, %d rounds, median (min-max) in ms:%n", rounds);
        for (int i = 0; i < ops.length; i++) {
            System.out.printf("  %-9s %s%n", ops[i], summary(times.get(i)));
        }
        print("create, a spare process ready", createWithSpare);
        print("create, a process started for it", createStarting);
    }

    private static void print(String what, List<Double> t) {
        if (t.isEmpty()) {
            System.out.printf("  %-34s (no such round)%n", what);
            return;
        }
        System.out.printf("  %-34s %s, %d rounds%n", what, summary(t), t.size());
    }

    /** Median (min-max), in ms. */
    private static String summary(List<Double> t) {
        List<Double> s = new ArrayList<>(t);
        s.sort(null);
        return String.format("%7.2f  (%.2f-%.2f)", s.get(s.size() / 2), s.get(0), s.get(s.size() - 1));
    }
}
