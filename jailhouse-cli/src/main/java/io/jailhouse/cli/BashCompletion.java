package io.jailhouse.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.AutoComplete;

/**
 * The bash completion script, written at build time: picocli's generator
 * over the whole command tree, and after it a wrapper that completes the
 * cell argument of the cell commands with the names the running daemon
 * lists ({@code jailhouse cell list}), falling back to picocli's completion
 * for everything else.
 */
public final class BashCompletion {
    /** The cell commands whose first argument is a cell. */
    static final String CELL_COMMANDS = "load|start|shutdown|destroy|stats|console";

    private BashCompletion() {
    }

    static String script() {
        String generated = AutoComplete.bash("jailhouse", CommandTree.full(new Main()));
        return generated + """

                # Cell names from the running daemon for the cell commands' cell argument.
                _jailhouse_cells() {
                  local cur=${COMP_WORDS[COMP_CWORD]}
                  if [ "$COMP_CWORD" -eq 3 ] && [ "${COMP_WORDS[1]}" = cell ] \\
                      && [[ "${COMP_WORDS[2]}" =~ ^(%s)$ ]] && [[ "$cur" != -* ]]; then
                    local names
                    names=$(jailhouse cell list 2>/dev/null | awk 'NR > 1 && $1 != 0 { print $2 }')
                    COMPREPLY=( $(compgen -W "$names" -- "$cur") )
                    return 0
                  fi
                  _complete_jailhouse "$@"
                }
                complete -F _jailhouse_cells -o default jailhouse
                """.formatted(CELL_COMMANDS);
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: BashCompletion FILE");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, script(), StandardCharsets.UTF_8);
        System.out.println("  BASH    " + file.getFileName());
    }
}
