package io.jailhouse.bench;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.LoadImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Soak: CYCLES create/load/start/shutdown/destroy cycles of tiny-demo on a
 * daemon started with {@code bin/jailhouse enable}, while another client
 * polls {@code cell list} and {@code cell stats} 20 times a second. Every
 * 100 cycles it prints the supervisor's descriptors, threads and resident
 * memory, the cell processes alive and the reserved memory in use, which
 * must stay flat; at the end nothing may be left.
 *
 * <p>Usage: {@code bench/run soak [CYCLES]} (default 1000), as root.
 */
public final class Soak {
    private Soak() {
    }

    public static void main(String[] args) throws Exception {
        int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Path top = Path.of(System.getProperty("jailhouse.home", ".")).toAbsolutePath();
        DaemonUnderTest d = DaemonUnderTest.onQemuVm(top, "soak");
        CellConfig tiny = ConfigFiles.read(top.resolve("configs/x86/tiny-demo.yaml"), CellConfig.class);
        byte[] config = BinaryConfigCodec.encode(tiny);
        byte[] image = Files.readAllBytes(top.resolve("inmates/demos/x86/tiny-demo.bin"));
        CellRef ref = CellRef.parse(tiny.name());
        DaemonUnderTest.Outcome enabled = d.enable();
        if (enabled.status() != 0) {
            throw new IllegalStateException("enable failed: " + enabled.output());
        }
        long pid = d.pid();
        AtomicBoolean polling = new AtomicBoolean(true);
        AtomicLong polls = new AtomicLong();
        AtomicReference<Throwable> pollFailure = new AtomicReference<>();
        Thread poller = Thread.ofPlatform().name("soak-poller").start(() -> {
            try (ControlClient c = d.client()) {
                while (polling.get()) {
                    c.cells();
                    try {
                        c.statistics(ref);
                    } catch (io.jailhouse.protocol.ControlException e) {
                        // between destroy and the next create there is no such cell
                    }
                    polls.incrementAndGet();
                    Thread.sleep(50);
                }
            } catch (Throwable t) {
                pollFailure.set(t);
            }
        });
        System.out.printf("soak: %d cycles of tiny-demo create/load/start/shutdown/destroy, polling beside them;"
                + " supervisor pid %d%n", cycles, pid);
        System.out.printf("%7s %8s %6s %8s %9s %10s %7s %8s%n", "cycles", "fds", "thr", "rss_MiB", "cell_procs",
                "shm_bytes", "polls", "ms/cycle");
        print(0, pid, polls.get(), 0);
        long t0 = System.nanoTime();
        try (ControlClient c = d.client()) {
            for (int i = 1; i <= cycles; i++) {
                c.createCell(config);
                c.loadCell(ref, List.of(new LoadImage("tiny-demo.bin", image, 0xf0000)));
                c.startCell(ref);
                if (c.cells().cells().stream().noneMatch(s -> s.name().equals(tiny.name())
                        && s.state() == CellState.RUNNING)) {
                    throw new IllegalStateException("cycle " + i + ": tiny-demo is not running");
                }
                c.shutdownCell(ref);
                c.destroyCell(ref);
                if (i % 100 == 0 || i == cycles) {
                    print(i, pid, polls.get(), (System.nanoTime() - t0) / 1e6 / i);
                }
                if (pollFailure.get() != null) {
                    throw new IllegalStateException("the poller failed", pollFailure.get());
                }
            }
        } finally {
            polling.set(false);
            poller.join();
            DaemonUnderTest.Outcome off = d.jailhouse("disable");
            System.out.println("disable: exit " + off.status());
        }
        long deadline = System.nanoTime() + 10_000_000_000L; // the supervisor ends within seconds of disable
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        List<Long> left = DaemonUnderTest.cellProcesses();
        System.out.printf("after disable: cell processes %s, supervisor alive %b, run directory %s, backing files %s%n",
                left, ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
                Files.exists(d.run.socket()) ? "socket left" : "clean", DaemonUnderTest.backingFiles());
    }

    private static void print(int cycle, long pid, long polls, double msPerCycle) throws Exception {
        DaemonUnderTest.Usage u = DaemonUnderTest.Usage.of(pid);
        System.out.printf("%7d %8d %6d %8.1f %9d %10d %7d %8.0f%n", cycle, u.descriptors(), u.threads(),
                u.rssKiB() / 1024.0, DaemonUnderTest.cellProcesses().size(), DaemonUnderTest.backingBytes(), polls,
                msPerCycle);
    }
}
