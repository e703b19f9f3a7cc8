package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.daemon.RunningDaemon;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.sys.RequiresKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Reads never wait for management and never fail because of it: 200 list,
 * stats and console reads a second while a 32 MiB cell is created, loaded
 * and destroyed 100 times beside a running one. The daemon's descriptors,
 * threads and memory stay flat. Skipped loudly without KVM.
 */
@RequiresKvm
class ManagementUnderLoadKvmTest extends KvmCliTest {
    static final int CYCLES = 100;
    static final long READS_PER_SECOND = 200;
    static final Path TICKER = Path.of("..", "inmates", "tests", "x86", "ticker.bin").toAbsolutePath().normalize();

    /**
     * The daemon's open descriptors, threads and resident memory (KiB), from
     * /proc, and its Java heap in use after a full collection (KiB, from
     * jcmd): resident memory also holds the heap's high-water mark, which
     * is not a leak.
     */
    record Footprint(long fds, long threads, long rssKib, long heapAfterGcKib) {
        static Footprint of(long pid) throws Exception {
            long fds;
            try (var s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                fds = s.count();
            }
            long threads = 0;
            long rss = 0;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Threads:")) {
                    threads = Long.parseLong(line.substring(8).trim());
                } else if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.substring(6).replace("kB", "").trim());
                }
            }
            return new Footprint(fds, threads, rss, heapAfterGc(pid));
        }

        static long heapAfterGc(long pid) throws Exception {
            Path jcmd = Path.of(ProcessHandle.current().info().command().orElseThrow()).resolveSibling("jcmd");
            run(jcmd.toString(), Long.toString(pid), "GC.run");
            String info = run(jcmd.toString(), Long.toString(pid), "GC.heap_info");
            var m = java.util.regex.Pattern.compile("used (\\d+)K").matcher(info);
            assertThat(m.find()).as("heap use in: %s", info).isTrue();
            return Long.parseLong(m.group(1));
        }

        static String run(String... cmd) throws Exception {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return out;
        }
    }

    @Test
    void readsAreAnsweredThroughoutAHundredCreateLoadDestroyCycles() throws Exception {
        ok("enable", cfg("qemu-vm.cell"), "--partitioning", "relaxed");
        long pid = run.readPid().orElseThrow();
        // A running neighbour whose stats and console the reader asks for (a ticker: apic-demo would lock
        // the hypervisor against creating and destroying other cells).
        ok("cell", "create", cfg("apic-demo.cell"));
        ok("cell", "load", "apic-demo", TICKER.toString(), "-a", "0xf0000");
        ok("cell", "start", "apic-demo");
        awaitConsole("apic-demo", "tick 1 at", 1);

        CellConfig tiny = ConfigFiles.read(RunningDaemon.config("tiny-demo.cell"), CellConfig.class);
        CellConfig big = tiny.withMemoryRegions(List.of(new MemoryRegion(0x3c000000L, 0x200000, 32L << 20,
                MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.EXECUTE | MemoryRegion.LOADABLE),
                tiny.memoryRegions().get(1)));
        byte[] bigConfig = BinaryConfigCodec.encode(big);
        byte[] image = new byte[64 << 10];

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            long period = TimeUnit.SECONDS.toNanos(1) / READS_PER_SECOND;
            long next = System.nanoTime();
            try (ControlClient c = ControlClient.connect(run.socket())) {
                while (!stop.get()) {
                    try {
                        switch ((int) (reads.get() % 3)) {
                            case 0 -> c.cells();
                            case 1 -> c.statistics(CellRef.ofName("apic-demo"));
                            default -> c.readCellConsole(CellRef.ofName("apic-demo"), -1, 256, 0);
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                    reads.incrementAndGet();
                    next += period;
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
            } catch (Exception e) {
                failures.add("reader: " + e);
            }
        });

        Footprint before = null;
        long start = System.nanoTime();
        try (ControlClient c = ControlClient.connect(run.socket())) {
            for (int cycle = 0; cycle < CYCLES; cycle++) {
                c.createCell(bigConfig);
                c.loadCell(CellRef.ofName("tiny-demo"), List.of(new LoadImage("image", image, 0x200000)));
                c.destroyCell(CellRef.ofName("tiny-demo"));
                if (cycle == 9) {
                    before = Footprint.of(pid); // after warm-up: classes loaded, code compiled
                }
            }
        } finally {
            stop.set(true);
            reader.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Footprint after = Footprint.of(pid);
        System.out.printf("%d cycles in %.1f s, %d reads (%.0f/s), %d failed; daemon after 10 cycles: %s, after %d: %s%n",
                CYCLES, seconds, reads.get(), reads.get() / seconds, failures.size(), before, CYCLES, after);

        assertThat(failures).as("failed reads").isEmpty();
        assertThat(reads.get() / seconds).as("reads per second").isGreaterThan(READS_PER_SECOND * 0.8);
        assertThat(after.fds()).as("descriptors").isLessThanOrEqualTo(before.fds() + 4);
        assertThat(after.threads()).as("threads").isLessThanOrEqualTo(before.threads() + 4);
        assertThat(after.heapAfterGcKib()).as("Java heap in use after a full GC, KiB")
                .isLessThan(before.heapAfterGcKib() + 16 * 1024);
        // 32 MiB a cycle kept would be gigabytes; what is left is the heap's high-water mark.
        assertThat(after.rssKib()).as("resident KiB").isLessThan(before.rssKib() + 256 * 1024);
        assertThat(ok("cell", "list").out()).contains("apic-demo").doesNotContain("tiny-demo");
        assertThat(ok("console").out()).doesNotContain("FATAL");
    }
}
