package io.jailhouse.cli;

/**
 * printf's {@code %-Ns} and {@code %Ns} for the tables commands print:
 * padded to at least N characters, never cut. A Formatter would do the same
 * but costs a command about 8 ms to set up on its first use.
 */
final class TextColumns {
    private TextColumns() {
    }

    /** {@code %-<width>s}: the text, then spaces up to {@code width}. */
    static StringBuilder left(StringBuilder sb, Object value, int width) {
        String s = String.valueOf(value);
        sb.append(s);
        for (int i = s.length(); i < width; i++) {
            sb.append(' ');
        }
        return sb;
    }

    /** {@code %<width>s}: spaces up to {@code width}, then the text. */
    static StringBuilder right(StringBuilder sb, Object value, int width) {
        String s = String.valueOf(value);
        for (int i = s.length(); i < width; i++) {
            sb.append(' ');
        }
        return sb.append(s);
    }
}
