package io.jailhouse.daemon;

import io.jailhouse.config.SystemConfig;
import java.nio.file.Path;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.boundary.DeviceEmulations;

/** How the daemon gets its hypervisor: {@link #KVM} in production, a fake in tests. */
@FunctionalInterface
public interface HypervisorFactory {
    /**
     * @param stateDirectory where the hypervisor keeps what outlives it (cells' sockets, the console)
     * @param memoryDirectory where the reserved memory's file goes (null: /dev/shm)
     */
    Hypervisor enable(SystemConfig config, Partitioning partitioning, DeviceEmulations emulations,
            Path stateDirectory, Path memoryDirectory) throws HypervisorException;

    /** Cells on KVM, each in a process of its own. */
    HypervisorFactory KVM = (config, partitioning, emulations, stateDirectory, memoryDirectory) -> KvmHypervisor.enable(
            config, KvmHypervisor.Settings.of(partitioning, stateDirectory).withEmulations(emulations)
                    .withMemoryDirectory(memoryDirectory));
}
