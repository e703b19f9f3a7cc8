package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.daemon.ConsoleLog;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs each demo in its bundled cell for a while and prints what it cost:
 * exits per reason (upstream's statistics names, non-zero ones) and, for
 * apic-demo, the timer jitter it measured itself.
 *
 * <p>Usage: {@code DemoStatistics [SECONDS]}, run from the project root.
 */
public final class DemoStatistics {
    private static final Pattern JITTER = Pattern.compile("jitter: +(-?\\d+) ns, min: +(-?\\d+) ns, max: +(-?\\d+) ns");

    private DemoStatistics() {
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        Path top = Path.of(System.getProperty("jailhouse.home", "."));
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        try (EnabledHypervisor enabled = EnabledHypervisor.enable(system)) {
            Hypervisor hv = enabled.hv();
            for (String demo : List.of("tiny-demo", "apic-demo", "smp-demo")) {
                CellConfig cell = ConfigFiles.read(top.resolve("configs/x86/" + demo + ".yaml"), CellConfig.class);
                byte[] image = Files.readAllBytes(top.resolve("inmates/demos/x86/" + demo + ".bin"));
                hv.createCell(cell);
                CellRef ref = CellRef.parse(demo);
                hv.loadCell(ref, List.of(new LoadImage(demo + ".bin", image, 0xf0000)));
                hv.startCell(ref);
                Thread.sleep((long) (seconds * 1000));
                CellStatistics stats = hv.statistics(ref);
                ConsoleLog console = hv.cellConsole(ref);
                String out = console.read(0, 1 << 20).text();
                StringBuilder line = new StringBuilder(String.format("%-10s %4.1f s:", demo, seconds));
                for (Map.Entry<String, Long> e : stats.total().entrySet()) {
                    if (e.getValue() != 0) {
                        line.append(String.format(" %s %d (%.0f/s)", e.getKey(), e.getValue(), e.getValue() / seconds));
                    }
                }
                System.out.println(line);
                Matcher m = JITTER.matcher(out);
                long min = Long.MAX_VALUE;
                long max = Long.MIN_VALUE;
                int n = 0;
                while (m.find()) {
                    long j = Long.parseLong(m.group(1));
                    min = Math.min(min, j);
                    max = Math.max(max, j);
                    n++;
                }
                if (n > 0) {
                    System.out.printf("%-10s %d timer ticks, jitter min %d ns, max %d ns%n", demo, n, min, max);
                }
                // apic-demo refuses the first request: ask twice, as the walkthrough does
                for (int attempt = 0; attempt < 2; attempt++) {
                    try {
                        hv.destroyCell(ref);
                        break;
                    } catch (io.jailhouse.boundary.HypervisorException e) {
                        Thread.sleep(200);
                    }
                }
            }
        }
    }
}
