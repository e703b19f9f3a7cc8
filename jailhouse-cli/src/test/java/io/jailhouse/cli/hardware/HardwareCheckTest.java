package io.jailhouse.cli.hardware;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.cli.FakeHost;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.host.DerivationOptions;
import io.jailhouse.config.host.HostInventory;
import io.jailhouse.config.host.HostRoot;
import io.jailhouse.config.host.SystemConfigDerivation;
import io.jailhouse.sys.KvmCapability;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HardwareCheckTest {
    static final Runtime.Version JDK25 = Runtime.Version.parse("25.0.1+8");

    @TempDir
    Path dir;
    FakeHost host;

    @BeforeEach
    void host() {
        host = FakeHost.create(dir.resolve("host"));
    }

    static Map<KvmCapability, Integer> allCapabilities() {
        Map<KvmCapability, Integer> caps = new EnumMap<>(KvmCapability.class);
        for (KvmCapability c : KvmCapability.values()) {
            caps.put(c, 1);
        }
        caps.put(KvmCapability.NR_VCPUS, 2);
        caps.put(KvmCapability.MAX_VCPUS, 1024);
        return caps;
    }

    KvmStatus workingKvm(Map<KvmCapability, Integer> caps) {
        return new KvmStatus(host.path().resolve("dev/kvm"), true, null, false, 12, caps);
    }

    HardwareReport check(KvmStatus kvm, Path sysconfig) {
        return new HardwareCheck(HostRoot.at(host.path()), kvm, JDK25, "/usr/local/bin:/usr/bin").run(sysconfig);
    }

    static String line(HardwareReport r, String feature) {
        return r.render().stream().filter(l -> l.strip().startsWith(feature + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no line for " + feature + " in\n" + String.join("\n", r.render())));
    }

    @Test
    void everythingPresentPasses() {
        HardwareReport r = check(workingKvm(allCapabilities()), null);
        List<String> out = r.render();
        assertThat(out.get(0)).isEqualTo(String.format("%-32s%s", "Feature", "Availability"));
        assertThat(line(r, "Number of CPUs > 1")).isEqualTo(String.format("%-32s%-24s%s", "Number of CPUs > 1", "ok", "2 CPUs"));
        assertThat(line(r, "Long mode")).isEqualTo(String.format("%-32s%s", "Long mode", "ok"));
        assertThat(line(r, "/dev/kvm")).contains("ok").endsWith("API version 12");
        assertThat(line(r, "KVM_CAP_IRQCHIP")).isEqualTo(String.format("%-32s%s", "  KVM_CAP_IRQCHIP", "ok"));
        assertThat(line(r, "KVM_CAP_MAX_VCPUS")).endsWith("1024");
        assertThat(line(r, "VT-x or AMD-V")).contains("no").endsWith("nested KVM without hardware virtualization: "
                + "cell kernel code is emulated, slowly");
        assertThat(line(r, "cgroup cpuset controller")).isEqualTo(String.format("%-32s%-24s%s",
                "cgroup cpuset controller", "ok", "cgroup v2 cpuset at /sys/fs/cgroup: cell CPUs become exclusive "
                        + "cpuset partitions, host tasks are kept off them"));
        assertThat(line(r, "Huge pages")).endsWith("hugetlbfs at /dev/hugepages, 512 pages of 2048 kB"
                + " (enable --memory-dir /dev/hugepages backs cells with them)");
        assertThat(line(r, "JDK >= 22")).endsWith("25.0.1+8");
        assertThat(line(r, "gcc (to build inmates)")).endsWith("/usr/bin/gcc");
        assertThat(out.getLast()).isEqualTo("Check passed!");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void missingKvmFails() {
        HardwareReport r = check(new KvmStatus(host.path().resolve("dev/kvm"), false, null, false, 0, Map.of()), null);
        assertThat(line(r, "/dev/kvm")).contains("MISSING").contains("does not exist");
        assertThat(line(r, "KVM capabilities")).contains("SKIPPED");
        assertThat(line(r, "VT-x or AMD-V")).endsWith("neither vmx nor svm in the CPU flags");
        assertThat(r.render().getLast()).isEqualTo("Check FAILED!");
        assertThat(r.exitCode()).isEqualTo(2);
    }

    @Test
    void noPermissionSkipsEssentialChecks() {
        KvmStatus denied = new KvmStatus(host.path().resolve("dev/kvm"), true,
                "open(/dev/kvm): EACCES (Permission denied)", true, 0, Map.of());
        HardwareReport r = check(denied, null);
        assertThat(line(r, "/dev/kvm")).contains("SKIPPED").endsWith("EACCES (Permission denied); run as root");
        assertThat(r.render().getLast()).isEqualTo("Check incomplete: 2 essential checks were skipped (marked SKIPPED).");
        assertThat(r.exitCode()).isEqualTo(1);
    }

    @Test
    void wrongApiVersionFails() {
        HardwareReport r = check(new KvmStatus(host.path().resolve("dev/kvm"), true, null, false, 11, Map.of()), null);
        assertThat(line(r, "/dev/kvm")).contains("MISSING").endsWith("API version 11, expected 12");
        assertThat(r.exitCode()).isEqualTo(2);
    }

    @Test
    void capabilitiesByNeed() {
        Map<KvmCapability, Integer> caps = allCapabilities();
        caps.put(KvmCapability.XEN_HVM, 0);
        HardwareReport optional = check(workingKvm(caps), null);
        assertThat(line(optional, "KVM_CAP_XEN_HVM")).isEqualTo(String.format("%-32s%-24s%s", "  KVM_CAP_XEN_HVM",
                "missing (optional)", "vmcall intercept (else the hypercall port)"));
        assertThat(optional.exitCode()).isZero();
        caps.put(KvmCapability.IRQFD, 0);
        HardwareReport required = check(workingKvm(caps), null);
        assertThat(line(required, "KVM_CAP_IRQFD")).contains("MISSING");
        assertThat(required.exitCode()).isEqualTo(2);
    }

    @Test
    void smallHostIsRelaxedOnly() {
        // This project's own test machine: cgroup v2 without cpuset, the cpuset controller on a v1 hierarchy.
        host.write("/sys/devices/system/cpu/online", "0\n")
                .write("/sys/fs/cgroup/cgroup.controllers", "memory pids\n")
                .write("/proc/self/mountinfo", """
                        22 1 253:1 / / rw - ext4 /dev/vda rw
                        30 22 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
                        31 22 0:27 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
                        """)
                .write("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
                .write("/sys/fs/cgroup/cpuset/cpuset.cpus", "0\n")
                .write("/sys/fs/cgroup/cpuset/tasks", "1\n");
        HardwareReport r = check(workingKvm(allCapabilities()), null);
        assertThat(line(r, "Number of CPUs > 1")).contains("missing (relaxed only)").endsWith("1 CPU: no CPU to give a cell exclusively");
        assertThat(line(r, "cgroup cpuset controller")).contains("ok")
                .endsWith("cgroup v1 cpuset at /sys/fs/cgroup/cpuset: host tasks are kept off cell CPUs");
        assertThat(line(r, "Huge pages")).contains("missing (optional)").endsWith("no hugetlbfs mounted, HugePages_Total 512: cell memory uses /dev/shm");
        assertThat(r.render()).contains("Note: only relaxed partitioning (cell CPUs sharing host CPUs) is possible here, "
                + "for lack of: Number of CPUs > 1.");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void withoutCpusetsStrictPartitioningOnlyPins() {
        host.delete("/sys/fs/cgroup/cpuset.cpus.isolated")
                .write("/proc/self/mountinfo", """
                        22 1 253:1 / / rw - ext4 /dev/vda rw
                        30 22 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
                        31 22 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
                        """)
                .write("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
        HardwareReport r = check(workingKvm(allCapabilities()), null);
        assertThat(line(r, "cgroup cpuset controller")).isEqualTo(String.format("%-32s%-24s%s",
                "cgroup cpuset controller", "missing (pinning only)", "no cpuset controller (cgroup v2 at "
                        + "/sys/fs/cgroup/unified without cpuset, no v1 cpuset hierarchy): cell CPUs are pinned but "
                        + "shared with host tasks"));
        assertThat(r.render()).contains("Note: strict partitioning pins each cell CPU to its own host CPU but cannot "
                + "keep host tasks off it here, for lack of: cgroup cpuset controller.");
        assertThat(r.render()).noneMatch(l -> l.startsWith("Note: only relaxed"));
        assertThat(r.exitCode()).isZero();
        assertThat(r.render().getLast()).isEqualTo("Check passed!");
    }

    @Test
    void v2CpusetOfAKernelBefore67IsNotUsed() {
        host.delete("/sys/fs/cgroup/cpuset.cpus.isolated");
        HardwareReport r = check(workingKvm(allCapabilities()), null);
        assertThat(line(r, "cgroup cpuset controller")).contains("missing (pinning only)")
                .contains("cgroup v2 cpuset at /sys/fs/cgroup without remote partitions (Linux 6.7)");
    }

    @Test
    void oldJdkAndNoGcc() {
        host.delete("/usr/bin/gcc");
        HardwareReport r = new HardwareCheck(HostRoot.at(host.path()), workingKvm(allCapabilities()),
                Runtime.Version.parse("21.0.2"), "/usr/bin").run(null);
        assertThat(line(r, "JDK >= 22")).contains("MISSING").endsWith("21.0.2: the FFM API is final from 22 on");
        assertThat(line(r, "gcc (to build inmates)")).contains("missing (optional)").endsWith("not on PATH");
        assertThat(r.exitCode()).isEqualTo(2);
    }

    @Test
    void unreadableHostFilesAreSkippedNotPassed() {
        host.delete("/proc/cpuinfo").delete("/proc/self/mountinfo");
        HardwareReport r = check(workingKvm(allCapabilities()), null);
        assertThat(line(r, "Processor features")).contains("SKIPPED").contains("cpuinfo: not found");
        assertThat(line(r, "cgroup cpuset controller")).contains("skipped").contains("mountinfo: not found");
        assertThat(r.exitCode()).isEqualTo(1);
    }

    private Path systemConfig(String cpus) throws Exception {
        FakeHost other = FakeHost.create(dir.resolve("other"));
        StringBuilder info = new StringBuilder();
        for (String n : cpus.split(",")) {
            other.write("/sys/devices/system/cpu/cpu" + n + "/uevent", "");
            info.append("processor : ").append(n).append("\nvendor_id : GenuineIntel\nflags : lm\n\n");
        }
        other.write("/proc/cpuinfo", info.toString());
        var derived = SystemConfigDerivation.derive(HostInventory.read(HostRoot.at(other.path()), "none"),
                new DerivationOptions(6L << 20, 76L << 20, "none"));
        Path file = dir.resolve("sys.cell");
        Files.write(file, BinaryConfigCodec.encode(derived.config()));
        return file;
    }

    @Test
    void configThatFitsTheHost() throws Exception {
        HardwareReport r = check(workingKvm(allCapabilities()), systemConfig("0,1"));
        assertThat(line(r, "Configuration sys.cell")).contains("ok").endsWith("root cell \"RootCell\"");
        assertThat(line(r, "Config CPUs on this host")).contains("ok").endsWith("CPUs 0-1 of 2");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void configWithMoreCpusThanTheHostNeedsRelaxedMode() throws Exception {
        HardwareReport r = check(workingKvm(allCapabilities()), systemConfig("0,1,2,3"));
        assertThat(line(r, "Config CPUs on this host")).contains("missing (relaxed only)")
                .endsWith("the config uses CPUs 0-3, the host has 2: only relaxed partitioning can run it");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void unreadableConfigFails() throws Exception {
        Path bad = dir.resolve("bad.cell");
        Files.write(bad, new byte[] {'J', 'H', 'S', 'Y', 'S', 0, 13, 0, 0, 0});
        HardwareReport r = check(workingKvm(allCapabilities()), bad);
        assertThat(line(r, "Configuration bad.cell")).contains("MISSING").contains(bad + ": byte 6 (revision)");
        assertThat(r.exitCode()).isEqualTo(2);
        HardwareReport missing = check(workingKvm(allCapabilities()), dir.resolve("none.cell"));
        assertThat(line(missing, "Configuration none.cell")).endsWith(dir.resolve("none.cell") + ": cannot read: No such file or directory");
    }
}
