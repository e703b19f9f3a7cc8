package io.jailhouse.cli;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.Console;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.Numbers;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.PioRange;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.config.host.DerivationOptions;
import io.jailhouse.config.host.HostDataException;
import io.jailhouse.config.host.HostInventory;
import io.jailhouse.config.host.HostRoot;
import io.jailhouse.config.host.SystemConfigDerivation;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jailhouse config create [--mem-hv SIZE] [--mem-inmates SIZE] [-r ROOT] [-c CONSOLE] FILE}. */
@Command(name = "create", mixinStandardHelpOptions = true,
        description = "Create the system configuration of this host (or of a collected host tree).")
final class ConfigCreateCommand implements Callable<Integer> {
    @Option(names = "--mem-hv", paramLabel = "SIZE", defaultValue = "6M",
            description = "Hypervisor memory (default ${DEFAULT-VALUE}).")
    String memHv;

    @Option(names = "--mem-inmates", paramLabel = "SIZE", defaultValue = "76M",
            description = "Memory for non-root cells (default ${DEFAULT-VALUE}).")
    String memInmates;

    @Option(names = {"-r", "--root"}, paramLabel = "ROOT", defaultValue = "/",
            description = "Read the host's /proc and /sys under ROOT (default ${DEFAULT-VALUE}).")
    Path root;

    @Option(names = {"-c", "--console"}, paramLabel = "CONSOLE", defaultValue = DerivationOptions.DEFAULT_CONSOLE,
            description = "Debug console tty, or none (default ${DEFAULT-VALUE}).")
    String console;

    @Parameters(index = "0", paramLabel = "FILE", description = "Output file: .cell, .c, .yaml, .yml or .json")
    Path file;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        DerivationOptions options;
        try {
            options = new DerivationOptions(size("--mem-hv", memHv), size("--mem-inmates", memInmates), console);
            if (ConfigFiles.formOf(file) == null) {
                throw new IllegalArgumentException(file + ": unknown configuration format; use .cell, .yaml, .yml, .json or .c");
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!Files.isDirectory(root)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-r " + root + ": not a directory");
        }
        SystemConfigDerivation.Result result;
        try {
            HostInventory host = HostInventory.read(HostRoot.at(root), options.console());
            result = SystemConfigDerivation.derive(host, options);
        } catch (HostDataException e) {
            err.println(e.getMessage());
            return 1;
        }
        try {
            ConfigFiles.write(file, result.config());
        } catch (ConfigFormatException e) {
            err.println(e.getMessage());
            return 1;
        }
        for (String note : result.notes()) {
            err.println("note: " + note);
        }
        summary(result).forEach(out::println);
        out.flush();
        err.flush();
        return 0;
    }

    private static long size(String option, String text) {
        try {
            return Numbers.parseUnsigned(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }

    private List<String> summary(SystemConfigDerivation.Result result) {
        SystemConfig c = result.config();
        CellConfig cell = c.rootCell();
        List<String> lines = new ArrayList<>();
        lines.add(String.format("Created %s (%d bytes): system configuration \"%s\", CPUs %s", file,
                BinaryConfigCodec.encode(c).length, cell.name(), cell.cpus().toRangeList()));
        lines.add(String.format("  hypervisor memory   0x%x, %s", c.hypervisorMemory().physStart(),
                Numbers.size(c.hypervisorMemory().size())));
        lines.add("  debug console       " + describeConsole(c));
        lines.add(String.format("  PM timer            %s", c.x86().pmTimerAddress() == 0 ? "none"
                : String.format("port 0x%x", c.x86().pmTimerAddress())));
        lines.add("  PCI MMCONFIG        " + (c.platform().pciMmconfigBase() == 0 ? "none" : String.format(
                "0x%x, buses 0-%d", c.platform().pciMmconfigBase(), c.platform().pciMmconfigEndBus())));
        lines.add("  memory regions:");
        for (int i = 0; i < cell.memoryRegions().size(); i++) {
            MemoryRegion m = cell.memoryRegions().get(i);
            lines.add(String.format("    0x%012x-0x%012x  %-22s %s", m.physStart(), m.physEnd(),
                    MemoryRegion.FLAG_NAMES.describe(m.flags()), result.regionNames().get(i)));
        }
        lines.add("  I/O ports:          " + String.join(" ", cell.pioRegions().stream().map(PioRange::toString).toList()));
        lines.add("  IOAPICs:            " + String.join(" ", cell.irqchips().stream()
                .map(i -> String.format("0x%x", i.address())).toList()));
        lines.add("  PCI devices:        " + String.join(" ", cell.pciDevices().stream()
                .map(d -> PciDevice.formatBdf(d.bdf()) + (d.type() == PciDevice.TYPE_BRIDGE ? " (bridge)" : ""))
                .toList()) + " (" + cell.pciCaps().size() + " capabilities)");
        return lines;
    }

    private static String describeConsole(SystemConfig c) {
        Console con = c.debugConsole();
        if (con.type() == Console.TYPE_NONE) {
            return "none";
        }
        return (con.flags() & Console.ACCESS_MMIO) != 0
                ? String.format("8250 MMIO 0x%x", con.address()) : String.format("8250 port 0x%x", con.address());
    }
}
