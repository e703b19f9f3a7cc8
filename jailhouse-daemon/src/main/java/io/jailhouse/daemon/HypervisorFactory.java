package io.jailhouse.daemon;

import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.Hypervisor;
import io.jailhouse.hypervisor.HypervisorException;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.hypervisor.pci.DeviceEmulations;

/** How the daemon gets its hypervisor: {@code KvmHypervisor::enable} in production, a fake in tests. */
@FunctionalInterface
public interface HypervisorFactory {
    Hypervisor enable(SystemConfig config, Partitioning partitioning, DeviceEmulations emulations)
            throws HypervisorException;
}
