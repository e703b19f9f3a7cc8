package io.jailhouse.protocol;

import java.io.IOException;

/** A frame announced more bytes than the protocol allows; the connection cannot be resynchronised after it. */
public final class MessageTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long length;

    MessageTooLargeException(long length) {
        super("message of " + length + " bytes exceeds the limit of " + ControlProtocol.MAX_MESSAGE_BYTES + " bytes");
        this.length = length;
    }

    public long length() {
        return length;
    }
}
