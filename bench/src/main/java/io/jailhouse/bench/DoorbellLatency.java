package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.daemon.DaemonLog;
import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.daemon.ConsoleLog;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.daemon.HypervisorFactory;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.ivshmem.IvshmemEndpoint;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ivshmem doorbell round trips, measured in the guest with the TSC by
 * {@code ivshmem-pingpong} as "ping" (it rings, the other side rings back
 * at once, the guest waits halted for the reply):
 * <ol>
 * <li>cell to cell: ivshmem-demo (peer 1) pings ivshmem-demo-2 (peer 2),
 *     which runs pingpong as "pong": two doorbells delivered in the kernel
 *     plus two interrupts;
 * <li>cell to root: ivshmem-demo-2 pings the root cell's peer 0, a host
 *     thread on {@link IvshmemEndpoint} that rings back when the interrupt
 *     arrives: the cell's doorbell goes to the endpoint's interrupt eventfd
 *     in the kernel, the reply through the endpoint's doorbell eventfd,
 *     an irqfd of the cell;
 * <li>the C floor's PIO exit round trip on the same host in the same run
 *     (pio-loop under bench/floor/kvm-floor).
 * </ol>
 * The daemon runs in this JVM (its socket in a temporary run directory);
 * the endpoint attaches through the socket as any program would.
 *
 * <p>Usage: {@code DoorbellLatency [ROUNDS]}, run from the project root.
 */
public final class DoorbellLatency {
    private static final Pattern RESULT = Pattern.compile(
            "pingpong: (\\d+) rounds, round trip min (\\d+) avg (\\d+) max (\\d+) cycles, (\\d+) ns avg");
    private static final int LINK = 0x0170;
    private static final int PING_VECTOR = 1;

    private DoorbellLatency() {
    }

    /** One pingpong result. */
    record RoundTrip(long rounds, long min, long avg, long max, long nanos) {
        static RoundTrip parse(String console) {
            Matcher m = RESULT.matcher(console);
            if (!m.find()) {
                throw new IllegalStateException("no pingpong result in:\n" + console);
            }
            return new RoundTrip(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                    Long.parseLong(m.group(4)), Long.parseLong(m.group(5)));
        }

        String describe() {
            return String.format("%d rounds: min %d avg %d max %d cycles (%d ns avg)", rounds, min, avg, max, nanos);
        }
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Path top = Path.of(System.getProperty("jailhouse.home", ".")).toAbsolutePath().normalize();
        Path image = top.resolve("inmates/tests/x86/ivshmem-pingpong.bin");
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        Path runDir = Files.createTempDirectory("jailhouse-bench-");
        RoundTrip cells;
        RoundTrip root;
        try (Jailhoused daemon = Jailhoused.start(new RunDirectory(runDir), system, Partitioning.RELAXED,
                HypervisorFactory.KVM, new DaemonLog(new PrintWriter(new StringWriter())))) {
            Hypervisor hv = daemon.hypervisor();
            start(hv, top, "ivshmem-demo-2", image, "role=pong target=1");
            ConsoleLog ping = start(hv, top, "ivshmem-demo", image, "role=ping target=2 rounds=" + rounds);
            cells = RoundTrip.parse(awaitDone(ping));
            hv.destroyCell(CellRef.parse("ivshmem-demo"));
            hv.destroyCell(CellRef.parse("ivshmem-demo-2"));

            try (IvshmemEndpoint endpoint = IvshmemEndpoint.attach(daemon.runDirectory().socket(), LINK)) {
                endpoint.enableInterrupts(true);
                endpoint.setState(1); // ping waits for its target's state
                Thread pong = Thread.ofPlatform().name("root-pong").start(() -> pong(endpoint));
                ConsoleLog cell = start(hv, top, "ivshmem-demo-2", image, "role=ping target=0 rounds=" + rounds);
                root = RoundTrip.parse(awaitDone(cell));
                pong.interrupt();
                endpoint.close(); // ends the pong thread's wait
                pong.join();
            }
            hv.disable(io.jailhouse.daemon.Caller.FORCING);
        } finally {
            try (var files = Files.walk(runDir)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
        long floorPio = new KvmFloor(top).pioExitCycles(top.resolve("inmates/tests/x86/pio-loop.bin"), 20000);
        System.out.println("doorbell round trip cell<->cell: " + cells.describe());
        System.out.println("doorbell round trip cell<->root (IvshmemEndpoint): " + root.describe());
        System.out.printf("C floor PIO exit round trip: %d cycles%n", floorPio);
        System.out.printf("ratios to the floor's PIO exit (avg): cell<->cell %.2f, cell<->root %.2f; "
                + "root/cell round trip %.2f%n", (double) cells.avg / floorPio, (double) root.avg / floorPio,
                (double) root.avg / cells.avg);
    }

    /** The root's pong: every interrupt of the ping vector rings peer 2's ping vector back. */
    private static void pong(IvshmemEndpoint endpoint) {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                int fired = endpoint.awaitInterrupts(Duration.ofSeconds(1));
                if ((fired & 1 << PING_VECTOR) != 0) {
                    endpoint.ring(2, PING_VECTOR);
                }
            }
        } catch (IllegalStateException closed) {
            // the endpoint closed under us: done
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String awaitDone(ConsoleLog console) throws InterruptedException {
        long deadline = System.nanoTime() + 600_000_000_000L;
        String out = console.read(0, 1 << 20).text();
        while (!out.contains("pingpong: done")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no result within 600 s; console:\n" + out);
            }
            Thread.sleep(100);
            out = console.read(0, 1 << 20).text();
        }
        return out;
    }

    private static ConsoleLog start(Hypervisor hv, Path top, String config, Path image, String cmdline)
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
