package io.jailhouse.cli.hardware;

import io.jailhouse.config.host.Mount;

import io.jailhouse.config.Architecture;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.Bitmap;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.JailhouseConfig;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.config.host.CpuInfo;
import io.jailhouse.config.host.HostDataException;
import io.jailhouse.config.host.HostRoot;
import io.jailhouse.daemon.CpusetIsolation;
import io.jailhouse.sys.KvmCapability;
import io.jailhouse.sys.KvmDevice;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * {@code jailhouse hardware check}: whether this host can run the hypervisor
 * (KVM and the capabilities the VMM uses, the CPU, partitioning support, the
 * tools), and optionally whether it can run a given system config.
 *
 * <p>All host facts come from a {@link HostRoot}, the KVM answers from a
 * {@link KvmStatus}, so tests run it on fake trees.
 */
public final class HardwareCheck {
    /** The JDK feature release from which the FFM API is final. */
    public static final int MINIMUM_JDK = 22;

    /** A capability the VMM uses, how much it depends on it, and what for. */
    record CapabilityUse(KvmCapability capability, Need need, String purpose) {
    }

    static final List<CapabilityUse> CAPABILITIES = List.of(
            new CapabilityUse(KvmCapability.IRQCHIP, Need.REQUIRED, "in-kernel local APIC and IOAPIC"),
            new CapabilityUse(KvmCapability.USER_MEMORY, Need.REQUIRED, "mapping cell memory"),
            new CapabilityUse(KvmCapability.SET_TSS_ADDR, Need.REQUIRED, "real-mode start of cell CPUs"),
            new CapabilityUse(KvmCapability.EXT_CPUID, Need.REQUIRED, "cell CPUID (x2APIC, TSC deadline)"),
            new CapabilityUse(KvmCapability.MP_STATE, Need.REQUIRED, "starting every cell CPU at reset"),
            new CapabilityUse(KvmCapability.IRQ_ROUTING, Need.REQUIRED, "MSI routes for ivshmem"),
            new CapabilityUse(KvmCapability.IRQFD, Need.REQUIRED, "ivshmem interrupts in the kernel"),
            new CapabilityUse(KvmCapability.IOEVENTFD, Need.REQUIRED, "ivshmem doorbells in the kernel"),
            new CapabilityUse(KvmCapability.SIGNAL_MSI, Need.REQUIRED, "injecting MSIs"),
            new CapabilityUse(KvmCapability.IMMEDIATE_EXIT, Need.REQUIRED, "stopping cell CPUs"),
            new CapabilityUse(KvmCapability.NR_VCPUS, Need.REQUIRED, "recommended CPUs per VM"),
            new CapabilityUse(KvmCapability.MAX_VCPUS, Need.REQUIRED, "CPUs per VM"),
            new CapabilityUse(KvmCapability.SYNC_REGS, Need.OPTIONAL, "registers without extra ioctls per exit"),
            new CapabilityUse(KvmCapability.READONLY_MEM, Need.OPTIONAL, "read-only regions mapped, not trapped"),
            new CapabilityUse(KvmCapability.XCRS, Need.OPTIONAL, "completing xgetbv on nested KVM"),
            new CapabilityUse(KvmCapability.VCPU_EVENTS, Need.OPTIONAL, "clean CPU reset and failure reports"),
            new CapabilityUse(KvmCapability.SET_IDENTITY_MAP_ADDR, Need.OPTIONAL, "real mode on Intel without unrestricted guest"),
            new CapabilityUse(KvmCapability.TSC_CONTROL, Need.OPTIONAL, "setting a cell's TSC frequency"),
            new CapabilityUse(KvmCapability.GET_TSC_KHZ, Need.OPTIONAL, "reading the TSC frequency"),
            new CapabilityUse(KvmCapability.ADJUST_CLOCK, Need.OPTIONAL, "clock of cells running Linux"),
            new CapabilityUse(KvmCapability.PIT2, Need.OPTIONAL, "an i8254 for cells that need one"),
            new CapabilityUse(KvmCapability.X86_USER_SPACE_MSR, Need.OPTIONAL, "reporting forbidden MSR accesses"),
            new CapabilityUse(KvmCapability.X86_MSR_FILTER, Need.OPTIONAL, "reporting forbidden MSR accesses"),
            new CapabilityUse(KvmCapability.XEN_HVM, Need.OPTIONAL, "vmcall intercept (else the hypercall port)"));

    static final String CPUSET = "cgroup cpuset controller";

    private final HostRoot root;
    private final KvmStatus kvm;
    private final Runtime.Version jdk;
    private final String searchPath;

    /**
     * @param searchPath the PATH to look for gcc in (directories are taken under {@code root})
     */
    public HardwareCheck(HostRoot root, KvmStatus kvm, Runtime.Version jdk, String searchPath) {
        this.root = root;
        this.kvm = kvm;
        this.jdk = jdk;
        this.searchPath = searchPath == null ? "" : searchPath;
    }

    /** Checks the host, and the system config at {@code sysconfig} if not null. */
    public HardwareReport run(Path sysconfig) {
        List<List<Finding>> groups = new ArrayList<>();
        int[] hostCpus = {0};
        groups.add(cpu(hostCpus));
        groups.add(kvm());
        groups.add(system());
        if (sysconfig != null) {
            groups.add(config(sysconfig, hostCpus[0]));
        }
        return new HardwareReport(groups);
    }

    private List<Finding> cpu(int[] hostCpus) {
        List<Finding> out = new ArrayList<>();
        CpuInfo info;
        try {
            info = CpuInfo.read(root);
        } catch (HostDataException e) {
            out.add(Finding.unknown("Processor features", Need.REQUIRED, e.getMessage()));
            return out;
        }
        int cpus;
        try {
            cpus = HostFacts.onlineCpus(root);
        } catch (HostDataException e) {
            cpus = info.processors(); // older kernels or trimmed trees: count cpuinfo's entries
        }
        hostCpus[0] = cpus;
        String count = cpus + (cpus == 1 ? " CPU" : " CPUs");
        out.add(cpus > 1 ? Finding.present("Number of CPUs > 1", Need.STRICT, count)
                : Finding.absent("Number of CPUs > 1", Need.STRICT, count + ": no CPU to give a cell exclusively"));
        out.add(flag(info, "lm", "Long mode", Need.REQUIRED));
        out.add(flag(info, "x2apic", "x2APIC", Need.OPTIONAL));
        out.add(flag(info, "tsc_deadline_timer", "TSC deadline timer", Need.OPTIONAL));
        if (info.has("vmx") || info.has("svm")) {
            out.add(Finding.present("VT-x or AMD-V", Need.INFORMATIONAL, info.has("vmx") ? "VMX" : "SVM"));
        } else if (kvm.usable()) {
            out.add(Finding.absent("VT-x or AMD-V", Need.INFORMATIONAL,
                    "nested KVM without hardware virtualization: cell kernel code is emulated, slowly"));
        } else {
            out.add(Finding.absent("VT-x or AMD-V", Need.INFORMATIONAL, "neither vmx nor svm in the CPU flags"));
        }
        return out;
    }

    private static Finding flag(CpuInfo info, String flag, String feature, Need need) {
        return info.has(flag) ? Finding.present(feature, need, "")
                : Finding.absent(feature, need, "no '" + flag + "' in the CPU flags");
    }

    private List<Finding> kvm() {
        List<Finding> out = new ArrayList<>();
        String name = KvmDevice.DEFAULT_PATH.toString();
        if (!kvm.present()) {
            out.add(Finding.absent(name, Need.REQUIRED, kvm.device() + " does not exist (KVM module not loaded?)"));
        } else if (kvm.openError() != null) {
            out.add(kvm.accessDenied()
                    ? Finding.unknown(name, Need.REQUIRED, kvm.openError() + "; run as root")
                    : Finding.absent(name, Need.REQUIRED, kvm.openError()));
        } else if (kvm.apiVersion() != KvmDevice.API_VERSION) {
            out.add(Finding.absent(name, Need.REQUIRED,
                    "API version " + kvm.apiVersion() + ", expected " + KvmDevice.API_VERSION));
        } else {
            out.add(Finding.present(name, Need.REQUIRED, "API version " + kvm.apiVersion()));
        }
        if (!kvm.usable()) {
            out.add(Finding.unknown("KVM capabilities", Need.REQUIRED, "need a working " + name).indent());
            return out;
        }
        Map<KvmCapability, Integer> caps = kvm.capabilities();
        for (CapabilityUse use : CAPABILITIES) {
            int value = caps.getOrDefault(use.capability(), 0);
            String feature = use.capability().kernelName();
            Finding f;
            if (value > 0) {
                boolean counts = use.capability() == KvmCapability.NR_VCPUS || use.capability() == KvmCapability.MAX_VCPUS;
                f = Finding.present(feature, use.need(), counts ? Integer.toString(value) : "");
            } else {
                f = Finding.absent(feature, use.need(), use.purpose());
            }
            out.add(f.indent());
        }
        return out;
    }

    private List<Finding> system() {
        List<Finding> out = new ArrayList<>();
        List<Mount> mounts = null;
        String mountError = null;
        try {
            mounts = HostFacts.mounts(root);
        } catch (HostDataException e) {
            mountError = e.getMessage();
        }
        out.add(mounts == null ? Finding.unknown(CPUSET, Need.ISOLATION, mountError) : cpuset());
        out.add(mounts == null ? Finding.unknown("Huge pages", Need.OPTIONAL, mountError) : hugePages(mounts));
        out.add(jdk.feature() >= MINIMUM_JDK ? Finding.present("JDK >= " + MINIMUM_JDK, Need.REQUIRED, jdk.toString())
                : Finding.absent("JDK >= " + MINIMUM_JDK, Need.REQUIRED, jdk + ": the FFM API is final from 22 on"));
        out.add(gcc());
        return out;
    }

    /**
     * Strict partitioning keeps host tasks off cell CPUs with cgroup cpusets:
     * reported by the same detection the hypervisor uses, so this row says what
     * it will do.
     */
    private Finding cpuset() {
        CpusetIsolation cpusets = CpusetIsolation.detect(root.path());
        return cpusets.available() ? Finding.present(CPUSET, Need.ISOLATION, cpusets.describe())
                : Finding.absent(CPUSET, Need.ISOLATION, cpusets.describe());
    }

    /** Cell memory is on /dev/shm unless enable --memory-dir names a hugetlbfs mount with huge pages. */
    private Finding hugePages(List<Mount> mounts) {
        String feature = "Huge pages";
        List<String> hugetlbfs = mounts.stream().filter(m -> m.type().equals("hugetlbfs"))
                .map(Mount::mountPoint).toList();
        OptionalLong total;
        OptionalLong size;
        try {
            total = HostFacts.meminfo(root, "HugePages_Total");
            size = HostFacts.meminfo(root, "Hugepagesize");
        } catch (HostDataException e) {
            return Finding.unknown(feature, Need.OPTIONAL, e.getMessage());
        }
        long pages = total.orElse(0);
        String pool = pages + " pages" + (size.isPresent() ? " of " + size.getAsLong() + " kB" : "");
        if (!hugetlbfs.isEmpty() && pages > 0) {
            return Finding.present(feature, Need.OPTIONAL, "hugetlbfs at " + hugetlbfs.getFirst() + ", " + pool
                    + " (enable --memory-dir " + hugetlbfs.getFirst() + " backs cells with them)");
        }
        String why = hugetlbfs.isEmpty() ? "no hugetlbfs mounted" : "hugetlbfs at " + hugetlbfs.getFirst();
        return Finding.absent(feature, Need.OPTIONAL, why + ", HugePages_Total " + pages
                + ": cell memory uses /dev/shm");
    }

    private Finding gcc() {
        for (String dir : searchPath.split(File.pathSeparator)) {
            if (dir.isEmpty() || !dir.startsWith("/")) {
                continue;
            }
            Path p = root.resolve(dir.endsWith("/") ? dir + "gcc" : dir + "/gcc");
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Finding.present("gcc (to build inmates)", Need.OPTIONAL, dir + (dir.endsWith("/") ? "" : "/") + "gcc");
            }
        }
        return Finding.absent("gcc (to build inmates)", Need.OPTIONAL, "not on PATH");
    }

    private List<Finding> config(Path file, int hostCpus) {
        List<Finding> out = new ArrayList<>();
        String readable = "Configuration " + file.getFileName();
        SystemConfig sys;
        try {
            JailhouseConfig c = ConfigFiles.read(file);
            if (!(c instanceof SystemConfig s)) {
                out.add(Finding.absent(readable, Need.REQUIRED, file + ": a cell config, not a system config"));
                return out;
            }
            if (s.architecture() != Architecture.X86) {
                out.add(Finding.absent(readable, Need.REQUIRED, file + ": architecture " + s.architecture().label()
                        + "; this hypervisor runs x86 configs"));
                return out;
            }
            sys = s;
        } catch (ConfigFormatException e) {
            out.add(Finding.absent(readable, Need.REQUIRED, e.getMessage()));
            return out;
        }
        out.add(Finding.present(readable, Need.REQUIRED, "root cell \"" + sys.rootCell().name() + "\""));
        Bitmap cpus = sys.rootCell().cpus();
        String feature = "Config CPUs on this host";
        if (hostCpus == 0) {
            out.add(Finding.unknown(feature, Need.STRICT, "the host's CPU count is unknown"));
        } else if (cpus.count() > hostCpus || cpus.highest() >= hostCpus) {
            out.add(Finding.absent(feature, Need.STRICT, String.format(
                    "the config uses CPUs %s, the host has %d: only relaxed partitioning can run it",
                    cpus.toRangeList(), hostCpus)));
        } else {
            out.add(Finding.present(feature, Need.STRICT, "CPUs " + cpus.toRangeList() + " of " + hostCpus));
        }
        return out;
    }
}
