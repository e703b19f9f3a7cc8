package io.jailhouse.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The manual pages, written from the picocli model at build time:
 * jailhouse(8) with every top-level command, and one page per command group
 * (jailhouse-cell(8), jailhouse-config(8), ...) with its commands, their
 * synopses, arguments and options as {@code --help} shows them. The
 * sections no model holds (load addresses, files, exit status,
 * environment) are hand-written beside this class, in
 * {@code man/jailhouse.8.sections}.
 */
public final class ManPages {
    static final String SECTION = "8";
    private static final String SOURCE = "Jailhouse for Java " + io.jailhouse.protocol.JailhouseVersion.RELEASE;

    private ManPages() {
    }

    /** Writes every page into {@code directory}; returns their names. */
    static List<String> write(Path directory) throws IOException {
        Files.createDirectories(directory);
        CommandLine root = CommandTree.full(new Main());
        List<String> names = new java.util.ArrayList<>();
        Files.writeString(directory.resolve("jailhouse." + SECTION), page(root, null), StandardCharsets.UTF_8);
        names.add("jailhouse." + SECTION);
        for (Map.Entry<String, CommandLine> group : root.getSubcommands().entrySet()) {
            if (!group.getValue().getSubcommands().isEmpty()) {
                String name = "jailhouse-" + group.getKey() + "." + SECTION;
                Files.writeString(directory.resolve(name), page(group.getValue(), root), StandardCharsets.UTF_8);
                names.add(name);
            }
        }
        return names;
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ManPages DIRECTORY");
            System.exit(2);
        }
        System.out.println("  MAN     " + String.join(" ", write(Path.of(args[0]))));
    }

    static String page(CommandLine command, CommandLine root) {
        CommandSpec spec = command.getCommandSpec();
        boolean top = root == null;
        String title = top ? "jailhouse" : "jailhouse-" + spec.name();
        StringBuilder t = new StringBuilder();
        t.append(".TH ").append(title.toUpperCase(java.util.Locale.ROOT)).append(' ').append(SECTION)
                .append(" \"\" \"").append(SOURCE).append("\" \"System Administration\"\n");
        t.append(".SH NAME\n").append(title).append(" \\- ").append(text(first(spec.usageMessage().description())))
                .append('\n');
        t.append(".SH SYNOPSIS\n");
        for (CommandLine sub : command.getSubcommands().values()) {
            t.append(".B ").append(text(sub.getCommandSpec().qualifiedName())).append("\n.RI \"")
                    .append(text(synopsisArguments(sub.getCommandSpec()))).append("\"\n.br\n");
        }
        t.append(".SH DESCRIPTION\n");
        for (String line : spec.usageMessage().description()) {
            t.append(text(line)).append('\n');
        }
        if (top) {
            t.append(".PP\nThe command groups have pages of their own: ");
            t.append(String.join(", ", command.getSubcommands().entrySet().stream()
                    .filter(e -> !e.getValue().getSubcommands().isEmpty())
                    .map(e -> "\\fBjailhouse\\-" + e.getKey() + "\\fR(" + SECTION + ")").toList()));
            t.append(".\n");
        }
        t.append(".SH COMMANDS\n");
        for (CommandLine sub : command.getSubcommands().values()) {
            command(t, sub.getCommandSpec());
        }
        if (top) {
            t.append(handWritten());
        } else {
            t.append(".SH SEE ALSO\n\\fBjailhouse\\fR(").append(SECTION).append(")\n");
        }
        return t.toString();
    }

    private static void command(StringBuilder t, CommandSpec c) {
        t.append(".SS ").append(text(c.qualifiedName())).append('\n');
        t.append(".B ").append(text(c.qualifiedName())).append("\n.RI \"").append(text(synopsisArguments(c)))
                .append("\"\n.PP\n");
        for (String line : c.usageMessage().description()) {
            t.append(text(line)).append('\n');
        }
        for (PositionalParamSpec p : c.positionalParameters()) {
            if (p.hidden() || p.description().length == 0) {
                continue;
            }
            t.append(".TP\n.I ").append(text(p.paramLabel())).append('\n')
                    .append(text(String.join(" ", p.description()))).append('\n');
        }
        for (OptionSpec o : c.options()) {
            if (o.hidden() || o.usageHelp() || o.versionHelp()) {
                continue;
            }
            t.append(".TP\n.B ").append(text(String.join(", ", o.names())));
            if (o.arity().max() > 0) {
                t.append(" \\fI").append(text(o.paramLabel())).append("\\fR");
            }
            t.append('\n').append(text(String.join(" ", o.description()))).append('\n');
        }
        if (c.subcommands().isEmpty() && c.commandLine().getSubcommands().isEmpty()) {
            return;
        }
    }

    /** The synopsis without the command's own name: what follows it on the command line. */
    static String synopsisArguments(CommandSpec c) {
        String[] custom = c.usageMessage().customSynopsis();
        String synopsis = custom.length > 0 ? String.join(" ", custom).replaceAll("\\s+", " ").trim()
                : c.commandLine().getHelp().synopsis(0).replaceAll("\\s+", " ").trim();
        String name = c.qualifiedName();
        return synopsis.startsWith(name) ? synopsis.substring(name.length()).trim() : synopsis;
    }

    private static String first(String[] lines) {
        return lines.length == 0 ? "" : lines[0].replaceAll("\\.$", "");
    }

    /** Text safe in troff: backslashes escaped, a leading dot or quote made literal, picocli's markup gone. */
    static String text(String s) {
        String plain = s.replaceAll("@\\|\\w+(,\\w+)* ([^|]*)\\|@", "$2").replace("\\", "\\e").replace("-", "\\-")
                .replace("\"", "\\(dq");
        return plain.startsWith(".") || plain.startsWith("'") ? "\\&" + plain : plain;
    }

    private static String handWritten() {
        try (InputStream in = ManPages.class.getResourceAsStream("man/jailhouse.8.sections")) {
            if (in == null) {
                throw new IllegalStateException("man/jailhouse.8.sections is missing from the CLI's resources");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
