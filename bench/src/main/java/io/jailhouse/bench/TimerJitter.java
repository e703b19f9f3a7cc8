package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.LoadImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * apic-demo's timer jitter (as it measures it itself, per tick) alone, and
 * then, in the same run, while a neighbour cell storms exits (exit-storm:
 * a port write in a loop) and a management client polls the cell list and
 * statistics 50 times a second. Prints median, 99th percentile and maximum
 * of the absolute jitter of each phase.
 *
 * <p>Usage: {@code TimerJitter [SECONDS]} (per phase), run from the project root.
 */
public final class TimerJitter {
    private static final Pattern JITTER = Pattern.compile("jitter: +(-?\\d+) ns");

    private TimerJitter() {
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        Path top = Path.of(System.getProperty("jailhouse.home", "."));
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        CellConfig apic = ConfigFiles.read(top.resolve("configs/x86/apic-demo.yaml"), CellConfig.class);
        CellConfig storm = ConfigFiles.read(top.resolve("configs/x86/tiny-demo.yaml"), CellConfig.class)
                .withName("storm");
        byte[] apicImage = Files.readAllBytes(top.resolve("inmates/demos/x86/apic-demo.bin"));
        byte[] stormImage = Files.readAllBytes(top.resolve("inmates/tests/x86/exit-storm.bin"));
        try (EnabledHypervisor enabled = EnabledHypervisor.enable(system)) {
            Hypervisor hv = enabled.hv();
            CellRef stormRef = CellRef.parse("storm");
            hv.createCell(storm); // first: apic-demo locks the configuration once it runs
            CellRef apicRef = CellRef.parse("apic-demo");
            hv.createCell(apic);
            hv.loadCell(apicRef, List.of(new LoadImage("apic-demo.bin", apicImage, 0xf0000)));
            hv.startCell(apicRef);
            Thread.sleep(2000); // its first ticks include its start

            int from = ticks(hv, apicRef).size();
            Thread.sleep((long) (seconds * 1000));
            List<Long> alone = ticks(hv, apicRef).subList(from, ticks(hv, apicRef).size());

            hv.loadCell(stormRef, List.of(new LoadImage("exit-storm.bin", stormImage, 0xf0000),
                    new LoadImage("string", "report=1000000\0".getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
            hv.startCell(stormRef);
            AtomicBoolean polling = new AtomicBoolean(true);
            AtomicLong polls = new AtomicLong();
            Thread poller = Thread.ofPlatform().start(() -> {
                while (polling.get()) {
                    try {
                        hv.cells();
                        hv.statistics(stormRef);
                        hv.statistics(apicRef);
                        polls.incrementAndGet();
                        Thread.sleep(20);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            long exitsBefore = hv.statistics(stormRef).total().get("vmexits_total");
            from = ticks(hv, apicRef).size();
            Thread.sleep((long) (seconds * 1000));
            List<Long> loaded = ticks(hv, apicRef).subList(from, ticks(hv, apicRef).size());
            long storms = hv.statistics(stormRef).total().get("vmexits_total") - exitsBefore;
            polling.set(false);
            poller.join();

            report("alone", alone);
            report(String.format("neighbour storming %.0f exits/s, %d polls", storms / seconds, polls.get()), loaded);
            // apic-demo runs locked: closing disables without asking (EnabledHypervisor)
        }
    }

    /** Every tick's jitter apic-demo printed so far. */
    private static List<Long> ticks(Hypervisor hv, CellRef cell) throws Exception {
        String out = hv.cellConsole(cell).read(0, 1 << 20).text();
        List<Long> j = new ArrayList<>();
        Matcher m = JITTER.matcher(out);
        while (m.find()) {
            j.add(Math.abs(Long.parseLong(m.group(1))));
        }
        return j;
    }

    private static void report(String phase, List<Long> jitter) {
        if (jitter.isEmpty()) {
            System.out.printf("%-50s no ticks%n", phase);
            return;
        }
        List<Long> s = new ArrayList<>(jitter);
        Collections.sort(s);
        System.out.printf("%-50s %4d ticks, |jitter| median %7d ns, p99 %8d ns, max %8d ns%n", phase, s.size(),
                s.get(s.size() / 2), s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1)),
                s.get(s.size() - 1));
    }
}
