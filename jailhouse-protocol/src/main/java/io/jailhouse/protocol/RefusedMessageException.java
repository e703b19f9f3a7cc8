package io.jailhouse.protocol;

import io.jailhouse.sys.Errno;
import java.io.IOException;

/**
 * A message that was not read: over the protocol's limit in bytes or
 * descriptors (EMSGSIZE) or of unknown framing (EPROTO). What came with it
 * is closed; the next message on the connection is whole again.
 */
public final class RefusedMessageException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    RefusedMessageException(Errno errno, String detail, long maxBytes) {
        super(errno == Errno.EMSGSIZE ? detail + " (the limit is " + maxBytes
                + " bytes and " + ControlProtocol.MAX_FDS + " descriptors)" : detail);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }
}
