package io.jailhouse.config;

/**
 * A configuration that cannot be read: the message is one line naming the
 * file, and where known the byte offset and field (binary) or the path of the
 * entry (YAML/JSON/C). A C config that does not compile is the exception: its
 * message carries the compiler's diagnostics as they are, one per line.
 */
public class ConfigFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final long offset;
    private final String field;
    private final String problem;

    public ConfigFormatException(String source, long offset, String field, String problem) {
        super(format(source, offset, field, problem));
        this.source = source;
        this.offset = offset;
        this.field = field;
        this.problem = problem;
    }

    /** An error without a byte position (text forms: {@code field} is the entry's path). */
    public ConfigFormatException(String source, String field, String problem) {
        this(source, -1, field, problem);
    }

    private static String format(String source, long offset, String field, String problem) {
        StringBuilder sb = new StringBuilder(source);
        if (offset >= 0) {
            sb.append(": byte ").append(offset);
            if (field != null) {
                sb.append(" (").append(field).append(')');
            }
        } else if (field != null && !field.isEmpty()) {
            sb.append(": ").append(field);
        }
        return sb.append(": ").append(problem).toString();
    }

    public String source() {
        return source;
    }

    /** Byte offset in a binary file, or -1. */
    public long offset() {
        return offset;
    }

    public String field() {
        return field;
    }

    public String problem() {
        return problem;
    }
}
