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
     */
    Hypervisor enable(SystemConfig config, Partitioning partitioning, DeviceEmulations emulations,
            Path stateDirectory) throws HypervisorException;

    /** Cells on KVM, each in a process of its own. */
    HypervisorFactory KVM = (config, partitioning, emulations, stateDirectory) -> KvmHypervisor.enable(config,
            KvmHypervisor.Settings.of(partitioning, stateDirectory).withEmulations(emulations));
}
