package io.jailhouse.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A small fake host tree written by the tests: a 2-CPU x86 machine with 1 GiB
 * of RAM, no PCI devices and no ACPI tables, plus the mounts, meminfo and
 * cgroup files the hardware check reads. Tests change single files.
 */
public final class FakeHost {
    private final Path root;

    private FakeHost(Path root) {
        this.root = root;
    }

    public static FakeHost create(Path root) {
        FakeHost h = new FakeHost(root);
        StringBuilder cpuinfo = new StringBuilder();
        for (int i = 0; i < 2; i++) {
            cpuinfo.append("processor\t: ").append(i).append("\nvendor_id\t: AuthenticAMD\n")
                    .append("flags\t\t: fpu tsc msr pae apic lm x2apic tsc_deadline_timer hypervisor\n\n");
            h.write("/sys/devices/system/cpu/cpu" + i + "/uevent", "MODALIAS=cpu:type:x86\n");
        }
        h.write("/proc/cpuinfo", cpuinfo.toString());
        h.write("/sys/devices/system/cpu/online", "0-1\n");
        h.write("/proc/iomem", """
                00000000-00000fff : Reserved
                00001000-0009fbff : System RAM
                000f0000-000fffff : Reserved
                  000f0000-000fffff : System ROM
                00100000-3fffffff : System RAM
                  01000000-01ffffff : Kernel code
                fec00000-fec003ff : IOAPIC 0
                fee00000-fee00fff : Local APIC
                """);
        h.write("/proc/ioports", """
                0000-0cf7 : PCI Bus 0000:00
                  0040-0043 : timer0
                  0060-0060 : keyboard
                  03f8-03ff : serial
                  0608-060b : ACPI PM_TMR
                0cf8-0cff : PCI conf1
                0d00-ffff : PCI Bus 0000:00
                """);
        h.write("/proc/cmdline", "root=/dev/vda console=ttyS0\n");
        h.write("/proc/self/mountinfo", """
                22 1 253:1 / / rw,relatime - ext4 /dev/vda rw
                30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
                31 22 0:27 / /dev/hugepages rw,relatime - hugetlbfs hugetlbfs rw,pagesize=2M
                """);
        h.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
        h.write("/sys/fs/cgroup/cpuset.cpus.isolated", "\n"); // Linux 6.7 on: remote cpuset partitions
        h.write("/proc/meminfo", "MemTotal:        1015808 kB\nHugePages_Total:     512\nHugepagesize:       2048 kB\n");
        h.write("/usr/bin/gcc", "#!/bin/sh\n");
        try {
            Files.setPosixFilePermissions(root.resolve("usr/bin/gcc"), PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return h;
    }

    public Path path() {
        return root;
    }

    public FakeHost write(String hostPath, String text) {
        try {
            Path p = root.resolve(hostPath.substring(1));
            Files.createDirectories(p.getParent());
            Files.writeString(p, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public FakeHost delete(String hostPath) {
        try {
            Files.delete(root.resolve(hostPath.substring(1)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }
}
