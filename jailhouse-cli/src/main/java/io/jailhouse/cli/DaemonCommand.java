package io.jailhouse.cli;

import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.DaemonUnavailableException;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that talks to the daemon: failures end it with upstream's
 * one-line message and exit 1; a wrong argument found late prints the usage.
 */
abstract class DaemonCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** What one exchange with the daemon does. */
    @FunctionalInterface
    interface Exchange<T> {
        T with(ControlClient client) throws ControlException, IOException;
    }

    /** The command's work; returns the exit status. */
    abstract int run() throws CommandFailure;

    @Override
    public final Integer call() {
        try {
            return run();
        } catch (CommandFailure f) {
            out().flush();
            err().println(f.getMessage());
            return 1;
        } catch (CommandLine.ParameterException e) {
            err().println(e.getMessage());
            spec.commandLine().usage(err());
            return 1;
        } finally {
            out().flush();
            err().flush();
        }
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Whether {@link #out} is a terminal, where guest bytes are shown escaped. */
    boolean writesToTerminal() {
        return Main.of(spec).writesToTerminal();
    }

    RunDirectory runDirectory() {
        return Main.of(spec).runDirectory();
    }

    /** A connection to the daemon; "not enabled" is left to the caller, as commands differ there. */
    ControlClient connect() throws DaemonUnavailableException, CommandFailure {
        try {
            return ControlClient.connect(runDirectory().socket());
        } catch (IOException e) {
            throw CommandFailure.opening(runDirectory().socket(), e);
        }
    }

    /**
     * A connection for {@code operation}, a hypervisor not enabled being
     * {@code notEnabled} (EINVAL for the ioctls, EAGAIN for the console's
     * read, as upstream's driver answers).
     */
    ControlClient connect(String operation, Errno notEnabled) throws CommandFailure {
        try {
            return connect();
        } catch (DaemonUnavailableException e) {
            throw CommandFailure.of(operation, notEnabled, e.getMessage());
        }
    }

    /**
     * One exchange with the daemon on behalf of upstream's ioctl
     * {@code operation}; not enabled is EINVAL, as the driver returns for
     * every ioctl but ENABLE then.
     */
    <T> T request(String operation, Exchange<T> exchange) throws CommandFailure {
        return exchange(connect(operation, Errno.EINVAL), operation, exchange);
    }

    /**
     * As {@link #request}, for a command to which a hypervisor not enabled
     * is an answer, not a failure ({@code cell list}, {@code status}): empty then.
     */
    <T> Optional<T> requestIfEnabled(String operation, Exchange<T> exchange) throws CommandFailure {
        ControlClient client;
        try {
            client = connect();
        } catch (DaemonUnavailableException e) {
            return Optional.empty();
        }
        return Optional.of(exchange(client, operation, exchange));
    }

    private <T> T exchange(ControlClient client, String operation, Exchange<T> exchange) throws CommandFailure {
        try (client) {
            // What a request waits for (a cell's answer) is told on stderr; Ctrl-C withdraws the request.
            client.onProgress(line -> {
                err().println(line);
                err().flush();
            });
            return exchange.with(client);
        } catch (ControlException e) {
            throw CommandFailure.of(operation, e.errno(), e.getMessage());
        } catch (IOException e) {
            throw lost(operation, e);
        }
    }

    static CommandFailure lost(String operation, IOException e) {
        return CommandFailure.of(operation, Errno.EIO, "connection to the daemon lost: " + e.getMessage());
    }
}
