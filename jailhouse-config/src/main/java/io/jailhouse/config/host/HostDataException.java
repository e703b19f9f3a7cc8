package io.jailhouse.config.host;

/**
 * Host information that is missing, unreadable or not in the expected form.
 * The message is one line: where (file, and line or byte offset where known),
 * then what is wrong.
 */
public class HostDataException extends Exception {
    private static final long serialVersionUID = 1L;

    public HostDataException(String where, String problem) {
        super(where + ": " + problem);
    }

    public HostDataException(String where, String problem, Throwable cause) {
        super(where + ": " + problem, cause);
    }
}
