package io.jailhouse.bench;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.LoadImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Faults: a lifecycle script of two cells (the ivshmem-demo pair) with
 * 20 points; at each point, once the newest cell's process, once the
 * supervisor and once every process of the hypervisor is killed with
 * SIGKILL. Then the system must converge as an operator would drive it: a
 * dead cell is reported failed and destroyed while the other cell runs on;
 * a dead supervisor is replaced by {@code jailhouse enable} with the same
 * config, which adopts the running cells unchanged; after the death of
 * everything that enable reports every cell failed. After the cells are destroyed and the
 * hypervisor disabled nothing may be left: no process, backing file,
 * socket, pid file or cpuset.
 *
 * <p>Usage: {@code bench/run faults [FIRST_POINT [LAST_POINT]]}, as root.
 */
public final class FaultCampaign {
    private FaultCampaign() {
    }

    /** One cell of the script. */
    private record Demo(String name, byte[] config, byte[] image) {
        CellRef ref() {
            return CellRef.parse(name);
        }
    }

    /** One step of the script, with what it is called at its kill point. */
    private record Step(String what, Action action) {
    }

    @FunctionalInterface
    private interface Action {
        void run(ControlClient c) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Path top = Path.of(System.getProperty("jailhouse.home", ".")).toAbsolutePath();
        int first = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int last = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Demo a = demo(top, "ivshmem-demo", "ivshmem-demo");
        Demo b = demo(top, "ivshmem-demo-2", "ivshmem-demo"); // upstream's pair: one link, both inmates the same
        List<Step> script = script(a, b);
        Map<String, String> results = new TreeMap<>();
        int failures = 0;
        long t0 = System.nanoTime();
        for (int point = first; point <= last; point++) {
            for (String victim : List.of("cell", "supervisor", "everything")) {
                String key = String.format("%02d %-10s after %s", point, victim, script.get(point - 1).what());
                long t = System.nanoTime();
                String outcome;
                try {
                    outcome = runOnce(top, script, point, victim);
                } catch (Exception | AssertionError e) {
                    outcome = "FAILED: " + e;
                    failures++;
                    clearAfterFailure();
                }
                results.put(key, outcome);
                System.out.printf("%-48s %-60s %5.1f s%n", key, outcome, (System.nanoTime() - t) / 1e9);
            }
        }
        System.out.printf("%d runs, %d failed, %.0f s%n", results.size(), failures, (System.nanoTime() - t0) / 1e9);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static Demo demo(Path top, String config, String inmate) throws Exception {
        CellConfig c = ConfigFiles.read(top.resolve("configs/x86/" + config + ".yaml"), CellConfig.class);
        return new Demo(c.name(), BinaryConfigCodec.encode(c),
                Files.readAllBytes(top.resolve("inmates/demos/x86/" + inmate + ".bin")));
    }

    private static List<Step> script(Demo a, Demo b) {
        List<Step> s = new ArrayList<>();
        s.add(new Step("enable", c -> { }));
        s.add(new Step("create A", c -> c.createCell(a.config())));
        s.add(new Step("load A", c -> load(c, a)));
        s.add(new Step("start A", c -> c.startCell(a.ref())));
        s.add(new Step("create B", c -> c.createCell(b.config())));
        s.add(new Step("load B", c -> load(c, b)));
        s.add(new Step("start B", c -> c.startCell(b.ref())));
        s.add(new Step("shutdown A", c -> c.shutdownCell(a.ref())));
        s.add(new Step("reload A", c -> load(c, a)));
        s.add(new Step("restart A", c -> c.startCell(a.ref())));
        s.add(new Step("shutdown B", c -> c.shutdownCell(b.ref())));
        s.add(new Step("destroy B", c -> c.destroyCell(b.ref())));
        s.add(new Step("recreate B", c -> c.createCell(b.config())));
        s.add(new Step("reload B", c -> load(c, b)));
        s.add(new Step("restart B", c -> c.startCell(b.ref())));
        s.add(new Step("destroy A", c -> c.destroyCell(a.ref())));
        s.add(new Step("recreate A", c -> c.createCell(a.config())));
        s.add(new Step("load A'", c -> load(c, a)));
        s.add(new Step("start A'", c -> c.startCell(a.ref())));
        s.add(new Step("list and stats", c -> {
            c.cells();
            c.statistics(a.ref());
            c.readConsole(-1, 4096, 0);
        }));
        return s;
    }

    private static void load(ControlClient c, Demo d) throws Exception {
        c.loadCell(d.ref(), List.of(new LoadImage(d.name() + ".bin", d.image(), 0xf0000)));
    }

    /** Runs the script to {@code point}, kills {@code victim}, converges and checks that nothing is left. */
    private static String runOnce(Path top, List<Step> script, int point, String victim) throws Exception {
        requireNothingLeft("before the run");
        DaemonUnderTest d = DaemonUnderTest.onQemuVm(top, "faults");
        DaemonUnderTest.Outcome on = d.enable();
        if (on.status() != 0) {
            throw new AssertionError("enable: " + on.output());
        }
        try (ControlClient c = d.client()) {
            for (int i = 1; i < point; i++) {
                script.get(i).action().run(c);
            }
        }
        List<CellStatus> before = d.cells().stream().filter(s -> s.id() != 0).toList();
        String outcome;
        if (victim.equals("cell")) {
            if (before.isEmpty()) {
                cleanUp(d);
                return "no cell yet: nothing to kill";
            }
            CellStatus newest = before.get(before.size() - 1);
            kill(newest.pid());
            CellStatus seen = awaitState(d, newest.name(), CellState.FAILED);
            for (CellStatus other : before) {
                if (other != newest) {
                    CellStatus now = find(d, other.name());
                    if (now == null || now.state() != other.state() || now.pid() != other.pid()) {
                        throw new AssertionError("cell " + other.name() + " changed: " + other + " -> " + now);
                    }
                }
            }
            outcome = "cell " + seen.name() + " failed, " + (before.size() - 1) + " other(s) untouched";
        } else if (victim.equals("everything")) {
            long pid = d.pid();
            kill(pid);
            for (CellStatus s : before) {
                kill(s.pid());
            }
            for (long spare : DaemonUnderTest.cellProcesses()) { // SIGKILL, whether it is still there or not
                ProcessHandle.of(spare).ifPresent(ProcessHandle::destroyForcibly);
            }
            awaitGone(pid);
            DaemonUnderTest.Outcome again = d.enable();
            if (again.status() != 0) {
                throw new AssertionError("enable after the death of everything: " + again.output());
            }
            List<CellStatus> after = d.cells().stream().filter(s -> s.id() != 0).toList();
            for (CellStatus s : before) {
                CellStatus now = after.stream().filter(x -> x.name().equals(s.name())).findFirst().orElse(null);
                if (now == null || now.state() != CellState.FAILED) {
                    throw new AssertionError("a cell whose process died is not reported failed: " + s + " -> " + now);
                }
            }
            outcome = "re-enabled, " + before.size() + " cell(s) reported failed";
        } else {
            long pid = d.pid();
            kill(pid);
            awaitGone(pid);
            long te = System.nanoTime();
            DaemonUnderTest.Outcome again = d.enable();
            te = System.nanoTime() - te;
            if (again.status() != 0) {
                throw new AssertionError("enable after the supervisor's death: " + again.output());
            }
            List<CellStatus> after = d.cells().stream().filter(s -> s.id() != 0).toList();
            for (CellStatus s : before) {
                CellStatus now = after.stream().filter(x -> x.name().equals(s.name())).findFirst().orElse(null);
                if (now == null || now.pid() != s.pid() || now.state() != s.state()) {
                    throw new AssertionError("not adopted as it was: " + s + " -> " + now);
                }
            }
            outcome = String.format("adopted %d cell(s) unchanged in %.1f s", before.size(), te / 1e9);
        }
        long tc = System.nanoTime();
        cleanUp(d);
        outcome += String.format(", cleaned up in %.1f s", (System.nanoTime() - tc) / 1e9);
        requireNothingLeft("after converging");
        Files.deleteIfExists(d.run.log());
        return outcome + "; nothing left";
    }

    private static void cleanUp(DaemonUnderTest d) throws Exception {
        try (ControlClient c = d.client()) {
            for (CellStatus s : c.cells().cells()) {
                if (s.id() != 0) {
                    c.destroyCell(CellRef.ofId(s.id()), true);
                }
            }
        }
        DaemonUnderTest.Outcome off = d.jailhouse("disable");
        if (off.status() != 0) {
            throw new AssertionError("disable: " + off.output());
        }
        long deadline = System.nanoTime() + 10_000_000_000L; // processes end within seconds of disable
        while (!(DaemonUnderTest.supervisors().isEmpty() && DaemonUnderTest.cellProcesses().isEmpty())
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        if (Files.exists(d.run.socket()) || Files.exists(d.run.pidFile())) {
            throw new AssertionError("the run directory keeps " + (Files.exists(d.run.socket()) ? "its socket" : "its pid file"));
        }
    }

    /** After a failed run: whatever it left is ended and removed, so that the next run starts clean. */
    private static void clearAfterFailure() {
        DaemonUnderTest.supervisors().forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
        DaemonUnderTest.cellProcesses().forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
        try {
            Thread.sleep(1000);
            for (Path f : DaemonUnderTest.backingFiles()) {
                Files.deleteIfExists(f);
            }
        } catch (Exception e) {
            System.out.println("clearing after a failed run: " + e);
        }
    }

    private static void requireNothingLeft(String when) throws Exception {
        List<String> left = new ArrayList<>();
        DaemonUnderTest.supervisors().forEach(p -> left.add("supervisor " + p));
        DaemonUnderTest.cellProcesses().forEach(p -> left.add("cell process " + p));
        DaemonUnderTest.backingFiles().forEach(f -> left.add("backing file " + f));
        DaemonUnderTest.cpusets().forEach(f -> left.add("cpuset " + f));
        if (!left.isEmpty()) {
            throw new AssertionError(when + ": " + left);
        }
    }

    private static void kill(long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-9", Long.toString(pid)).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new AssertionError("kill -9 " + pid + " failed");
        }
    }

    private static void awaitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("process " + pid + " still alive 10 s after SIGKILL");
            }
            Thread.sleep(20);
        }
    }

    private static CellStatus find(DaemonUnderTest d, String name) throws Exception {
        return d.cells().stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    private static CellStatus awaitState(DaemonUnderTest d, String name, CellState state) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            CellStatus s = find(d, name);
            if (s != null && s.state() == state) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("cell " + name + " is " + s + ", not " + state + ", 30 s after its process died");
            }
            Thread.sleep(50);
        }
    }
}
