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
 * the log alone, so scripts can parse it).
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
    /** Inmates print bytes; a UTF-8 sequence may be split between two reads. */
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(0);
    private long position = -1;

    ConsoleFollower(Source source, PrintWriter out, PrintWriter err) {
        this.source = source;
        this.out = out;
        this.err = err;
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
        position = c.next();
        if (c.data().length == 0) {
            out.flush();
            return;
        }
        ByteBuffer in = ByteBuffer.allocate(pending.remaining() + c.data().length).put(pending).put(c.data()).flip();
        CharBuffer chars = CharBuffer.allocate(in.remaining());
        decoder.decode(in, chars, false);
        pending = ByteBuffer.allocate(in.remaining()).put(in).flip();
        out.append(chars.flip());
        out.flush();
    }
}
