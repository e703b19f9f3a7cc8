package io.jailhouse.protocol;

import io.jailhouse.sys.Errno;

/**
 * The daemon refused a request: the errno upstream's driver would have
 * returned for the same case, and the daemon's explanation.
 */
public final class ControlException extends Exception {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    public ControlException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }
}
