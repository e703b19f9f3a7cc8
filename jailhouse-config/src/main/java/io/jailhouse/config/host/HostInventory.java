package io.jailhouse.config.host;

import io.jailhouse.config.Console;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything config creation needs to know about a host, read from its
 * {@code /proc}, {@code /sys} and ACPI tables under a {@link HostRoot}.
 *
 * @param root where the facts were read
 * @param cpus the logical CPU numbers sysfs lists ({@code cpuN}), ascending
 * @param mmconfig the MCFG table's windows; empty if the host has no MCFG
 * @param ioApics the MADT's I/O APICs; empty if the host has no MADT
 * @param console the debug console chosen by name
 * @param notes what was missing or left out while reading, for the user
 */
public record HostInventory(
        HostRoot root,
        List<Integer> cpus,
        CpuInfo cpuInfo,
        ResourceTree iomem,
        ResourceTree ioports,
        KernelCommandLine commandLine,
        List<HostPciDevice> pciDevices,
        List<AcpiTable.McfgAllocation> mmconfig,
        List<AcpiTable.IoApic> ioApics,
        Console console,
        List<String> notes) {

    /** This project's daemon socket: present while the hypervisor is enabled. */
    public static final String CONTROL_SOCKET = "/run/jailhouse/control.sock";
    /** Upstream's driver flag, in case the host runs the original Jailhouse. */
    public static final String UPSTREAM_ENABLED = "/sys/devices/jailhouse/enabled";

    private static final Pattern CPU_DIR = Pattern.compile("cpu(\\d+)");

    public HostInventory {
        cpus = List.copyOf(cpus);
        pciDevices = List.copyOf(pciDevices);
        mmconfig = List.copyOf(mmconfig);
        ioApics = List.copyOf(ioApics);
        notes = List.copyOf(notes);
    }

    /**
     * Reads the host.
     *
     * @param consoleName the tty for the debug console ({@code ttyS0}) or {@code none}
     * @throws HostDataException naming the file and what is wrong with it; also
     *         when the hypervisor is enabled, since cells then hold CPUs and memory
     *         the host would otherwise report as its own
     */
    public static HostInventory read(HostRoot root, String consoleName) throws HostDataException {
        requireDisabled(root);
        List<String> notes = new ArrayList<>();

        CpuInfo cpuInfo = CpuInfo.read(root);
        List<Integer> cpus = readCpus(root);
        if (cpus.size() != cpuInfo.processors()) {
            notes.add(cpus.size() + " CPUs are present but " + cpuInfo.processors()
                    + " are online; the root cell lists all present ones");
        }

        ResourceTree iomem = ResourceTree.read(root, "/proc/iomem");
        ResourceTree ioports = ResourceTree.read(root, "/proc/ioports");
        for (ResourceTree t : List.of(iomem, ioports)) {
            if (!t.showsAddresses()) {
                throw new HostDataException(t.source(),
                        "shows no addresses (Linux hides them from users other than root): run as root, or use -r ROOT");
            }
        }
        KernelCommandLine cmdline = KernelCommandLine.read(root);

        List<HostPciDevice> pci = new ArrayList<>();
        List<String> names = root.list(HostPciDevice.DIR);
        if (names.isEmpty()) {
            notes.add(root.describe(HostPciDevice.DIR) + " lists no devices: the config has no PCI devices");
        }
        for (String name : names) {
            HostPciDevice.read(root, name, notes::add).ifPresent(pci::add);
        }

        List<AcpiTable.McfgAllocation> mcfg = List.of();
        String mcfgPath = AcpiTable.DIR + "MCFG";
        if (root.exists(mcfgPath)) {
            mcfg = AcpiTable.parseMcfg(root.readBytes(mcfgPath), root.describe(mcfgPath));
        } else {
            notes.add("no ACPI MCFG table (" + root.describe(mcfgPath) + "): PCI MMCONFIG base left 0");
        }
        List<AcpiTable.IoApic> ioApics = List.of();
        String madtPath = AcpiTable.DIR + "APIC";
        if (root.exists(madtPath)) {
            ioApics = AcpiTable.parseMadtIoApics(root.readBytes(madtPath), root.describe(madtPath));
        } else {
            notes.add("no ACPI MADT (" + root.describe(madtPath) + "): the config lists no IOAPIC");
        }
        for (String iommuTable : List.of("DMAR", "IVRS")) {
            if (root.exists(AcpiTable.DIR + iommuTable)) {
                notes.add("ACPI " + iommuTable + " (IOMMU) is not converted: cells reach devices through KVM here, "
                        + "so the config lists no IOMMU units");
            }
        }
        Console console = SerialConsole.read(root, consoleName);
        return new HostInventory(root, cpus, cpuInfo, iomem, ioports, cmdline, pci, mcfg, ioApics,
                console, notes);
    }

    private static void requireDisabled(HostRoot root) throws HostDataException {
        if (root.exists(CONTROL_SOCKET)) {
            throw new HostDataException(root.describe(CONTROL_SOCKET),
                    "exists, so the hypervisor is enabled; run 'jailhouse disable' first, since cells hold CPUs "
                            + "and memory the host would otherwise report as its own");
        }
        if (root.exists(UPSTREAM_ENABLED) && root.readValue(UPSTREAM_ENABLED).equals("1")) {
            throw new HostDataException(root.describe(UPSTREAM_ENABLED),
                    "is 1: the Jailhouse kernel driver is enabled; disable it first");
        }
    }

    private static List<Integer> readCpus(HostRoot root) throws HostDataException {
        String dir = "/sys/devices/system/cpu";
        List<Integer> cpus = new ArrayList<>();
        for (String name : root.list(dir)) {
            Matcher m = CPU_DIR.matcher(name);
            if (m.matches()) {
                try {
                    cpus.add(Integer.parseInt(m.group(1)));
                } catch (NumberFormatException e) {
                    throw new HostDataException(root.describe(dir + "/" + name), "CPU number out of range");
                }
            }
        }
        if (cpus.isEmpty()) {
            throw new HostDataException(root.describe(dir), "lists no cpuN entries");
        }
        cpus.sort(null);
        int highest = cpus.getLast();
        if (highest >= 4096 * 8) {
            throw new HostDataException(root.describe(dir + "/cpu" + highest), "CPU number exceeds the config's 32768-CPU limit");
        }
        return cpus;
    }
}
