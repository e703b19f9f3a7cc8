package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.PioDevice;

/**
 * Ports or device memory a cell's config grants but that nothing backs here:
 * upstream would pass them through to hardware; under KVM there is no
 * hardware behind them, so they behave as an empty bus does (reads all ones,
 * writes vanish) instead of failing the cell for using what it was given.
 */
final class UnbackedWindow implements PioDevice, MmioDevice {
    static final UnbackedWindow INSTANCE = new UnbackedWindow();

    private UnbackedWindow() {
    }

    @Override
    public boolean accepts(int port, int size, boolean write) {
        return true;
    }

    @Override
    public int read(int port, int size) {
        return size >= 4 ? -1 : (1 << (size * 8)) - 1;
    }

    @Override
    public void write(int port, int size, int value) {
    }

    @Override
    public boolean accepts(long offset, int size, boolean write) {
        return true;
    }

    @Override
    public long read(long offset, int size) {
        return size >= 8 ? -1L : (1L << (size * 8)) - 1;
    }

    @Override
    public void write(long offset, int size, long value) {
    }
}
