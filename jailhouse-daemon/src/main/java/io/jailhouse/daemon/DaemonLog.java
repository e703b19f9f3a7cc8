package io.jailhouse.daemon;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/**
 * The daemon's log: timestamped lines on its output, which is the run
 * directory's {@code jailhoused.log} when {@code jailhouse enable} started it
 * in the background, or the terminal or journal in the foreground.
 */
public final class DaemonLog {
    private final PrintWriter out;

    public DaemonLog(PrintWriter out) {
        this.out = out;
    }

    public void info(String message) {
        line(message);
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
