package io.jailhouse.cli;

import io.jailhouse.daemon.Jailhoused;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.sys.Errno;
import java.io.PrintWriter;

/** jailhoused where KVM is not there: enable fails with ENODEV as KvmHypervisor does until it lands. */
public final class UnavailableJailhoused {
    private UnavailableJailhoused() {
    }

    public static void main(String[] args) {
        System.exit(Jailhoused.run(args, System.getenv(), (config, partitioning, emulations, state, memoryDirectory) -> {
            throw new HypervisorException(Errno.ENODEV, "KVM hypervisor not yet available");
        }, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }
}
