package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.daemon.CpusetIsolation.Hierarchy;
import io.jailhouse.daemon.CpusetIsolation.Isolation;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link CpusetIsolation} on fake cgroup trees: never on the host's own cgroups. */
class CpusetIsolationTest {
    /** The daemon's process and its threads; 504-506 stand for vCPU threads. */
    static final int DAEMON = 500;
    static final int[] DAEMON_THREADS = {500, 501, 502, 503, 504, 505, 506};
    static final String V1_TOP = "/sys/fs/cgroup/cpuset";

    @TempDir
    Path dir;

    /** A 4-CPU v1 host: kthreadd and two per-CPU kernel threads, init, a two-thread process, the daemon. */
    FakeCgroupKernel v1Host() {
        return FakeCgroupKernel.v1(dir, "0-3").kernelThread(2).kernelThread(10).kernelThread(11)
                .process("", 1).process("", 100, 101).process("", DAEMON_THREADS);
    }

    /** A 4-CPU systemd-style v2 host; the daemon runs in its service's cgroup. */
    FakeCgroupKernel v2Host() {
        return FakeCgroupKernel.v2(dir, "0-3").kernelThread(2)
                .group("init.scope", "").group("system.slice", "").group("system.slice/sshd.service", "")
                .group("system.slice/jailhoused.service", "")
                .process("init.scope", 1).process("system.slice/sshd.service", 100, 101)
                .process("system.slice/jailhoused.service", DAEMON_THREADS)
                .selfCgroup("/system.slice/jailhoused.service");
    }

    CpusetIsolation detect(FakeCgroupKernel k) {
        return CpusetIsolation.detect(dir, k, DAEMON);
    }

    String read(FakeCgroupKernel k, String relative) throws IOException {
        return Files.readString(k.top.resolve(relative)).strip();
    }

    static BitSet cpus(int... cpus) {
        BitSet b = new BitSet();
        for (int c : cpus) {
            b.set(c);
        }
        return b;
    }

    static Map<Integer, Integer> threads(int... cpuThenTid) {
        Map<Integer, Integer> m = new TreeMap<>();
        for (int i = 0; i < cpuThenTid.length; i += 2) {
            m.put(cpuThenTid[i], cpuThenTid[i + 1]);
        }
        return m;
    }

    // ---- detect

    @Test
    void detectsThisMachinesV1CpusetNextToAV2WithoutIt() {
        CpusetIsolation c = detect(FakeCgroupKernel.v1(dir, "0-1"));
        assertThat(c.available()).isTrue();
        assertThat(c.hierarchy()).isEqualTo(Hierarchy.V1);
        assertThat(c.mountPoint()).isEqualTo(V1_TOP);
        assertThat(c.describe()).isEqualTo("cgroup v1 cpuset at /sys/fs/cgroup/cpuset: host tasks are kept off cell CPUs");
    }

    @Test
    void prefersV2WithCpusetAndPartitions() {
        FakeCgroupKernel k = FakeCgroupKernel.v2(dir, "0-3");
        // A v1 cpuset hierarchy cannot coexist with v2's cpuset; its mount line must not win anyway.
        k.hostFile("/proc/self/mountinfo", read("/proc/self/mountinfo")
                + "34 22 0:31 / /mnt/cpuset rw,relatime - cgroup cgroup rw,cpuset\n");
        CpusetIsolation c = detect(k);
        assertThat(c.hierarchy()).isEqualTo(Hierarchy.V2);
        assertThat(c.describe()).isEqualTo("cgroup v2 cpuset at /sys/fs/cgroup: cell CPUs become exclusive cpuset "
                + "partitions, host tasks are kept off them");
    }

    @Test
    void noCpusetAnywhereIsNoneWithTheReason() {
        FakeCgroupKernel.v1(dir, "0-1").hostFile("/proc/self/mountinfo", """
                22 1 253:1 / / rw,relatime - ext4 /dev/vda rw
                41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
                """);
        CpusetIsolation c = CpusetIsolation.detect(dir);
        assertThat(c.available()).isFalse();
        assertThat(c.hierarchy()).isEqualTo(Hierarchy.NONE);
        assertThat(c.describe()).isEqualTo("no cpuset controller (cgroup v2 at /sys/fs/cgroup/unified without cpuset, "
                + "no v1 cpuset hierarchy): cell CPUs are pinned but shared with host tasks");
    }

    @Test
    void v2CpusetWithoutRemotePartitionsIsNotUsed() throws IOException {
        FakeCgroupKernel.v2(dir, "0-3");
        Files.delete(dir.resolve("sys/fs/cgroup/cpuset.cpus.isolated"));
        CpusetIsolation c = CpusetIsolation.detect(dir);
        assertThat(c.available()).isFalse();
        assertThat(c.describe()).startsWith("no cpuset controller (cgroup v2 cpuset at /sys/fs/cgroup without remote "
                + "partitions (Linux 6.7), no v1 cpuset hierarchy)");
    }

    @Test
    void unreadableMountsAreNone() {
        CpusetIsolation c = CpusetIsolation.detect(dir);
        assertThat(c.available()).isFalse();
        assertThat(c.describe()).startsWith("no cpuset controller (cannot read " + dir.resolve("proc/self/mountinfo")
                + ": ENOENT (No such file or directory))");
    }

    @Test
    void withoutCpusetsIsolateChangesNothingAndSaysSo() throws Exception {
        FakeCgroupKernel k = FakeCgroupKernel.v1(dir, "0-1");
        k.hostFile("/proc/self/mountinfo", "22 1 253:1 / / rw,relatime - ext4 /dev/vda rw\n");
        CpusetIsolation c = detect(k);
        Isolation i = c.isolate("demo", threads(1, 504));
        assertThat(i.isolated()).isFalse();
        assertThat(i.summary()).isEqualTo("Cell \"demo\": CPUs 1 pinned, not isolated: no cpuset controller "
                + "(no cgroup v2, no v1 cpuset hierarchy)");
        c.release("demo");
        c.close();
        assertThat(k.writes).isZero();
    }

    // ---- cgroup v1

    @Test
    void v1IsolatesTwoCellsReleasesOneAndCloseRestoresTheHost() throws Exception {
        FakeCgroupKernel k = v1Host();
        CpusetIsolation c = detect(k);

        Isolation a = c.isolate("a", threads(1, 504));
        assertThat(a.summary()).isEqualTo("Cell \"a\": host tasks kept off CPUs 1 (cpuset " + V1_TOP
                + "/jailhouse/cell-a); 10 host tasks moved, 3 left in place (kernel threads bound to a CPU)");
        assertThat(k.tidsIn("")).containsExactly(2, 10, 11);
        assertThat(k.tidsIn("jailhouse/root")).containsExactly(1, 100, 101, 500, 501, 502, 503, 505, 506);
        assertThat(k.groupOf(504)).isEqualTo("jailhouse/cell-a/cpu1");
        assertThat(read(k, "jailhouse/cpuset.cpus")).isEqualTo("0-3");
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0,2-3");
        assertThat(read(k, "jailhouse/cell-a/cpuset.cpus")).isEqualTo("1");
        assertThat(read(k, "jailhouse/cell-a/cpu1/cpuset.cpus")).isEqualTo("1");
        assertThat(read(k, "jailhouse/cell-a/cpu1/cpuset.mems")).isEqualTo("0");

        Isolation b = c.isolate("b", threads(2, 505, 3, 506));
        assertThat(b.hostTasksMoved()).isZero();
        assertThat(b.hostTasksSkipped()).isEqualTo(3);
        assertThat(b.cpus()).isEqualTo(cpus(2, 3));
        assertThat(b.group()).isEqualTo(V1_TOP + "/jailhouse/cell-b");
        assertThat(k.groupOf(505)).isEqualTo("jailhouse/cell-b/cpu2");
        assertThat(k.groupOf(506)).isEqualTo("jailhouse/cell-b/cpu3");
        assertThat(read(k, "jailhouse/cell-b/cpuset.cpus")).isEqualTo("2-3");
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0");
        assertThat(c.isolatedCpus()).isEqualTo(cpus(1, 2, 3));
        assertThat(c.isolatedCells()).containsExactly("a", "b");
        // One group per vCPU keeps each on its own CPU even where the kernel resets affinities to the cpuset's.
        assertThat(k.affinity(504)).isEqualTo(cpus(1));
        assertThat(k.affinity(505)).isEqualTo(cpus(2));
        assertThat(k.affinity(506)).isEqualTo(cpus(3));
        assertThat(k.affinity(100)).isEqualTo(cpus(0));
        assertThat(k.affinity(501)).isEqualTo(cpus(0));
        assertThat(k.affinity(10)).isEqualTo(cpus(0, 1, 2, 3));

        k.exit(504); // cell a destroyed: its vCPU thread ended
        c.release("a");
        assertThat(k.exists("jailhouse/cell-a")).isFalse();
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0-1");
        assertThat(k.affinity(100)).isEqualTo(cpus(0, 1));
        assertThat(k.groupOf(505)).isEqualTo("jailhouse/cell-b/cpu2");
        assertThat(c.isolatedCpus()).isEqualTo(cpus(2, 3));

        c.close(); // b's threads still run: they go back with everyone else
        assertThat(k.groupDirs()).isEmpty();
        assertThat(k.tidsIn("")).containsExactly(1, 2, 10, 11, 100, 101, 500, 501, 502, 503, 505, 506);
        assertThat(c.isolatedCpus().isEmpty()).isTrue();
        c.close(); // twice is harmless
    }

    @Test
    void v1TasksForkedDuringTheMoveAreMovedToo() throws Exception {
        FakeCgroupKernel k = v1Host().forkWhenMoved(100, 150).forkWhenMoved(1, 151);
        Isolation a = detect(k).isolate("a", threads(1, 504));
        assertThat(a.hostTasksMoved()).isEqualTo(12);
        assertThat(k.tidsIn("")).containsExactly(2, 10, 11);
        assertThat(k.groupOf(150)).isEqualTo("jailhouse/root");
        assertThat(k.groupOf(151)).isEqualTo("jailhouse/root");
    }

    @Test
    void v1ReleaseMovesThreadsStillThereBackToRoot() throws Exception {
        FakeCgroupKernel k = v1Host();
        CpusetIsolation c = detect(k);
        c.isolate("a", threads(1, 504, 2, 505));
        c.release("a");
        assertThat(k.groupOf(504)).isEqualTo("jailhouse/root");
        assertThat(k.groupOf(505)).isEqualTo("jailhouse/root");
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0-3");
        c.release("a"); // not isolated (any more): nothing to do
        c.release("never");
        c.close();
        assertThat(k.groupDirs()).isEmpty();
    }

    @Test
    void v1FailingVcpuMoveUndoesTheSecondCellOnly() throws Exception {
        FakeCgroupKernel k = v1Host();
        CpusetIsolation c = detect(k);
        c.isolate("a", threads(1, 504));
        k.failWrites("jailhouse/cell-b/cpu3/tasks", Errno.EACCES);
        Path file = k.top.resolve("jailhouse/cell-b/cpu3/tasks");
        assertThatThrownBy(() -> c.isolate("b", threads(2, 505, 3, 506)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EACCES))
                .hasMessage("cannot move vCPU thread 506 (CPU 3 of cell \"b\") into " + file
                        + ": EACCES (Permission denied)");
        assertThat(k.exists("jailhouse/cell-b")).isFalse();
        assertThat(k.groupOf(505)).isEqualTo("jailhouse/root");
        assertThat(k.groupOf(504)).isEqualTo("jailhouse/cell-a/cpu1");
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0,2-3");
        assertThat(c.isolatedCells()).containsExactly("a");

        k.clearFailures();
        c.isolate("b", threads(2, 505, 3, 506));
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0");
    }

    @Test
    void v1FailingFirstCellRestoresTheHostCompletely() throws Exception {
        FakeCgroupKernel k = v1Host();
        k.failWrites("jailhouse/root/cpuset.cpus", Errno.ENOMEM);
        CpusetIsolation c = detect(k);
        // Creating root fails after jailhouse was made.
        assertThatThrownBy(() -> c.isolate("a", threads(1, 504))).isInstanceOf(HypervisorException.class)
                .hasMessage("cannot write \"0-3\" to " + k.top.resolve("jailhouse/root/cpuset.cpus")
                        + ": ENOMEM (Cannot allocate memory)");
        assertThat(k.groupDirs()).isEmpty();
        k.clearFailures();

        // Now a step after the host tasks were moved fails: they go back too.
        k.failWrites("jailhouse/cell-a/cpu1/cpuset.cpus", Errno.EBUSY);
        assertThatThrownBy(() -> c.isolate("a", threads(1, 504))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY)).hasMessageContaining("cpu1/cpuset.cpus");
        assertThat(k.groupDirs()).isEmpty();
        assertThat(k.tidsIn("")).hasSize(13);
        assertThat(c.isolatedCpus().isEmpty()).isTrue();
        c.close();
        assertThat(k.groupDirs()).isEmpty();
    }

    @Test
    void v1RefusesCpusItCannotGive() throws Exception {
        FakeCgroupKernel k = v1Host();
        CpusetIsolation c = detect(k);
        c.isolate("a", threads(1, 504, 2, 505));
        assertThatThrownBy(() -> c.isolate("b", threads(2, 506))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
                .hasMessage("CPUs 2 of cell \"b\" are isolated for cell \"a\"");
        assertThatThrownBy(() -> c.isolate("b", threads(7, 506))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
                .hasMessage("CPUs 7 of cell \"b\" are not online (online: 0-3)");
        assertThatThrownBy(() -> c.isolate("b", threads(0, 506, 3, 503))).isInstanceOfSatisfying(
                HypervisorException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
                .hasMessage("isolating CPUs 0,3 for cell \"b\" would leave the host no CPU");
        assertThatThrownBy(() -> c.isolate("a", threads(3, 506))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        assertThatThrownBy(() -> c.isolate("b", threads(3, 505, 0, 505))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.isolate("b", Map.of())).isInstanceOf(IllegalArgumentException.class);
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0,3");
        c.close();
    }

    @Test
    void v1CleansUpGroupsAnEarlierDaemonLeft() throws Exception {
        FakeCgroupKernel k = v1Host().group("jailhouse", "0-3").group("jailhouse/root", "0,2-3")
                .group("jailhouse/cell-old", "1").process("jailhouse/root", 700);
        Isolation a = detect(k).isolate("a", threads(1, 504));
        assertThat(a.notes()).containsExactly("removed the " + V1_TOP + "/jailhouse cpusets an earlier daemon left");
        assertThat(k.exists("jailhouse/cell-old")).isFalse();
        assertThat(k.groupOf(700)).isEqualTo("jailhouse/root");
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0,2-3");
    }

    /** kill -9 of a strict supervisor, then a relaxed one: the host gets its CPUs back at enable. */
    @Test
    void claimingAtEnableRemovesTheCpusetsOfASupervisorThatIsGone() throws Exception {
        FakeCgroupKernel k = v1Host().group("jailhouse", "0-3").group("jailhouse/root", "0,2-3")
                .group("jailhouse/cell-old", "1").group("jailhouse/cell-old/cpu1", "1")
                .process("jailhouse/root", 700, 701).process("jailhouse/cell-old/cpu1", 800);
        CpusetIsolation relaxed = detect(k);
        assertThat(relaxed.claim()).containsExactly("removed the " + V1_TOP + "/jailhouse cpusets a supervisor that"
                + " is gone left; their tasks are the host's again");
        assertThat(k.exists("jailhouse")).isFalse();
        assertThat(k.groupOf(700)).isEqualTo("");
        assertThat(k.groupOf(800)).isEqualTo("");
        relaxed.close();
        assertThat(detect(k).claim()).as("nothing left the second time").isEmpty();
    }

    @Test
    void theCpusetsOfARunningSupervisorAreLeftAloneAndNoneAreMadeBeside() throws Exception {
        FakeCgroupKernel k = v1Host();
        CpusetIsolation owner = detect(k);
        assertThat(owner.claim()).isEmpty();
        owner.isolate("a", threads(1, 504));

        CpusetIsolation other = detect(k);
        assertThat(other.claim()).containsExactly("another running supervisor owns the " + V1_TOP
                + "/jailhouse cpusets (it holds " + CpusetIsolation.OWNER_LOCK + "): left as they are");
        assertThat(k.exists("jailhouse/cell-a")).isTrue();
        assertThat(k.groupOf(504)).isEqualTo("jailhouse/cell-a/cpu1");
        assertThatThrownBy(() -> other.isolate("b", threads(2, 505))).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("another running supervisor").extracting(e -> ((HypervisorException) e).errno())
                .isEqualTo(Errno.EBUSY);
        other.close();
        assertThat(k.exists("jailhouse/cell-a")).as("closing the other touches nothing").isTrue();

        owner.close();
        assertThat(k.exists("jailhouse")).isFalse();
        CpusetIsolation next = detect(k);
        assertThat(next.claim()).as("the owner let go: the next one owns them").isEmpty();
        next.isolate("b", threads(2, 505));
        next.close();
    }

    @Test
    void v1NotesCpusetsOfOthersThatStillShareTheCellsCpus() throws Exception {
        FakeCgroupKernel k = v1Host().group("docker", "0-3").group("docker/c1", "2-3").group("pinned", "0")
                .process("docker/c1", 300, 301).process("pinned", 400);
        Isolation a = detect(k).isolate("a", threads(2, 504));
        assertThat(a.notes()).containsExactly("2 tasks in cpuset " + V1_TOP + "/docker/c1 may still run on CPUs 2");
        assertThat(a.summary()).endsWith("; 2 tasks in cpuset " + V1_TOP + "/docker/c1 may still run on CPUs 2");
        assertThat(k.groupOf(300)).isEqualTo("docker/c1");
    }

    @Test
    void cellNamesBecomeSafeGroupNames() {
        assertThat(CpusetIsolation.groupName("apic-demo")).isEqualTo("cell-apic-demo");
        assertThat(CpusetIsolation.groupName("a b/../c")).isEqualTo("cell-a%20b%2F..%2Fc");
        assertThat(CpusetIsolation.rangeList(cpus(0, 2, 3, 4, 7))).isEqualTo("0,2-4,7");
    }

    // ---- cgroup v2

    @Test
    void v2PartitionsTwoCellsReleasesOneAndCloseRestoresTheHost() throws Exception {
        FakeCgroupKernel k = v2Host();
        CpusetIsolation c = detect(k);
        assertThat(c.hierarchy()).isEqualTo(Hierarchy.V2);

        Isolation a = c.isolate("a", threads(1, 504));
        assertThat(a.summary()).isEqualTo("Cell \"a\": host tasks kept off CPUs 1 (cpuset /sys/fs/cgroup/jailhouse/cell-a)");
        assertThat(read(k, "cgroup.subtree_control")).isEqualTo("cpuset");
        assertThat(read(k, "jailhouse/cgroup.type")).isEqualTo("domain threaded");
        assertThat(read(k, "jailhouse/root/cgroup.type")).isEqualTo("threaded");
        assertThat(read(k, "jailhouse/cpuset.cpus.exclusive")).isEqualTo("1");
        assertThat(read(k, "jailhouse/cell-a/cpuset.cpus.partition")).isEqualTo("root");
        assertThat(k.groupOf(500)).isEqualTo("jailhouse/root");
        assertThat(k.groupOf(504)).isEqualTo("jailhouse/cell-a/cpu1");
        assertThat(k.effectiveCpus("jailhouse/cell-a/cpu1")).isEqualTo(cpus(1));
        // Nobody else's cgroup was touched, yet none may use CPU 1 any more.
        assertThat(k.groupOf(100)).isEqualTo("system.slice/sshd.service");
        assertThat(k.effectiveCpus("system.slice/sshd.service")).isEqualTo(cpus(0, 2, 3));
        assertThat(k.effectiveCpus("jailhouse/root")).isEqualTo(cpus(0, 2, 3));

        c.isolate("b", threads(2, 505, 3, 506));
        assertThat(read(k, "jailhouse/cpuset.cpus.exclusive")).isEqualTo("1-3");
        assertThat(read(k, "jailhouse/cell-b/cpuset.cpus.partition")).isEqualTo("root");
        assertThat(read(k, "jailhouse/cell-a/cpuset.cpus.partition")).isEqualTo("root");
        assertThat(k.effectiveCpus("init.scope")).isEqualTo(cpus(0));
        assertThat(k.groupOf(506)).isEqualTo("jailhouse/cell-b/cpu3");

        k.exit(504);
        c.release("a");
        assertThat(k.exists("jailhouse/cell-a")).isFalse();
        assertThat(read(k, "jailhouse/cpuset.cpus.exclusive")).isEqualTo("2-3");
        assertThat(read(k, "jailhouse/root/cpuset.cpus")).isEqualTo("0-1");
        assertThat(read(k, "jailhouse/cell-b/cpuset.cpus.partition")).isEqualTo("root");
        assertThat(k.effectiveCpus("system.slice/sshd.service")).isEqualTo(cpus(0, 1));

        c.close();
        assertThat(k.exists("jailhouse")).isFalse();
        assertThat(k.tidsIn("system.slice/jailhoused.service")).containsExactly(500, 501, 502, 503, 505, 506);
        assertThat(read(k, "cgroup.subtree_control")).isEmpty();
        assertThat(k.effectiveCpus("system.slice/sshd.service")).isEqualTo(cpus(0, 1, 2, 3));
    }

    @Test
    void v2LeavesTheTopsControllersAsFoundIfCpusetWasOn() throws Exception {
        FakeCgroupKernel k = v2Host().topCpusetEnabled();
        CpusetIsolation c = detect(k);
        c.isolate("a", threads(1, 504));
        c.close();
        assertThat(read(k, "cgroup.subtree_control")).isEqualTo("cpuset");
        assertThat(k.groupOf(500)).isEqualTo("system.slice/jailhoused.service");
    }

    @Test
    void v2PartitionTheKernelRefusesRollsBack() throws Exception {
        FakeCgroupKernel k = v2Host().refusePartitions("partition config conflicts with housekeeping setup");
        CpusetIsolation c = detect(k);
        Path partition = k.top.resolve("jailhouse/cell-a/cpuset.cpus.partition");
        assertThatThrownBy(() -> c.isolate("a", threads(1, 504, 2, 505)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
                .hasMessage("the kernel did not make CPUs 1-2 a cpuset partition for cell \"a\": " + partition
                        + " reads \"root invalid (partition config conflicts with housekeeping setup)\"");
        assertThat(k.exists("jailhouse")).isFalse();
        assertThat(k.tidsIn("system.slice/jailhoused.service")).containsExactly(500, 501, 502, 503, 504, 505, 506);
        assertThat(read(k, "cgroup.subtree_control")).isEmpty();
    }

    @Test
    void v2DaemonThatCannotMoveFailsCleanly() {
        FakeCgroupKernel k = v2Host().failWrites("jailhouse/root/cgroup.procs", Errno.EOPNOTSUPP);
        CpusetIsolation c = detect(k);
        assertThatThrownBy(() -> c.isolate("a", threads(1, 504))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP))
                .hasMessage("cannot move the daemon (process 500) into " + k.top.resolve("jailhouse/root/cgroup.procs")
                        + ": EOPNOTSUPP (Operation not supported)");
        assertThat(k.exists("jailhouse")).isFalse();
        assertThat(k.groupOf(500)).isEqualTo("system.slice/jailhoused.service");
    }

    private String read(String hostPath) {
        try {
            return Files.readString(dir.resolve(hostPath.substring(1)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
