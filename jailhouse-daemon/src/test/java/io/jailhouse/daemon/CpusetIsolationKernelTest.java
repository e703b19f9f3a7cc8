package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jailhouse.daemon.CpusetIsolation.Hierarchy;
import io.jailhouse.daemon.CpusetIsolation.Isolation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opt-in ({@code -Djailhouse.test.cgroupV1=true}, as root on a host with a v1
 * cpuset hierarchy): {@link CpusetIsolation} against the real kernel, but only
 * inside a private cpuset holding nothing but this test's own {@code sleep}
 * processes. A fake host root points "the cpuset hierarchy" at that cpuset,
 * so no other task of the host is ever moved; the finally block kills the
 * children and removes the cpuset whatever happened.
 */
@EnabledIfSystemProperty(named = "jailhouse.test.cgroupV1", matches = "true")
class CpusetIsolationKernelTest {
    static final Path V1 = Path.of("/sys/fs/cgroup/cpuset");

    @TempDir
    Path dir;

    @Test
    void isolatesThisTestsOwnProcessesInAPrivateCpuset() throws Exception {
        assumeTrue(Files.isWritable(V1.resolve("tasks")), "needs root and a v1 cpuset hierarchy at " + V1);
        String onlineList = Files.readString(Path.of("/sys/devices/system/cpu/online")).strip();
        BitSet online = FakeCgroupKernel.parse(onlineList);
        assumeTrue(online.cardinality() >= 2, "needs 2 CPUs");
        int cellCpu = online.length() - 1;
        BitSet hostCpus = (BitSet) online.clone();
        hostCpus.clear(cellCpu);

        Path smoke = V1.resolve("jailhouse-test-" + ProcessHandle.current().pid());
        List<Process> children = new ArrayList<>();
        Files.createDirectory(smoke);
        try {
            Files.writeString(smoke.resolve("cpuset.cpus"), Files.readString(V1.resolve("cpuset.cpus")));
            Files.writeString(smoke.resolve("cpuset.mems"), Files.readString(V1.resolve("cpuset.mems")));
            for (int i = 0; i < 3; i++) {
                Process p = new ProcessBuilder("sleep", "120").start();
                children.add(p);
                Files.writeString(smoke.resolve("tasks"), p.pid() + "\n");
            }
            Files.createDirectories(dir.resolve("proc/self"));
            Files.createDirectories(dir.resolve("sys/devices/system/cpu"));
            Files.writeString(dir.resolve("proc/self/mountinfo"), "34 23 0:31 / /cg rw - cgroup cgroup rw,cpuset\n");
            Files.writeString(dir.resolve("sys/devices/system/cpu/online"), onlineList + "\n");
            Files.createSymbolicLink(dir.resolve("cg"), smoke);

            CpusetIsolation c = CpusetIsolation.detect(dir, CgroupFiles.KERNEL, ProcessHandle.current().pid());
            assertThat(c.hierarchy()).isEqualTo(Hierarchy.V1);
            int vcpu = (int) children.get(2).pid();
            Isolation i = c.isolate("smoke test", Map.of(cellCpu, vcpu));
            assertThat(i.hostTasksMoved()).isEqualTo(3);
            assertThat(i.hostTasksSkipped()).isZero();
            assertThat(i.group()).isEqualTo("/cg/jailhouse/cell-smoke%20test");
            assertThat(allowedCpus(vcpu)).isEqualTo(FakeCgroupKernel.parse(Integer.toString(cellCpu)));
            assertThat(allowedCpus(children.get(0).pid())).isEqualTo(hostCpus);

            c.release("smoke test");
            assertThat(allowedCpus(children.get(0).pid())).isEqualTo(online);
            assertThat(Files.exists(smoke.resolve("jailhouse/cell-smoke%20test"))).isFalse();

            c.isolate("again", Map.of(cellCpu, vcpu));
            c.close();
            assertThat(Files.exists(smoke.resolve("jailhouse"))).isFalse();
            assertThat(Files.readString(smoke.resolve("tasks")).split("\n")).hasSize(3);
            assertThat(allowedCpus(vcpu)).isEqualTo(online);
        } finally {
            for (Process p : children) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            removeCgroups(smoke);
        }
    }

    private static BitSet allowedCpus(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Cpus_allowed_list:")) {
                return FakeCgroupKernel.parse(line.substring(line.indexOf(':') + 1));
            }
        }
        throw new AssertionError("no Cpus_allowed_list for " + pid);
    }

    /** Removes a cgroup and its children, deepest first, retrying while the last tasks are reaped. */
    private static void removeCgroups(Path top) throws IOException, InterruptedException {
        List<Path> dirs;
        try (Stream<Path> s = Files.walk(top)) {
            dirs = s.filter(Files::isDirectory).sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList();
        }
        for (Path d : dirs) {
            for (int attempt = 0;; attempt++) {
                try {
                    Files.delete(d);
                    break;
                } catch (IOException e) {
                    if (attempt >= 100) {
                        throw e;
                    }
                    Thread.sleep(20);
                }
            }
        }
    }
}
