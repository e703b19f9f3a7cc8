package io.jailhouse.daemon;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.FileSystems;
import java.nio.file.attribute.UserPrincipal;
import java.util.LinkedHashSet;
import java.util.Set;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * Who may control the hypervisor: root and the user the daemon runs as
 * (upstream's /dev/jailhouse is root's alone). The kernel vouches for the
 * peer's uid ({@code SO_PEERCRED}), so file modes are not the only guard.
 */
public final class PeerAuthorization {
    private final Set<UserPrincipal> allowed;
    private final String whoMay;

    /** @param whoMay the allowed users as a refused peer should read them */
    public PeerAuthorization(Set<UserPrincipal> allowed, String whoMay) {
        this.allowed = Set.copyOf(allowed);
        this.whoMay = whoMay;
    }

    /** Root and {@code daemonUser}. */
    public static PeerAuthorization rootAnd(UserPrincipal daemonUser) throws IOException {
        Set<UserPrincipal> users = new LinkedHashSet<>();
        // "0" resolves to uid 0 whatever the root account is called.
        users.add(FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("0"));
        users.add(daemonUser);
        return new PeerAuthorization(users, "root and " + daemonUser.getName());
    }

    /** Null if the peer may talk to the daemon, else why not (for the error reply and the log). */
    public String refusal(SocketChannel peer) {
        UnixDomainPrincipal principal;
        try {
            principal = peer.getOption(ExtendedSocketOptions.SO_PEERCRED);
        } catch (IOException | UnsupportedOperationException e) {
            return "cannot tell who is connecting (SO_PEERCRED: " + e.getMessage() + ")";
        }
        if (allowed.contains(principal.user())) {
            return null;
        }
        return "user " + principal.user().getName() + " may not control the hypervisor (only " + whoMay + ")";
    }
}
