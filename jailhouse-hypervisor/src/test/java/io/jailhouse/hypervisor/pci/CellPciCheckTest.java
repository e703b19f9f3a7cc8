package io.jailhouse.hypervisor.pci;

import io.jailhouse.boundary.PciConfigException;
import io.jailhouse.boundary.EmulatedModel;
import io.jailhouse.boundary.DeviceEmulations;
import io.jailhouse.boundary.PciAdmission;
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
    /** An endpoint for the cell's PCI device 0 with the entry's capabilities and its own BAR layout (16 KiB, 64-bit). */
    static VirtualPciFunction standIn(CellConfig cell, MmioWindowTable windows) {
        PciDevice d = cell.pciDevices().get(0);
        List<PciCapability> caps = cell.pciCaps().subList(d.capsStart(), d.capsStart() + d.numCaps());
        return new EmulatedEndpoint(d.bdf(), List.of(0xffffc000L, 0xffffffffL, 0L, 0L, 0L, 0L),
                new int[] {Pci.BAR_MEM_TYPE_64, 0, 0, 0, 0, 0}, caps, windows) {
            @Override
            protected int readRegister(int dword) {
                return dword == Pci.VENDOR_ID ? 0x293e8086 : dword < Pci.LEGACY_CONFIG_SIZE ? 0 : -1;
            }
        };
    }

    /** pci-demo as upstream has it: its HDA entry without this project's emulation mark. */
    static CellConfig upstreamPciDemo() {
        CellConfig pciDemo = Fixtures.readCell("pci-demo");
        PciDevice d = pciDemo.pciDevices().get(0);
        PciDevice unmarked = new PciDevice(d.type(), d.iommu(), d.domain(), d.bdf(), d.barMask(), d.capsStart(),
                d.numCaps(), d.numMsiVectors(), d.msiBits(), d.numMsixVectors(), d.msixRegionSize(), d.msixAddress(),
                d.shmemRegionsStart(), d.shmemDevId(), d.shmemPeers(), 0);
        return new CellConfig(pciDemo.architecture(), pciDemo.name(), pciDemo.id(), pciDemo.flags(), pciDemo.cpus(),
                pciDemo.memoryRegions(), pciDemo.cacheRegions(), pciDemo.irqchips(), pciDemo.pioRegions(),
                List.of(unmarked), pciDemo.pciCaps(), pciDemo.streamIds(), pciDemo.vpciIrqBase(),
                pciDemo.cpuResetAddress(), pciDemo.msgReplyTimeout(), pciDemo.console());
    }

    @Test
    void physicalDevicesAreRefusedWithoutEmulation() {
        CellConfig pciDemo = upstreamPciDemo();
        assertThatThrownBy(() -> PciAdmission.checkCell(pciDemo, DeviceEmulations.NONE))
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
        assertThatThrownBy(() -> PciAdmission.checkCell(c, DeviceEmulations.NONE))
                .hasMessageStartingWith("cell \"b\": PCI device 0 (00:03.0) is a physical PCI bridge;");
    }

    @Test
    void aModelChosenForTheBdfStandsInForAPhysicalDevice() throws PciConfigException {
        CellConfig pciDemo = Fixtures.readCell("pci-demo");
        PciDevice d = pciDemo.pciDevices().get(0);
        CellConfig upstreams = upstreamPciDemo();
        assertThatThrownBy(() -> PciAdmission.checkCell(upstreams, DeviceEmulations.NONE))
                .hasMessageContaining("--emulate 00:1b.0=MODEL");
        PciAdmission.checkCell(upstreams, new DeviceEmulations(java.util.Map.of(0x00d8, EmulatedModel.INTEL_HDA)));
        assertThat(DeviceEmulations.NONE.modelFor(d)).as("the config's own mark").isEqualTo(EmulatedModel.INTEL_HDA);
        VirtualPciFunction f = standIn(pciDemo, new MmioWindowTable());
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
        PciAdmission.checkCell(Fixtures.readCell("ivshmem-demo"), DeviceEmulations.NONE);
        PciAdmission.checkCell(Fixtures.readCell("tiny-demo"), DeviceEmulations.NONE);
    }

    @Test
    void duplicateBdfsUnknownTypesAndCapsOutsideTheArrayAreRefused() {
        PciDevice iv = Fixtures.ivshmem(Fixtures.BDF, 0, 2, 2, 0);
        CellConfig dup = Fixtures.cell("dup", 1, Fixtures.shmemRegions(0, 2, 0, 0x1000), List.of(iv, iv), List.of());
        assertThatThrownBy(() -> PciAdmission.checkCell(dup, DeviceEmulations.NONE))
                .hasMessage("cell \"dup\": PCI device 1 (01:0e.0) has the BDF of PCI device 0; each BDF may appear"
                        + " once in a cell");
        PciDevice odd = new PciDevice(7, 0, 0, 0x0100, PciDevice.BAR_MASK_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        CellConfig unknown = Fixtures.cell("odd", 1, List.of(), List.of(odd), List.of());
        assertThatThrownBy(() -> PciAdmission.checkCell(unknown, DeviceEmulations.NONE))
                .hasMessageContaining("has unknown type 7");
        PciDevice caps = new PciDevice(PciDevice.TYPE_DEVICE, 0, 0, 0x0100, PciDevice.BAR_MASK_NONE, 1, 2, 0, 0, 0,
                0, 0, 0, 0, 0, 0);
        CellConfig capsCell = Fixtures.cell("caps", 1, List.of(), List.of(caps),
                List.of(new PciCapability(5, 0x60, 14, 1)));
        assertThatThrownBy(() -> PciAdmission.checkCell(capsCell, DeviceEmulations.NONE))
                .hasMessage("cell \"caps\": PCI device 0 (01:00.0): its capabilities 1..2 lie outside the cell's 1 PCI"
                        + " capabilities");
        CellConfig broken = Fixtures.cell("broken", 1, List.of(), List.of(iv), List.of());
        assertThatThrownBy(() -> PciAdmission.checkCell(broken, DeviceEmulations.NONE))
                .hasMessageContaining("shmem_regions_start 0 + 2 + shmem_peers 2 exceeds");
    }

    @Test
    void aConfigSpaceRefusesTwoFunctionsAtOneBdf() {
        MmioWindowTable w = new MmioWindowTable();
        CellConfig pciDemo = Fixtures.readCell("pci-demo");
        assertThatThrownBy(() -> new PciConfigSpace("x", List.of(standIn(pciDemo, w), standIn(pciDemo, w)),
                0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two PCI functions at 00:1b.0");
    }
}
