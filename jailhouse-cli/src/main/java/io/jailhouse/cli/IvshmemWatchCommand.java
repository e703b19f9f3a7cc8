package io.jailhouse.cli;

import io.jailhouse.ivshmem.IvshmemEndpoint;
import java.io.IOException;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jailhouse ivshmem watch BDF}: takes interrupts as the root cell and prints them. */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = "Enable the root cell's interrupts on the link and print them as they come (Ctrl-C ends).")
final class IvshmemWatchCommand extends IvshmemCommand.Attaching {
    @CommandLine.Option(names = "--state", paramLabel = "VALUE",
            description = "write the root's STATE first (decimal or 0x hex)")
    String state;

    @CommandLine.Option(names = "--count", paramLabel = "N",
            description = "end after N interrupts; exit status 1 if they do not come within --timeout")
    Long count;

    @CommandLine.Option(names = "--timeout", paramLabel = "SECONDS",
            description = "end after this many seconds (default: never)")
    Double timeout;

    @Override
    int with(IvshmemEndpoint e) throws IOException {
        if (count != null && count < 1 || timeout != null && !(timeout > 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--count and --timeout must be positive");
        }
        if (state != null) {
            int value = parseState(state);
            e.setState(value); // returns once the state table shows it
        }
        e.enableInterrupts(true);
        out().println(IvshmemCommand.describe(e));
        out().print(IvshmemCommand.stateTable(e));
        out().flush();
        err().println("Waiting for interrupts" + (count != null ? " (" + count + ")" : "") + "...");
        err().flush();
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + (long) (timeout * 1e9);
        int[] states = new int[e.maxPeers()];
        for (int p = 0; p < states.length; p++) {
            states[p] = e.state(p);
        }
        long seen = 0;
        long[] counts = new long[e.interruptCount()];
        while (count == null || seen < count) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                out().flush();
                err().println("Timeout: " + seen + " interrupt(s).");
                return count == null ? 0 : 1;
            }
            int fired = e.awaitInterrupts(Duration.ofNanos(Math.min(left, 1_000_000_000L)));
            for (int v = 0; v < e.interruptCount(); v++) {
                if ((fired & 1 << v) != 0) {
                    long total = e.interrupts(v);
                    seen += total - counts[v]; // doorbells that came together are counted each
                    counts[v] = total;
                    out().printf("interrupt vector %d (#%d)%n", v, total);
                }
            }
            for (int p = 0; fired != 0 && p < states.length; p++) {
                int now = e.state(p);
                if (now != states[p]) {
                    out().printf("  state[%d] = 0x%08x (was 0x%08x)%n", p, now, states[p]);
                    states[p] = now;
                }
            }
            out().flush();
        }
        return 0;
    }

    private int parseState(String text) {
        try {
            return (int) Long.decode(text.trim()).longValue();
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--state " + text + " is not a number");
        }
    }
}
