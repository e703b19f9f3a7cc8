package io.jailhouse.cli;

import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.ControlException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.utils.NonBlockingReader;

/**
 * Live {@code cell stats} on a terminal: the alternate screen without a
 * cursor, a {@link StatsView} frame every second (at once after a key that
 * changes the view), keys read raw, until {@code q}, Ctrl-C or the end of
 * input. The terminal is given back as it was whatever ends the view.
 */
final class LiveStats {
    /** Where each frame's counters come from. */
    @FunctionalInterface
    interface Source {
        CellStatistics read() throws ControlException, IOException;
    }

    private static final long PERIOD_NANOS = 1_000_000_000L;
    /** How long one read of the keyboard waits at most, so that Ctrl-C is noticed soon. */
    private static final long KEY_WAIT_MILLIS = 100;

    private final Terminal terminal;
    private final Source source;
    private final StatsView view;
    private volatile boolean interrupted;

    LiveStats(Terminal terminal, Source source, StatsView view) {
        this.terminal = terminal;
        this.source = source;
        this.view = view;
    }

    /** Shows frames until the user quits; a failed read ends the view and is thrown after the terminal is restored. */
    void run() throws ControlException, IOException {
        Attributes saved = terminal.enterRawMode();
        Terminal.SignalHandler previous = terminal.handle(Terminal.Signal.INT, s -> interrupted = true);
        PrintWriter out = terminal.writer();
        out.print("\033[?1049h\033[?25l"); // the alternate screen, no cursor
        try {
            NonBlockingReader keys = terminal.reader();
            while (!interrupted) {
                List<String> frame = view.frame(source.read(), System.nanoTime(), terminal.getWidth() > 0
                        ? terminal.getWidth() : 80, terminal.getHeight() > 0 ? terminal.getHeight() : 24);
                out.print("\033[H\033[2J" + String.join("\r\n", frame));
                out.flush();
                long deadline = System.nanoTime() + PERIOD_NANOS;
                while (!interrupted && System.nanoTime() < deadline) {
                    int c = keys.read(KEY_WAIT_MILLIS);
                    if (c == NonBlockingReader.READ_EXPIRED) {
                        continue;
                    }
                    if (c < 0 || c == 3 || !view.key(c)) { // end of input, Ctrl-C without signals, q
                        return;
                    }
                    if (c == 'c' || c == 'C' || c == 'a' || c == 'A') {
                        break; // the new view at once
                    }
                }
            }
        } finally {
            out.print("\033[?25h\033[?1049l");
            out.flush();
            terminal.handle(Terminal.Signal.INT, previous);
            terminal.setAttributes(saved);
        }
    }
}
