package io.jailhouse.daemon;

import io.jailhouse.boundary.MessageBudget;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/**
 * The daemon's log: timestamped lines on its output, which is the run
 * directory's {@code jailhoused.log} when {@code jailhouse enable} started it
 * in the background, or the terminal or journal in the foreground.
 * What clients cause (refused requests and connections) has a budget of its
 * own, so that a client flooding the socket cannot flood the log.
 */
public final class DaemonLog {
    private final PrintWriter out;
    /** Guarded by itself. */
    private final MessageBudget clientLines = new MessageBudget(20, 1);

    public DaemonLog(PrintWriter out) {
        this.out = out;
    }

    public void info(String message) {
        line(message);
    }

    /**
     * A line a client caused: 20 at once, then one a second; the next line
     * that goes out says how many were left out.
     */
    public void client(String message) {
        long dropped;
        synchronized (clientLines) {
            if (!clientLines.tryTake(1, System.nanoTime())) {
                return;
            }
            dropped = clientLines.takeDropped();
        }
        line(dropped == 0 ? message : message + " (" + dropped + " more lines of clients left out before it)");
    }

    /** A failure the daemon survives; the trace is for whoever reads the log. */
    public void error(String message, Throwable t) {
        StringWriter trace = new StringWriter();
        t.printStackTrace(new PrintWriter(trace));
        line(message + "\n" + trace.toString().stripTrailing());
    }

    private void line(String message) {
        String stamp = OffsetDateTime.now().truncatedTo(ChronoUnit.MILLIS).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
        synchronized (out) {
            out.println(stamp + " jailhoused: " + message);
            out.flush();
        }
    }
}
