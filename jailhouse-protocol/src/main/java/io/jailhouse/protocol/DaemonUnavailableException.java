package io.jailhouse.protocol;

import java.nio.file.Path;

/** No daemon listens on the control socket: the hypervisor is not enabled. */
public final class DaemonUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    private final Path socket;

    public DaemonUnavailableException(Path socket) {
        super("hypervisor not enabled (no daemon at " + socket + ")");
        this.socket = socket;
    }

    public Path socket() {
        return socket;
    }
}
