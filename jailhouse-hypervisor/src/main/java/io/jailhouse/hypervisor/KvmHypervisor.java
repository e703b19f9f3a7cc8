package io.jailhouse.hypervisor;

import io.jailhouse.config.SystemConfig;

/** The hypervisor on Linux KVM: one VM per cell. (Being built; see Hypervisor for the contract.) */
public final class KvmHypervisor {
    private KvmHypervisor() {
    }

    /**
     * Enables the hypervisor on a system config: opens /dev/kvm, checks the
     * config and the host, sets up the reserved-memory backing.
     */
    public static Hypervisor enable(SystemConfig config, Partitioning partitioning) throws HypervisorException {
        throw new HypervisorException(io.jailhouse.sys.Errno.ENODEV, "KVM hypervisor not yet available");
    }
}
