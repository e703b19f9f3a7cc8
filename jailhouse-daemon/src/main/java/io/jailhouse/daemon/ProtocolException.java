package io.jailhouse.daemon;

import io.jailhouse.sys.Errno;

/** A request the daemon cannot act on (malformed, wrong version, unknown op, missing field), answered with an error reply. */
final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    ProtocolException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    Errno errno() {
        return errno;
    }
}
