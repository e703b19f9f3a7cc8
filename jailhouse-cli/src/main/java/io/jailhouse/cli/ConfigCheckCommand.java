package io.jailhouse.cli;

import io.jailhouse.protocol.JsonCodec;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigCheck;
import io.jailhouse.config.ConfigFile;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.SystemConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code jailhouse config check SYSCONFIG [CELLCONFIG...]}: exit 0 when the
 * set is clean, 1 with findings, 2 when a file cannot be read. Notes (what
 * upstream accepts but a user may want to know) go to stderr and leave the
 * exit status alone.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check a system configuration and cell configurations for conflicts.",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:no findings", "1:findings", "2:a configuration could not be read"})
final class ConfigCheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SYSCONFIG", description = "system configuration (.cell, .yaml, .json, .c)")
    Path system;

    @Parameters(index = "1..*", paramLabel = "CELLCONFIG", description = "non-root cell configurations")
    List<Path> cells = new ArrayList<>();

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ConfigCheck.Source<SystemConfig> sys;
        List<ConfigCheck.Source<CellConfig>> cellSources = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        try {
            ConfigFile sysFile = ConfigFiles.load(system, SystemConfig.class);
            notes.addAll(sysFile.notes());
            sys = new ConfigCheck.Source<>(system.toString(), (SystemConfig) sysFile.config());
            for (Path p : cells) {
                ConfigFile cellFile = ConfigFiles.load(p, CellConfig.class);
                notes.addAll(cellFile.notes());
                cellSources.add(new ConfigCheck.Source<>(p.toString(), (CellConfig) cellFile.config()));
            }
        } catch (ConfigFormatException e) {
            err.println(e.getMessage());
            return 2;
        }
        ConfigCheck.Report report = ConfigCheck.run(sys, cellSources);
        report.notes().forEach(n -> notes.add(n.check() + ": " + n.render()));
        if (json) {
            out.println(toJson(report, notes));
        } else {
            print(report, out);
        }
        out.flush();
        notes.forEach(n -> err.println("Note: " + n));
        err.flush();
        return report.clean() ? 0 : 1;
    }

    static void print(ConfigCheck.Report report, PrintWriter out) {
        out.println("Reading configuration set:");
        out.println("  Architecture:  " + report.system().config().architecture().label());
        out.println("  Root cell:     " + report.system().config().rootCell().name() + " (" + report.system().file() + ")");
        for (ConfigCheck.Source<CellConfig> c : report.cells()) {
            out.println("  Non-root cell: " + c.config().name() + " (" + c.file() + ")");
        }
        out.println();
        for (Map.Entry<String, List<ConfigCheck.Finding>> e : report.byCheck().entrySet()) {
            if (e.getValue().isEmpty()) {
                out.println(e.getKey() + ": None");
                continue;
            }
            out.println(e.getKey() + ":");
            for (ConfigCheck.Finding f : e.getValue()) {
                out.println("  " + f.render());
            }
        }
        out.println();
        long n = report.findingCount();
        out.println(n == 0 ? "No findings." : String.format(java.util.Locale.ROOT, "%,d", n) + (n == 1 ? " finding." : " findings."));
    }

    static String toJson(ConfigCheck.Report report, List<String> notes) {
        ObjectNode root = JsonCodec.object();
        root.put("architecture", report.system().config().architecture().label());
        ObjectNode rc = root.putObject("root_cell");
        rc.put("name", report.system().config().rootCell().name());
        rc.put("file", report.system().file());
        ArrayNode cells = root.putArray("cells");
        for (ConfigCheck.Source<CellConfig> c : report.cells()) {
            cells.addObject().put("name", c.config().name()).put("file", c.file());
        }
        ArrayNode checks = root.putArray("checks");
        for (Map.Entry<String, List<ConfigCheck.Finding>> e : report.byCheck().entrySet()) {
            ObjectNode ch = checks.addObject();
            ch.put("title", e.getKey());
            ArrayNode fs = ch.putArray("findings");
            for (ConfigCheck.Finding f : e.getValue()) {
                fs.addObject().put("file", f.file()).put("cell", f.cell()).put("where", f.where())
                        .put("message", f.message());
            }
        }
        root.put("findings", report.findingCount());
        ArrayNode noteArray = root.putArray("notes");
        notes.forEach(noteArray::add);
        return JsonCodec.pretty(root);
    }
}
