package io.jailhouse.cli;

import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.ControlProtocol;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import io.jailhouse.protocol.ConsoleChunk;

/**
 * Prints a console log (the hypervisor's or a cell's) as upstream's
 * {@code jailhouse console}: first everything still held, then with
 * {@code -f} whatever comes, announcing bytes overwritten before they were
 * read as {@code <missed N bytes of console log>} on stderr (stdout carries
 * the log alone, so scripts can parse it). The hypervisor console's FATAL
 * lines among bytes no longer held come first, after a notice on stderr.
 *
 * <p>The bytes are a guest's: on a terminal, control characters other than
 * newline, carriage return and tab are shown escaped ({@code ^[} for ESC,
 * {@code ^?} for DEL, {@code \x9b} for a C1 control), so an inmate cannot
 * retitle or reprogram the operator's terminal. Pipes and {@code --raw}
 * get the bytes as they are.
 */
final class ConsoleFollower {
    /** How long each follow request waits in the daemon for output. */
    static final long WAIT_MILLIS = 1000;

    /** Where the bytes come from. */
    @FunctionalInterface
    interface Source {
        ConsoleChunk read(long position, int max, long waitMillis) throws ControlException, IOException;
    }

    private final Source source;
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean escape;
    /** Inmates print bytes; a UTF-8 sequence may be split between two reads. */
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(0);
    private long position = -1;

    /** @param escape whether control characters are shown escaped (the output is a terminal) */
    ConsoleFollower(Source source, PrintWriter out, PrintWriter err, boolean escape) {
        this.source = source;
        this.out = out;
        this.err = err;
        this.escape = escape;
    }

    /** Prints what the console holds now, from its oldest byte. */
    void printHeld() throws ControlException, IOException {
        while (true) {
            ConsoleChunk c = source.read(position, ControlProtocol.DEFAULT_CONSOLE_READ, 0);
            print(c);
            if (c.data().length < ControlProtocol.DEFAULT_CONSOLE_READ) {
                return;
            }
        }
    }

    /** Prints new output as it comes, until reading fails (the caller decides what that means). */
    void follow() throws ControlException, IOException {
        while (true) {
            print(source.read(position, ControlProtocol.DEFAULT_CONSOLE_READ, WAIT_MILLIS));
        }
    }

    private void print(ConsoleChunk c) {
        if (c.missed() > 0) {
            pending = ByteBuffer.allocate(0);
            decoder.reset();
            out.flush(); // what came before the gap, before the notice
            err.print("<missed " + c.missed() + " bytes of console log>\n");
            err.flush();
        }
        if (c.kept().length > 0) {
            out.flush();
            err.print("<FATAL lines of the console log no longer held:>\n");
            err.flush();
            out.append(shown(new String(c.kept(), StandardCharsets.UTF_8)));
            out.flush();
        }
        position = c.next();
        if (c.data().length == 0) {
            out.flush();
            return;
        }
        ByteBuffer in = ByteBuffer.allocate(pending.remaining() + c.data().length).put(pending).put(c.data()).flip();
        CharBuffer chars = CharBuffer.allocate(in.remaining());
        decoder.decode(in, chars, false);
        pending = ByteBuffer.allocate(in.remaining()).put(in).flip();
        out.append(shown(chars.flip()));
        out.flush();
    }

    private CharSequence shown(CharSequence text) {
        return escape ? escaped(text) : text;
    }

    /** {@code text} with control characters but newline, carriage return and tab made visible. */
    static String escaped(CharSequence text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f) || c > 0x9f) {
                sb.append(c);
            } else if (c < 0x20) {
                sb.append('^').append((char) (c + 0x40));
            } else if (c == 0x7f) {
                sb.append("^?");
            } else {
                sb.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
            }
        }
        return sb.toString();
    }
}
