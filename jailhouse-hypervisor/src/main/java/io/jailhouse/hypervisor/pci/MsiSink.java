package io.jailhouse.hypervisor.pci;

/**
 * Delivers an MSI into one cell: the KVM side implements it with
 * {@code KVM_SIGNAL_MSI} on that cell's VM ({@code address_lo} = low 32
 * bits of {@code address}, {@code address_hi} = high 32 bits, {@code data},
 * flags 0).
 *
 * <p>Called by ivshmem on the Java delivery path: a doorbell that is not
 * wired in the kernel, a peer's STATE change (vector 0), one-shot mode. It
 * runs on the vCPU thread of whichever cell rang (any peer of the link) or
 * on the management thread (a peer's reset), possibly on several threads at
 * once, and must follow the hot-path rules: no allocation, no lock, no
 * logging, no exception (a failed ioctl is counted or dropped, never
 * thrown). KVM confines the MSI to the target VM's own vCPUs.
 */
@FunctionalInterface
public interface MsiSink {
    void deliver(long address, int data);

    /** Drops everything (a cell whose interrupts nobody wires, and tests). */
    MsiSink NONE = (address, data) -> {
    };
}
