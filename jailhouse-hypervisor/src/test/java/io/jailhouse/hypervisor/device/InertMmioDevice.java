package io.jailhouse.hypervisor.device;

/**
 * An MMIO device for tests that only look at where accesses go: it takes
 * every access, reads 0 and ignores writes. Each instance is a distinct
 * device, so tests tell them apart by identity.
 */
public final class InertMmioDevice implements MmioDevice {
    @Override
    public boolean accepts(long offset, int size, boolean write) {
        return true;
    }

    @Override
    public long read(long offset, int size) {
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
    }
}
