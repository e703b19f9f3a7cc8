package io.jailhouse.hypervisor.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.PciCapability;
import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a cell's PCI devices must be before anything is built: no pass-through, sane entries. */
class CellPciCheckTest {
    @Test
    void physicalDevicesAreRefusedWithoutEmulation() {
        CellConfig pciDemo = Fixtures.readCell("pci-demo");
        assertThatThrownBy(() -> PciConfigSpace.checkCell(pciDemo, PhysicalDeviceEmulation.NONE))
                .isInstanceOf(PciConfigException.class)
                .hasMessage("cell \"pci-demo\": PCI device 0 (00:1b.0) is a physical device; this hypervisor has no"
                        + " pass-through (cells are KVM VMs with emulated devices only, and nothing emulates this"
                        + " one): choose a model for it at enable (jailhouse enable SYSCONFIG --emulate 00:1b.0=MODEL;"
                        + " models: intel-hda)")
                .matches(e -> !((PciConfigException) e).busy());
    }

    @Test
    void bridgesToo() {
        PciDevice bridge = new PciDevice(PciDevice.TYPE_BRIDGE, 0, 0, 0x0018, PciDevice.BAR_MASK_NONE, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0);
        CellConfig c = Fixtures.cell("b", 1, List.of(), List.of(bridge), List.of());
        assertThatThrownBy(() -> PciConfigSpace.checkCell(c, PhysicalDeviceEmulation.NONE))
                .hasMessageStartingWith("cell \"b\": PCI device 0 (00:03.0) is a physical PCI bridge;");
    }

    /** Stands an endpoint in for 00:1b.0 (the extension point a future device model plugs into). */
    private static final class HdaStandIn implements PhysicalDeviceEmulation {
        @Override
        public boolean emulates(CellConfig cell, int index) {
            return cell.pciDevices().get(index).bdf() == 0x00d8;
        }

        @Override
        public VirtualPciFunction create(CellConfig cell, int index, MmioWindowTable windows) {
            PciDevice d = cell.pciDevices().get(index);
            List<PciCapability> caps = cell.pciCaps().subList(d.capsStart(), d.capsStart() + d.numCaps());
            // Its own BAR layout (upstream's config leaves bar_mask zero): 16 KiB, 64-bit.
            return new EmulatedEndpoint(d.bdf(), List.of(0xffffc000L, 0xffffffffL, 0L, 0L, 0L, 0L),
                    new int[] {Pci.BAR_MEM_TYPE_64, 0, 0, 0, 0, 0}, caps, windows) {
                @Override
                protected int readRegister(int dword) {
                    return dword == Pci.VENDOR_ID ? 0x293e8086 : dword < Pci.LEGACY_CONFIG_SIZE ? 0 : -1;
                }
            };
        }
    }

    @Test
    void anEmulationCanStandInForAPhysicalDevice() throws PciConfigException {
        CellConfig pciDemo = Fixtures.readCell("pci-demo");
        HdaStandIn emulation = new HdaStandIn();
        PciConfigSpace.checkCell(pciDemo, emulation);
        VirtualPciFunction f = emulation.create(pciDemo, 0, new MmioWindowTable());
        PciConfigSpace space = new PciConfigSpace(pciDemo.name(), List.of(f), Fixtures.MMCONFIG, 0xff);
        assertThat(space.read(0x00d8, 0, 4)).isEqualTo(0x293e8086);
        assertThat(space.acceptsWrite(0x00d8, 0x62, 2, 0x81)).as("MSI cap is writable in pci-demo").isTrue();
        assertThat(space.acceptsWrite(0x00d8, 0x50, 4, 0)).isFalse();
        space.write(0x00d8, 0x10, 4, -1);
        space.write(0x00d8, 0x14, 4, -1);
        assertThat(space.read(0x00d8, 0x10, 4)).as("16 KiB 64-bit BAR0").isEqualTo(0xffffc004);
        assertThat(space.read(0x00d8, 0x14, 4)).isEqualTo(0xffffffff);
    }

    @Test
    void theIvshmemDemoCellPasses() throws PciConfigException {
        PciConfigSpace.checkCell(Fixtures.readCell("ivshmem-demo"), PhysicalDeviceEmulation.NONE);
        PciConfigSpace.checkCell(Fixtures.readCell("tiny-demo"), PhysicalDeviceEmulation.NONE);
    }

    @Test
    void duplicateBdfsUnknownTypesAndCapsOutsideTheArrayAreRefused() {
        PciDevice iv = Fixtures.ivshmem(Fixtures.BDF, 0, 2, 2, 0);
        CellConfig dup = Fixtures.cell("dup", 1, Fixtures.shmemRegions(0, 2, 0, 0x1000), List.of(iv, iv), List.of());
        assertThatThrownBy(() -> PciConfigSpace.checkCell(dup, PhysicalDeviceEmulation.NONE))
                .hasMessage("cell \"dup\": PCI device 1 (01:0e.0) has the BDF of PCI device 0; each BDF may appear"
                        + " once in a cell");
        PciDevice odd = new PciDevice(7, 0, 0, 0x0100, PciDevice.BAR_MASK_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        CellConfig unknown = Fixtures.cell("odd", 1, List.of(), List.of(odd), List.of());
        assertThatThrownBy(() -> PciConfigSpace.checkCell(unknown, PhysicalDeviceEmulation.NONE))
                .hasMessageContaining("has unknown type 7");
        PciDevice caps = new PciDevice(PciDevice.TYPE_DEVICE, 0, 0, 0x0100, PciDevice.BAR_MASK_NONE, 1, 2, 0, 0, 0,
                0, 0, 0, 0, 0, 0);
        CellConfig capsCell = Fixtures.cell("caps", 1, List.of(), List.of(caps),
                List.of(new PciCapability(5, 0x60, 14, 1)));
        assertThatThrownBy(() -> PciConfigSpace.checkCell(capsCell, PhysicalDeviceEmulation.NONE))
                .hasMessage("cell \"caps\": PCI device 0 (01:00.0): its capabilities 1..2 lie outside the cell's 1 PCI"
                        + " capabilities");
        CellConfig broken = Fixtures.cell("broken", 1, List.of(), List.of(iv), List.of());
        assertThatThrownBy(() -> PciConfigSpace.checkCell(broken, PhysicalDeviceEmulation.NONE))
                .hasMessageContaining("shmem_regions_start 0 + 2 + shmem_peers 2 exceeds");
    }

    @Test
    void aConfigSpaceRefusesTwoFunctionsAtOneBdf() {
        MmioWindowTable w = new MmioWindowTable();
        HdaStandIn e = new HdaStandIn();
        CellConfig pciDemo = Fixtures.readCell("pci-demo");
        assertThatThrownBy(() -> new PciConfigSpace("x", List.of(e.create(pciDemo, 0, w), e.create(pciDemo, 0, w)),
                0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two PCI functions at 00:1b.0");
    }
}
