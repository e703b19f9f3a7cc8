package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A process models only the commands its arguments name; what it prints for
 * help, versions and wrong arguments must not differ from the whole tree's.
 */
class CommandTreeTest {
    /** Every path through the tree, from the full model. */
    private static List<List<String>> paths() {
        List<List<String>> out = new ArrayList<>();
        collect(Main.commandLine(), new ArrayList<>(), out);
        return out;
    }

    private static void collect(CommandLine c, List<String> path, List<List<String>> out) {
        out.add(List.copyOf(path));
        for (var e : c.getSubcommands().entrySet()) {
            path.add(e.getKey());
            collect(e.getValue(), path, out);
            path.removeLast();
        }
    }

    @Test
    void helpAndErrorsAreTheSameAsTheWholeTreesAtEveryPath() {
        List<List<String>> paths = paths();
        assertThat(paths).hasSize(28); // the root, 4 groups and 23 commands
        for (List<String> path : paths) {
            // A leaf is only asked for help or given a wrong option: other arguments would do real work.
            List<List<String>> tails = isLeaf(path)
                    ? List.of(List.of("--help"), List.of("-h"), List.of("--no-such-option"))
                    : List.of(List.of("--help"), List.of("-h"), List.of("--version"), List.of(),
                            List.of("no-such-command"), List.of("--no-such-option"));
            if (isLeaf(path) && !path.isEmpty()) {
                // help asked for at a group above the leaf: that group's list is printed
                for (int at = 0; at < path.size(); at++) {
                    List<String> args = new ArrayList<>(path);
                    args.add(at, "--help");
                    String[] a = args.toArray(String[]::new);
                    assertThat(CliRun.of(new Main(), a)).as(String.join(" ", args)).isEqualTo(CliRun.ofFullTree(a));
                }
            }
            for (List<String> tail : tails) {
                List<String> args = new ArrayList<>(path);
                args.addAll(tail);
                String[] a = args.toArray(String[]::new);
                CliRun lean = CliRun.of(new Main(), a);
                CliRun full = CliRun.ofFullTree(a);
                assertThat(lean).as(String.join(" ", args)).isEqualTo(full);
            }
        }
    }

    private static boolean isLeaf(List<String> path) {
        CommandLine c = Main.commandLine();
        for (String p : path) {
            c = c.getSubcommands().get(p);
        }
        return c.getSubcommands().isEmpty();
    }

    @Test
    void onlyTheCommandsOnThePathAreModelled() {
        CommandLine root = Main.commandLineFor(new Main(), "cell", "list", "--json");
        assertThat(root.getSubcommands().keySet()).containsExactly("cell");
        CommandLine cell = root.getSubcommands().get("cell");
        assertThat(cell.getCommandSpec().userObject()).isInstanceOf(CellCommand.class);
        assertThat(cell.getSubcommands().keySet()).containsExactly("list");
        assertThat(cell.getSubcommands().get("list").getCommandSpec().userObject()).isInstanceOf(CellListCommand.class);
    }

    @Test
    void whereTheListCanBeShownTheOthersAreStandIns() {
        CommandLine root = Main.commandLineFor(new Main(), "cell", "--help");
        CommandLine cell = root.getSubcommands().get("cell");
        assertThat(root.getSubcommands().keySet()).containsExactly("cell");
        // a stand-in is a name and a description: no user object, no options of its own
        CommandLine create = cell.getSubcommands().get("create");
        assertThat(create.getCommandSpec().userObject()).isNull();
        assertThat(create.getCommandSpec().usageMessage().description())
                .containsExactly(CellCreateCommand.class.getAnnotation(CommandLine.Command.class).description());
        assertThat(cell.getSubcommands().keySet())
                .containsExactlyElementsOf(Main.commandLine().getSubcommands().get("cell").getSubcommands().keySet());
        CommandLine top = Main.commandLineFor(new Main(), "no-such-command");
        assertThat(top.getSubcommands().keySet())
                .containsExactlyElementsOf(Main.commandLine().getSubcommands().keySet());
    }

    @Test
    void optionsBeforeTheCommandDoNotHideIt() {
        CommandLine root = Main.commandLineFor(new Main(), "-h", "cell", "--help", "stats", "x");
        assertThat(root.getSubcommands().get("cell").getSubcommands().get("stats").getCommandSpec().userObject())
                .isInstanceOf(CellStatsCommand.class);
        // -h may print the root's list, --help the cell group's: both are complete
        assertThat(root.getSubcommands()).hasSize(9);
        assertThat(root.getSubcommands().get("cell").getSubcommands()).hasSize(9);
    }
}
