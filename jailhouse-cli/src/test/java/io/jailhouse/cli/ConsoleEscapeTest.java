package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.protocol.ConsoleChunk;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Guest bytes on the operator's terminal: control characters are shown, not obeyed; pipes get them as they are. */
class ConsoleEscapeTest {
    static final String HOSTILE = "title \033]0;retitled\007 clear \033[2J csi \u009b31m del \u007f\ttab\r\nend\n";

    private static String print(boolean terminal, ConsoleChunk... chunks) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int[] next = {0};
        ConsoleFollower f = new ConsoleFollower((p, max, wait) -> next[0] < chunks.length ? chunks[next[0]++]
                : new ConsoleChunk(new byte[0], 0, p), new PrintWriter(out), new PrintWriter(err), terminal);
        f.printHeld();
        return out + (err.toString().isEmpty() ? "" : "|stderr:" + err);
    }

    private static ConsoleChunk chunk(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return new ConsoleChunk(b, 0, b.length);
    }

    @Test
    void onATerminalControlCharactersButNewlineCarriageReturnAndTabAreEscaped() throws Exception {
        assertThat(print(true, chunk(HOSTILE)))
                .isEqualTo("title ^[]0;retitled^G clear ^[[2J csi \\x9b31m del ^?\ttab\r\nend\n");
    }

    @Test
    void aPipeGetsTheBytesAsTheyAre() throws Exception {
        assertThat(print(false, chunk(HOSTILE))).isEqualTo(HOSTILE);
    }

    @Test
    void printableTextAndNonLatinLettersAreLeftAlone() {
        assertThat(ConsoleFollower.escaped("Grüße, 日本, \u00a0 ~")).isEqualTo("Grüße, 日本, \u00a0 ~");
    }

    @Test
    void keptFatalLinesComeFirstAfterANoticeAndAreEscapedToo() throws Exception {
        byte[] data = "later\n".getBytes(StandardCharsets.UTF_8);
        byte[] kept = "FATAL: Invalid PIO write, port: 1234 size: 1 (cell \"\033[2Jx\")\n".getBytes(StandardCharsets.UTF_8);
        assertThat(print(true, new ConsoleChunk(data, 0, 6, kept))).isEqualTo(
                "FATAL: Invalid PIO write, port: 1234 size: 1 (cell \"^[[2Jx\")\nlater\n"
                        + "|stderr:<FATAL lines of the console log no longer held:>\n");
    }
}
