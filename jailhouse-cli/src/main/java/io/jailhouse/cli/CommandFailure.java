package io.jailhouse.cli;

import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * Ends a command with one line on stderr and exit status 1, worded as
 * upstream's tool words it: {@code perror("JAILHOUSE_CELL_CREATE")} becomes
 * {@code JAILHOUSE_CELL_CREATE: File exists}, here followed by the daemon's
 * explanation in parentheses.
 */
final class CommandFailure extends Exception {
    private static final long serialVersionUID = 1L;

    CommandFailure(String line) {
        super(line);
    }

    /** {@code OPERATION: strerror (detail)}. */
    static CommandFailure of(String operation, Errno errno, String detail) {
        return new CommandFailure(operation + ": " + errno.description()
                + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
    }

    /** {@code opening FILE: strerror}, as upstream's read_file and open_dev. */
    static CommandFailure opening(Object file, IOException e) {
        return new CommandFailure("opening " + file + ": " + reason(e));
    }

    /** What strerror would say for a failed file or socket operation. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return Errno.ENOENT.description();
        }
        if (e instanceof AccessDeniedException) {
            return Errno.EACCES.description();
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
