package io.jailhouse.cli;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigCheck;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.SystemConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jailhouse config map SYSCONFIG [CELLCONFIG...] -o FILE.svg|FILE.html}
 * (not upstream's): a picture of the partitioning the configs describe,
 * with what {@code config check} finds in them marked on it. Exit 0 when
 * the picture was written (findings or not), 2 when a config cannot be
 * read or the file cannot be written.
 */
@Command(name = "map", mixinStandardHelpOptions = true,
        description = {"Draw the partitioning: memory by cell (shared regions hatched), CPUs by owner, ports,",
            "PCI devices, ivshmem links and config check's findings, as SVG or an HTML page."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the picture was written", "2:a configuration could not be read, or the file written"})
final class ConfigMapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SYSCONFIG", description = "system configuration (.cell, .yaml, .json, .c)")
    Path system;

    @Parameters(index = "1..*", paramLabel = "CELLCONFIG", description = "non-root cell configurations")
    List<Path> cells = new ArrayList<>();

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
            description = "where the picture goes: FILE.svg or FILE.html")
    Path output;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        String name = output.getFileName() == null ? "" : output.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean html = name.endsWith(".html") || name.endsWith(".htm");
        if (!html && !name.endsWith(".svg")) {
            err.println("config map: " + output + ": the picture is written as .svg or .html");
            return 2;
        }
        ConfigCheck.Report report;
        try {
            ConfigCheck.Source<SystemConfig> sys = new ConfigCheck.Source<>(system.toString(),
                    ConfigFiles.read(system, SystemConfig.class));
            List<ConfigCheck.Source<CellConfig>> sources = new ArrayList<>();
            for (Path p : cells) {
                sources.add(new ConfigCheck.Source<>(p.toString(), ConfigFiles.read(p, CellConfig.class)));
            }
            report = ConfigCheck.run(sys, sources);
        } catch (ConfigFormatException e) {
            err.println(e.getMessage());
            return 2;
        }
        String picture = html ? PartitionMap.html(report) : PartitionMap.svg(report);
        try {
            Path tmp = output.resolveSibling(output.getFileName() + ".tmp");
            Files.writeString(tmp, picture, StandardCharsets.UTF_8);
            Files.move(tmp, output, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            err.println("config map: cannot write " + output + ": " + CommandFailure.reason(e));
            return 2;
        }
        err.println("Wrote " + output + ": " + cells.size() + " cell" + (cells.size() == 1 ? "" : "s") + ", "
                + report.findingCount() + " finding" + (report.findingCount() == 1 ? "" : "s") + ".");
        return 0;
    }
}
