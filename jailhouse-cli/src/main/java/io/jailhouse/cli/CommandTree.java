package io.jailhouse.cli;

import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The tree of {@code jailhouse} commands: which group holds which
 * commands, in the order help lists them.
 *
 * <p>Picocli builds a command's model by reflection, and a cold JVM pays
 * several milliseconds for each command class. A process runs one command,
 * so {@link #forArguments} models only the commands on the path the
 * arguments name; every other command is a stand-in holding just its name
 * and description, which is all a parent's help and picocli's "did you
 * mean" need. {@link #full} models everything (tests, documentation).
 */
final class CommandTree {
    /** Each group and its subcommands; a class that is no key here is a leaf. */
    private static final Map<Class<?>, List<Class<?>>> GROUPS = Map.of(
            Main.class, List.of(EnableCommand.class, DisableCommand.class, StatusCommand.class, ConsoleCommand.class,
                    EventsCommand.class, CellCommand.class, ConfigCommand.class, HardwareCommand.class,
                    IvshmemCommand.class),
            CellCommand.class, List.of(CellCreateCommand.class, CellLoadCommand.class, CellStartCommand.class,
                    CellShutdownCommand.class, CellDestroyCommand.class, CellListCommand.class,
                    CellStatsCommand.class, CellConsoleCommand.class, CellLinuxCommand.class),
            ConfigCommand.class, List.of(ConfigCheckCommand.class, ConfigConvertCommand.class,
                    ConfigCreateCommand.class, ConfigMapCommand.class),
            HardwareCommand.class, List.of(HardwareCheckCommand.class),
            IvshmemCommand.class, List.of(IvshmemListCommand.class, IvshmemDumpCommand.class,
                    IvshmemDoorbellCommand.class, IvshmemWatchCommand.class));

    private CommandTree() {
    }

    /** Every command modelled. */
    static CommandLine full(Main main) {
        CommandLine root = new CommandLine(main);
        addAll(root, Main.class);
        return root;
    }

    private static void addAll(CommandLine parent, Class<?> group) {
        for (Class<?> c : GROUPS.get(group)) {
            CommandLine sub = new CommandLine(c);
            parent.addSubcommand(sub);
            if (GROUPS.containsKey(c)) {
                addAll(sub, c);
            }
        }
    }

    /**
     * The commands {@code args} run modelled. At each group the first
     * argument that is not an option picks the subcommand, as picocli's
     * parser will. The picked command's siblings are added as stand-ins only
     * where they can be shown: where no subcommand is picked (the group's
     * help or a wrong name) or where an option precedes the pick (it may be
     * {@code --help}, which prints the group's list).
     */
    static CommandLine forArguments(Main main, String... args) {
        CommandLine root = new CommandLine(main);
        CommandLine group = root;
        Class<?> groupClass = Main.class;
        int next = 0;
        while (groupClass != null) {
            boolean options = false;
            while (next < args.length && args[next].startsWith("-")) {
                options = true; // a group's only options are --help and --version, which take no value
                next++;
            }
            String word = next < args.length ? args[next++] : null;
            Class<?> pickedClass = word == null ? null : GROUPS.get(groupClass).stream()
                    .filter(c -> names(c).contains(word)).findFirst().orElse(null);
            CommandLine picked = null;
            for (Class<?> c : GROUPS.get(groupClass)) {
                if (c == pickedClass) {
                    picked = new CommandLine(c);
                    group.addSubcommand(picked); // in its place: help lists subcommands in the order added
                } else if (pickedClass == null || options) {
                    group.addSubcommand(standIn(c.getAnnotation(Command.class)));
                }
            }
            group = picked;
            groupClass = pickedClass != null && GROUPS.containsKey(pickedClass) ? pickedClass : null;
        }
        return root;
    }

    private static List<String> names(Class<?> command) {
        Command a = command.getAnnotation(Command.class);
        List<String> names = new java.util.ArrayList<>(List.of(a.aliases()));
        names.add(a.name());
        return names;
    }

    /** A command's name and description, for its parent's help, never run. */
    private static CommandLine standIn(Command a) {
        CommandSpec spec = CommandSpec.create().name(a.name()).aliases(a.aliases());
        spec.usageMessage().description(a.description());
        return new CommandLine(spec);
    }
}
