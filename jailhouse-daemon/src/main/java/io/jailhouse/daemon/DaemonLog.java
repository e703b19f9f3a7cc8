package io.jailhouse.daemon;

import io.jailhouse.boundary.MessageBudget;
import java.io.PrintWriter;
import java.io.StringWriter;
import io.jailhouse.protocol.CellEvent;

/**
 * The daemon's log: timestamped, levelled records on its output
 * ({@code 2026-12-03T04:30:00.123Z INFO jailhoused: ...}), which is the run
 * directory's {@code jailhoused.log} when {@code jailhouse enable} started it
 * in the background, or the terminal or journal in the foreground. A record
 * of several lines (a trace) continues on lines that start with a tab.
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

    /** How much a record matters to whoever reads the log. */
    public enum Level {
        INFO, WARN, ERROR
    }

    public void info(String message) {
        line(Level.INFO, message);
    }

    /** Something went wrong that the daemon and its cells carry on from (a refused request, a cell failing). */
    public void warn(String message) {
        line(Level.WARN, message);
    }

    /** A cell's lifecycle event: a failure is a warning, the rest information. */
    public void event(CellEvent e) {
        line(e.type() == CellEvent.Type.FAILED ? Level.WARN : Level.INFO, "event " + e.type().text() + " cell \""
                + e.cell() + "\" (id " + e.cellId() + ")" + (e.detail().isEmpty() ? "" : ": " + e.detail()));
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
        line(Level.WARN, dropped == 0 ? message
                : message + " (" + dropped + " more lines of clients left out before it)");
    }

    /** A failure the daemon survives; the trace is for whoever reads the log. */
    public void error(String message, Throwable t) {
        StringWriter trace = new StringWriter();
        t.printStackTrace(new PrintWriter(trace));
        line(Level.ERROR, message + "\n" + trace.toString().stripTrailing());
    }

    private void line(Level level, String message) {
        String stamp = CellEvent.formatTime(System.currentTimeMillis());
        // one record per line: a line break in what a client or a guest sent cannot forge a record
        String text = message.replace("\r", "\\r").replace("\n", "\n\t");
        synchronized (out) {
            out.println(stamp + " " + level + " jailhoused: " + text);
            out.flush();
        }
    }
}
