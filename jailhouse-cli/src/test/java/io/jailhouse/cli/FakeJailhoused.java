package io.jailhouse.cli;

import io.jailhouse.daemon.FakeHypervisor;
import io.jailhouse.daemon.Jailhoused;
import java.io.PrintWriter;

/** jailhoused on the fake hypervisor, for starting a real background daemon from tests. */
public final class FakeJailhoused {
    private FakeJailhoused() {
    }

    public static void main(String[] args) {
        System.exit(Jailhoused.run(args, System.getenv(), FakeHypervisor::new, new PrintWriter(System.out, true),
                new PrintWriter(System.err, true)));
    }
}
