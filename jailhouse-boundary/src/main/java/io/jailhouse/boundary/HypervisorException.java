package io.jailhouse.boundary;

import io.jailhouse.sys.Errno;

/**
 * A management operation the hypervisor refused, with the errno upstream's
 * driver returns for the same case (EINVAL, ENOENT, EEXIST, EBUSY, EPERM, ...)
 * and a message that says what was wrong and where.
 */
public final class HypervisorException extends Exception {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    public HypervisorException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public HypervisorException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }
}
