package io.jailhouse.bench;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.daemon.Caller;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.daemon.KvmHypervisor;
import io.jailhouse.protocol.Partitioning;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A hypervisor for one measurement: enabled (relaxed) with its cells' state
 * in a temporary directory, and disabled at the end, every cell destroyed
 * without asking, so no cell process outlives the benchmark.
 */
record EnabledHypervisor(Hypervisor hv, Path state) implements AutoCloseable {
    static EnabledHypervisor enable(SystemConfig system) throws HypervisorException, IOException {
        Path state = Files.createTempDirectory("jailhouse-bench");
        return new EnabledHypervisor(KvmHypervisor.enable(system, Partitioning.RELAXED, state), state);
    }

    @Override
    public void close() throws IOException {
        try {
            hv.disable(Caller.FORCING);
        } catch (HypervisorException e) {
            hv.close();
        }
        try (var files = Files.list(state)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(state);
    }
}
