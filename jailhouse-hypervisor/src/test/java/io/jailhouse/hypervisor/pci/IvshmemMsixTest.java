package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.device.FaultReporter;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.pci.Fixtures.Peer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** BAR1 of ivshmem (spec 6.3) and the MSI-X target check (spec 6.2). */
class IvshmemMsixTest {
    private static final String TABLE_FAULT = "FATAL: Invalid PCI MSI-X table/PBA access, device 01:0e.0";
    private static final String TARGET_FAULT = "FATAL: ivshmem MSI-X target outside of cell \"peer1\" device 01:0e.0";
    private Peer peer;
    private MmioDevice msix;

    @BeforeEach
    void setUp() {
        IvshmemLink link = new IvshmemLink(BDF, DoorbellRouting.NONE);
        peer = new Peer(Fixtures.peerCell(1, 2, 4), link, Fixtures.page(), Fixtures.cpus(2, 3));
        link.attach(peer.device);
        peer.device.reset();
        peer.enable(0xff000000L);
        msix = peer.device.msixRegion();
    }

    private String fault() {
        return ((FaultReporter) msix).lastFaultLine();
    }

    @Test
    void tableReadsBackWhatWasWrittenAndStartsMasked() {
        assertThat(msix.read(0x0c, 4)).isEqualTo(1);
        assertThat(msix.read(0x3c, 4)).isEqualTo(1);
        peer.msix(0x10, 0xfee02000);
        peer.msix(0x14, 0);
        peer.msix(0x18, 0x41);
        peer.msix(0x1c, 0);
        assertThat(msix.read(0x10, 4)).isEqualTo(0xfee02000L);
        assertThat(msix.read(0x18, 4)).isEqualTo(0x41);
        assertThat(msix.read(0x1c, 4)).isZero();
        assertThat(msix.read(0x100, 4)).as("PBA").isZero();
        assertThat(msix.read(0x1fc, 4)).isZero();
    }

    @Test
    void onlyAlignedDwordAccessesToExistingEntriesAndPbaReads() {
        assertThat(msix.accepts(0x00, 4, false)).isTrue();
        assertThat(msix.accepts(0x3c, 4, true)).isTrue();
        assertThat(msix.accepts(0x02, 4, false)).as("misaligned").isFalse();
        assertThat(fault()).isEqualTo(TABLE_FAULT);
        assertThat(msix.accepts(0x00, 2, false)).as("16-bit").isFalse();
        assertThat(msix.accepts(0x00, 8, true)).as("64-bit").isFalse();
        assertThat(msix.accepts(0x40, 4, false)).as("entry 4 of 4").isFalse();
        assertThat(msix.accepts(0xf0, 4, true)).isFalse();
        assertThat(msix.accepts(0x100, 4, false)).as("PBA read").isTrue();
        assertThat(msix.accepts(0x100, 4, true)).as("PBA write").isFalse();
        assertThat(fault()).isEqualTo(TABLE_FAULT);
        assertThat(msix.accepts(0x200, 4, false)).isFalse();
    }

    @Test
    void anEnabledVectorMustTargetACpuOfTheCell() {
        assertThat(msix.acceptsWrite(0x00, 4, 0xfee05000L)).as("masked, MSI-X off: anything goes").isTrue();
        peer.msix(0x00, 0xfee05000);
        peer.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, Pci.MSIX_CTRL_ENABLE);
        assertThat(msix.acceptsWrite(0x0c, 4, 0)).as("unmasking an entry aimed at CPU 5").isFalse();
        assertThat(fault()).isEqualTo(TARGET_FAULT);
        assertThat(msix.acceptsWrite(0x00, 4, 0xfee03000L)).isTrue();
        peer.msix(0x00, 0xfee03000);
        peer.msix(0x0c, 0);
        assertThat(msix.acceptsWrite(0x00, 4, 0xfee04000L)).as("re-aiming an unmasked entry").isFalse();
        assertThat(msix.acceptsWrite(0x04, 4, 1)).as("high address dword is not the APIC id").isTrue();
        assertThat(msix.acceptsWrite(0x00, 4, 0xfeeff000L)).as("broadcast stays in the VM").isTrue();
        assertThat(msix.acceptsWrite(0x00, 4, 0xfee04004L)).as("logical mode").isTrue();
        assertThat(msix.acceptsWrite(0x08, 4, 0x99)).as("data").isTrue();
    }

    @Test
    void configWritesThatWouldEnableAnOutsideTargetAreRefusedWithBothLines() {
        peer.msix(0x10, 0xfee07000); // entry 1 aimed at CPU 7, unmasked, while MSI-X is off
        peer.msix(0x1c, 0);
        PciConfigPorts ports = peer.space.ports();
        ports.write(0xcf8, 4, 0x8000_0000 | BDF << 8 | IvshmemDevice.MSIX_CAP);
        assertThat(ports.acceptsWrite(0xcfe, 2, Pci.MSIX_CTRL_ENABLE | 3)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo(TARGET_FAULT
                + "\nFATAL: Invalid PCI config write, device 01:0e.0, reg: 0x62, size: 2");
        assertThat(ports.acceptsWrite(0xcfe, 2, Pci.MSIX_CTRL_ENABLE | Pci.MSIX_CTRL_FMASK)).as("masked").isTrue();

        peer.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MEM);
        peer.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, Pci.MSIX_CTRL_ENABLE);
        PciMmconfig mmcfg = peer.space.mmconfig();
        assertThat(mmcfg.acceptsWrite((long) BDF << 12 | Pci.COMMAND, 4, Pci.CMD_MEM | Pci.CMD_MASTER))
                .as("bus mastering would enable it").isFalse();
        assertThat(mmcfg.lastFaultLine()).isEqualTo(TARGET_FAULT
                + "\nFATAL: Invalid PCI MMCONFIG write, device 01:0e.0, reg: 0x4, size: 4");
        assertThat(mmcfg.acceptsWrite((long) BDF << 12 | 0x10, 4, 0)).isTrue();
        assertThat(mmcfg.accepts((long) BDF << 12 | 0x00, 4, true)).isFalse();
        assertThat(mmcfg.lastFaultLine()).as("a plain refusal carries no stale cause")
                .isEqualTo("FATAL: Invalid PCI MMCONFIG write, device 01:0e.0, reg: 0x0, size: 4");
    }
}
