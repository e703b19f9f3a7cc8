package io.jailhouse.cli;

import io.jailhouse.protocol.CellEvent;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.EventBatch;
import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jailhouse events [--all | --once] [--json]}: the cells' lifecycle
 * events as they happen (created, loaded, started, shut-down, failed with
 * its FATAL line, destroyed, adopted, locked, unlocked), one per line,
 * until the hypervisor is disabled. Events dropped from the daemon's ring
 * before they were read are announced on stderr.
 */
@Command(name = "events", mixinStandardHelpOptions = true,
        description = {"Follow the cells' lifecycle events, one per line.",
            "Each line: time (UTC), event, cell, id and what else there is to say."})
final class EventsCommand extends DaemonCommand {
    static final String OPERATION = "read(events)";
    /** How long each follow request waits in the daemon for an event. */
    static final long WAIT_MILLIS = 1000;

    @Option(names = {"-a", "--all"}, description = "start with the events held since enable (the last "
            + "1024), not with the next one")
    boolean all;

    @Option(names = "--once", description = "print the events held since enable and end")
    boolean once;

    @Option(names = "--json", description = "one JSON object per line: seq, time, event, cell, id, detail")
    boolean json;

    @Override
    int run() throws CommandFailure {
        ControlClient client = connect(OPERATION, Errno.EINVAL);
        try (client) {
            long position;
            try {
                // the events held: printed with --all or --once, else only passed over to the next to come
                position = held(client, all || once);
                if (once) {
                    return 0;
                }
            } catch (ControlException e) {
                throw CommandFailure.of(OPERATION, e.errno(), e.getMessage());
            } catch (IOException e) {
                throw lost(OPERATION, e);
            }
            try {
                while (true) {
                    EventBatch b = client.readEvents(position, ControlProtocol.MAX_EVENTS_READ, WAIT_MILLIS);
                    print(b);
                    position = b.next();
                }
            } catch (ControlException | IOException e) {
                return 0; // disabled (EINVAL) or the connection closed: there are no more events
            }
        }
    }

    /**
     * Reads the events held from the oldest on, printing them if asked;
     * returns the position after the last one published.
     */
    private long held(ControlClient client, boolean print) throws ControlException, IOException {
        long position = -1;
        while (true) {
            EventBatch b = client.readEvents(position, ControlProtocol.MAX_EVENTS_READ, 0);
            if (print) {
                print(b);
            }
            position = b.next();
            if (b.events().size() < ControlProtocol.MAX_EVENTS_READ) {
                return position;
            }
        }
    }

    private void print(EventBatch b) {
        if (b.lost() > 0) {
            out().flush();
            err().println("<lost " + b.lost() + " events>");
            err().flush();
        }
        for (CellEvent e : b.events()) {
            out().println(json ? new String(JsonCodec.write(ControlMessages.event(e)), StandardCharsets.UTF_8) : line(e));
        }
        out().flush();
    }

    /** {@code TIME EVENT CELL (id N): DETAIL}; the cell's name and the detail shown with controls escaped. */
    static String line(CellEvent e) {
        return CellEvent.formatTime(e.timeMillis()) + " " + e.type().text() + " \""
                + ConsoleFollower.escaped(e.cell()) + "\" (id " + e.cellId() + ")"
                + (e.detail().isEmpty() ? "" : ": " + ConsoleFollower.escaped(e.detail().replace('\n', ' ')));
    }
}
