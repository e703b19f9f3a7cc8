package io.jailhouse.cli;

import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse console [-f | --follow] [--raw]}: the hypervisor console. Not
 * enabled is EAGAIN, as upstream's non-blocking read of /dev/jailhouse.
 */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = {"Print the hypervisor console.",
            "With -f, keep printing what comes until the hypervisor is disabled."})
final class ConsoleCommand extends DaemonCommand {
    static final String OPERATION = "read(console)";

    @Option(names = {"-f", "--follow"}, description = "keep printing new output")
    boolean follow;

    @Option(names = "--raw", description = "print control characters as they are, even on a terminal")
    boolean raw;

    @Override
    int run() throws CommandFailure {
        ControlClient client = connect(OPERATION, Errno.EAGAIN);
        return print(client, OPERATION, follow, raw, (p, max, wait) -> client.readConsole(p, max, wait), this);
    }

    /**
     * What {@code console} and {@code cell console} share: a failure before
     * anything was printed is an error; once following, the console going
     * away (daemon disabled, cell destroyed) ends the command normally.
     */
    static int print(ControlClient client, String operation, boolean follow, boolean raw,
            ConsoleFollower.Source source, DaemonCommand command) throws CommandFailure {
        ConsoleFollower follower = new ConsoleFollower(source, command.out(), command.err(),
                !raw && command.writesToTerminal());
        try (client) {
            try {
                follower.printHeld();
            } catch (ControlException e) {
                throw CommandFailure.of(operation, e.errno(), e.getMessage());
            } catch (IOException e) {
                throw lost(operation, e);
            }
            if (follow) {
                try {
                    follower.follow();
                } catch (ControlException | IOException e) {
                    // ENOENT (cell destroyed), EINVAL (disabling) or a closed connection: the console is gone.
                }
            }
        }
        return 0;
    }
}
