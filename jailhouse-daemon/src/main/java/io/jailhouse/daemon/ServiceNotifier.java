package io.jailhouse.daemon;

import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * systemd's readiness protocol for {@code Type=notify}: when the service
 * manager gave the daemon a {@code NOTIFY_SOCKET}, it is told
 * {@code READY=1} once the control socket accepts (and the cells of an
 * earlier supervisor are adopted), and {@code STOPPING=1} when the daemon
 * ends. Without one (started by {@code jailhouse enable}, or by hand),
 * nothing is sent.
 */
final class ServiceNotifier {
    static final String VARIABLE = "NOTIFY_SOCKET";

    private final String socket;
    private final DaemonLog log;

    private ServiceNotifier(String socket, DaemonLog log) {
        this.socket = socket;
        this.log = log;
    }

    static ServiceNotifier of(Map<String, String> environment, DaemonLog log) {
        String s = environment.get(VARIABLE);
        return new ServiceNotifier(s == null || s.isEmpty() ? null : s, log);
    }

    /** Whether a service manager listens. */
    boolean active() {
        return socket != null;
    }

    void ready(long pid, String status) {
        send("READY=1\nMAINPID=" + pid + "\nSTATUS=" + status.replace('\n', ' ') + "\n");
    }

    void stopping() {
        send("STOPPING=1\n");
    }

    private void send(String message) {
        if (socket == null) {
            return;
        }
        try {
            UnixSocket.sendDatagram(socket, message.getBytes(StandardCharsets.UTF_8));
        } catch (NativeException | IllegalArgumentException e) {
            // the service manager times the start out; the log says why
            log.warn("cannot notify the service manager at " + VARIABLE + "=" + socket + ": " + e.getMessage());
        }
    }
}
