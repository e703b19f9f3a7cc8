package io.jailhouse.cli;

import picocli.CommandLine.Option;

/**
 * {@code --force} of {@code cell shutdown}, {@code cell destroy} and
 * {@code disable} (not upstream's): the cell's approval is not asked, the
 * operator's way out of a cell that never answers. The cell is stopped
 * whatever it is doing.
 */
final class ForceOption {
    @Option(names = "--force", description = {"do not ask the cell for its approval (not upstream's): for a cell",
        "that never answers; it is stopped whatever it is doing"})
    boolean force;
}
