package io.jailhouse.daemon;

import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.util.Set;

/**
 * Who may control the hypervisor: root and the user the daemon runs as
 * (upstream's /dev/jailhouse is root's alone). The kernel vouches for the
 * peer's uid ({@code SO_PEERCRED}), so file modes are not the only guard.
 */
public final class PeerAuthorization {
    private final Set<Integer> allowed;
    private final String whoMay;

    /**
     * @param allowed the uids that may connect
     * @param whoMay the allowed users as a refused peer should read them
     */
    public PeerAuthorization(Set<Integer> allowed, String whoMay) {
        this.allowed = Set.copyOf(allowed);
        this.whoMay = whoMay;
    }

    /** Root and the user {@code daemonUid} (the one the daemon runs as). */
    public static PeerAuthorization rootAnd(int daemonUid) {
        return new PeerAuthorization(daemonUid == 0 ? Set.of(0) : Set.of(0, daemonUid), daemonUid == 0 ? "root" : "root and uid " + daemonUid);
    }

    /** Null if the peer may talk to the daemon, else why not (for the error reply and the log). */
    public String refusal(UnixSocket peer) {
        UnixSocket.Peer who;
        try {
            who = peer.peer();
        } catch (NativeException e) {
            return "cannot tell who is connecting (SO_PEERCRED: " + e.getMessage() + ")";
        }
        if (allowed.contains(who.uid())) {
            return null;
        }
        return "uid " + who.uid() + " (process " + who.pid() + ") may not control the hypervisor (only " + whoMay
                + ")";
    }
}
