package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.CellRef;
import io.jailhouse.hypervisor.ConsoleRing;
import io.jailhouse.hypervisor.Hypervisor;
import io.jailhouse.hypervisor.KvmHypervisor;
import io.jailhouse.hypervisor.LoadImage;
import io.jailhouse.hypervisor.Partitioning;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ivshmem doorbell round trip between two cells (ivshmem-demo and
 * ivshmem-demo-2 on the link 01:0e.0): {@code ivshmem-pingpong} rings the
 * other cell, which rings back at once; the guest measures the round trip
 * with the TSC. Against it, in the same run, one PIO exit round trip of the
 * C floor (pio-loop under bench/floor/kvm-floor): a doorbell round trip is
 * two doorbells delivered in the kernel plus two interrupts.
 *
 * <p>Usage: {@code DoorbellLatency [ROUNDS]}, run from the project root.
 */
public final class DoorbellLatency {
    private static final Pattern RESULT = Pattern.compile(
            "pingpong: (\\d+) rounds, round trip min (\\d+) avg (\\d+) max (\\d+) cycles, (\\d+) ns avg");

    private DoorbellLatency() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Path top = Path.of(System.getProperty("jailhouse.home", "."));
        Path image = top.resolve("inmates/tests/x86/ivshmem-pingpong.bin");
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        String out;
        try (Hypervisor hv = KvmHypervisor.enable(system, Partitioning.RELAXED)) {
            start(hv, top, "ivshmem-demo-2", image, "role=pong target=1");
            ConsoleRing ping = start(hv, top, "ivshmem-demo", image, "role=ping target=2 rounds=" + rounds);
            long deadline = System.nanoTime() + 600_000_000_000L;
            out = ping.read(0, ping.capacity()).text();
            while (!out.contains("pingpong: done")) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no result within 600 s; ping's console:\n" + out);
                }
                Thread.sleep(100);
                out = ping.read(0, ping.capacity()).text();
            }
        }
        Matcher m = RESULT.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no pingpong result in:\n" + out);
        }
        long floorPio = new KvmFloor(top).pioExitCycles(top.resolve("inmates/tests/x86/pio-loop.bin"), 20000);
        long avg = Long.parseLong(m.group(3));
        System.out.printf("doorbell round trip cell<->cell over %s rounds: min %s avg %d max %s cycles (%s ns avg)%n",
                m.group(1), m.group(2), avg, m.group(4), m.group(5));
        System.out.printf("C floor PIO exit round trip: %d cycles; doorbell round trip / PIO exit = %.2f%n",
                floorPio, (double) avg / floorPio);
    }

    private static ConsoleRing start(Hypervisor hv, Path top, String config, Path image, String cmdline)
            throws Exception {
        CellConfig cell = ConfigFiles.read(top.resolve("configs/x86/" + config + ".yaml"), CellConfig.class);
        hv.createCell(cell);
        CellRef ref = CellRef.parse(cell.name());
        hv.loadCell(ref, List.of(new LoadImage(image.toString(), Files.readAllBytes(image), 0xf0000),
                new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
        hv.startCell(ref);
        return hv.cellConsole(ref);
    }
}
