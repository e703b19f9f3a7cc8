package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.CellConfig;
import io.jailhouse.hypervisor.device.MmioWindowTable;

/**
 * What a physical PCI device of a cell config (type {@code DEVICE} or
 * {@code BRIDGE}) becomes here. Cells are KVM VMs without device
 * assignment, so by default ({@link #NONE}) such a device refuses the cell;
 * an implementation can instead stand an emulated function in for chosen
 * devices (matched by BDF, ids, a daemon option, ...), typically an
 * {@link EmulatedEndpoint} subclass built from the config entry.
 *
 * <p>{@link #emulates} is asked while the config is validated, before
 * anything exists; {@link #create} only when the cell is built.
 */
public interface PhysicalDeviceEmulation {
    /** Whether PCI device {@code index} of {@code cell} is emulated (else the cell is refused). */
    boolean emulates(CellConfig cell, int index);

    /**
     * The emulated function for PCI device {@code index} of {@code cell},
     * whose BARs go into the cell's {@code windows}. Only called when
     * {@link #emulates} said yes.
     */
    VirtualPciFunction create(CellConfig cell, int index, MmioWindowTable windows);

    /** No emulation: every physical device refuses its cell. */
    PhysicalDeviceEmulation NONE = new PhysicalDeviceEmulation() {
        @Override
        public boolean emulates(CellConfig cell, int index) {
            return false;
        }

        @Override
        public VirtualPciFunction create(CellConfig cell, int index, MmioWindowTable windows) {
            throw new IllegalStateException("no emulation for PCI device " + index + " of cell \"" + cell.name() + "\"");
        }
    };
}
