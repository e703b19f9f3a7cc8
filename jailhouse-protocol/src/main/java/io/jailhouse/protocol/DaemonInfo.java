package io.jailhouse.protocol;

import io.jailhouse.protocol.Partitioning;
import java.util.List;

/**
 * What a running daemon says about itself ({@code ping}).
 *
 * @param system the system configuration's root cell name
 * @param notices what the user should be told once the hypervisor is enabled
 */
public record DaemonInfo(int version, long pid, Partitioning partitioning, String system, List<String> notices) {
    public DaemonInfo {
        notices = List.copyOf(notices);
    }
}
