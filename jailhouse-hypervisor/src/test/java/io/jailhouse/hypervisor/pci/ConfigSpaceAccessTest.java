package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static io.jailhouse.hypervisor.pci.Fixtures.MMCONFIG;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PioDevice;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The cell's view of config space through 0xcf8/0xcfc and through MMCONFIG (spec 7). */
class ConfigSpaceAccessTest {
    private static final int ABSENT = 0x00f8; // 00:1f.0, which the cell does not have
    private PciConfigSpace space;
    private PciConfigPorts ports;
    private PciMmconfig mmconfig;
    private IvshmemDevice ivshmem;

    @BeforeEach
    void setUp() {
        CellConfig cell = Fixtures.readCell("ivshmem-demo");
        IvshmemLink link = new IvshmemLink(BDF, DoorbellRouting.NONE);
        ivshmem = new IvshmemDevice(cell, 0, link, Fixtures.page(), MsiSink.NONE, Fixtures.cpus(1),
                new MmioWindowTable());
        link.attach(ivshmem);
        space = new PciConfigSpace(cell.name(), List.of(ivshmem), MMCONFIG, 0xff);
        space.reset();
        ports = space.ports();
        mmconfig = space.mmconfig();
    }

    private static int address(int bdf, int reg) {
        return 0x8000_0000 | bdf << 8 | reg;
    }

    private void latch(int value) {
        assertThat(ports.accepts(0xcf8, 4, true)).isTrue();
        ports.write(0xcf8, 4, value);
    }

    @Test
    void addressLatchTakesOnlyDwordAccessesAndReadsBack() {
        latch(address(BDF, 0x08));
        assertThat(ports.accepts(0xcf8, 4, false)).isTrue();
        assertThat(ports.read(0xcf8, 4)).isEqualTo(address(BDF, 0x08));

        assertThat(ports.accepts(0xcf8, 2, false)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config read, port: 0xcf8, size: 2");
        assertThat(ports.accepts(0xcf8, 1, true)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config write, port: 0xcf8, size: 1");
    }

    @Test
    void dataPortsReadTheLatchedRegisterInEveryWidth() {
        latch(address(BDF, 0x00));
        assertThat(ports.read(0xcfc, 4)).isEqualTo(0x4106110a);
        assertThat(ports.read(0xcfc, 2)).isEqualTo(0x110a);
        assertThat(ports.read(0xcfe, 2)).isEqualTo(0x4106);
        assertThat(ports.read(0xcfd, 1)).isEqualTo(0x11);
        assertThat(ports.read(0xcfd, 2)).isEqualTo(0x0611);
        latch(address(BDF, 0x0b)); // the low two bits of the latch are not part of the register
        assertThat(ports.read(0xcfc, 4)).isEqualTo(0xff000000);
        assertThat(ports.read(0xcff, 1)).isEqualTo(0xff);
    }

    @Test
    void enableBitAndReservedBitsOfTheLatchAreIgnored() {
        latch(BDF << 8); // enable bit clear
        assertThat(ports.read(0xcfc, 4)).isEqualTo(0x4106110a);
        latch(0x7f00_0000 | BDF << 8);
        assertThat(ports.read(0xcfc, 2)).isEqualTo(0x110a);
    }

    @Test
    void absentFunctionsReadAllOnesAndRefuseWrites() {
        latch(address(ABSENT, 0x04));
        assertThat(ports.accepts(0xcfc, 4, false)).isTrue();
        assertThat(ports.read(0xcfc, 4)).isEqualTo(0xffffffff);
        assertThat(ports.read(0xcfe, 2)).isEqualTo(0xffff);
        assertThat(ports.read(0xcfd, 1)).isEqualTo(0xff);

        assertThat(ports.acceptsWrite(0xcfc, 2, 0x6)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config write, device 00:1f.0, reg: 0x4, size: 2");
        assertThat(ports.accepts(0xcfe, 1, true)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config write, device 00:1f.0, reg: 0x6, size: 1");
    }

    @Test
    void dataAccessesMustNotCrossPort0xcff() {
        latch(address(BDF, 0));
        assertThat(ports.accepts(0xcfe, 4, false)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config read, port: 0xcfe, size: 4");
        assertThat(ports.accepts(0xcff, 2, true)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config write, port: 0xcff, size: 2");
        // what the PIO bus refuses on its own because the access runs past 0xcff into unowned ports
        assertThat(PciConfigPorts.portFaultLine(0xcfe, 4, true))
                .isEqualTo("FATAL: Invalid PCI config write, port: 0xcfe, size: 4");
        assertThat(PciConfigPorts.portFaultLine(0xd00, 4, true)).isNull();
    }

    @Test
    void portsBetweenLatchAndDataAreGenericallyInvalid() {
        assertThat(ports.accepts(0xcf9, 1, true)).isFalse(); // the PC's reset control register
        assertThat(ports.lastFaultLine()).as("upstream prints the plain Invalid PIO line").isNull();
        assertThat(ports.accepts(0xcfa, 2, false)).isFalse();
        assertThat(ports.lastFaultLine()).isNull();
    }

    @Test
    void forbiddenHeaderWritesAreInvalidAndAllowedOnesTakeEffect() {
        latch(address(BDF, 0x00));
        assertThat(ports.acceptsWrite(0xcfc, 4, 0x12345678)).isFalse();
        assertThat(ports.lastFaultLine()).isEqualTo("FATAL: Invalid PCI config write, device 01:0e.0, reg: 0x0, size: 4");

        latch(address(BDF, 0x04));
        assertThat(ports.acceptsWrite(0xcfc, 2, Pci.CMD_MEM)).isTrue();
        ports.write(0xcfc, 2, Pci.CMD_MEM);
        assertThat(ports.read(0xcfc, 4)).isEqualTo(0x0010_0000 | Pci.CMD_MEM);
    }

    @Test
    void theBusRoutesAllEightPortsHereAndStringIoNeverArrives() {
        PioBus bus = PioBus.builder().add(PciConfigPorts.BASE, PciConfigPorts.COUNT, ports).build();
        assertThat(bus.deviceFor(0xcf8, 4)).isSameAs(ports);
        assertThat(bus.deviceFor(0xcfc, 4)).isSameAs(ports);
        assertThat(bus.deviceFor(0xcfe, 4)).as("runs past 0xcff").isNull();
        PioDevice d = bus.deviceFor(0xcfc, 1);
        latch(address(BDF, 0x3d));
        assertThat(d.read(0xcfd, 1)).as("interrupt pin 0 with MSI-X").isZero();
    }

    @Test
    void mmconfigDecodesBdfAndRegisterFromTheOffset() {
        long dev = (long) BDF << 12;
        assertThat(mmconfig.base()).isEqualTo(MMCONFIG);
        assertThat(mmconfig.size()).isEqualTo(256L << 20);
        assertThat(mmconfig.accepts(dev, 4, false)).isTrue();
        assertThat(mmconfig.read(dev, 4)).isEqualTo(0x4106110aL);
        assertThat(mmconfig.read(dev + 2, 2)).isEqualTo(0x4106L);
        assertThat(mmconfig.read(dev + 0x43, 1)).isZero();
        assertThat(mmconfig.read(dev + 0x80, 4)).as("beyond the emulated 0x80 bytes").isEqualTo(0xffffffffL);
        assertThat(mmconfig.read(dev + 0xffc, 4)).isEqualTo(0xffffffffL);
        assertThat(mmconfig.read((long) ABSENT << 12, 4)).isEqualTo(0xffffffffL);
        assertThat(mmconfig.read((long) ABSENT << 12 | 0x10, 1)).isEqualTo(0xffL);
    }

    @Test
    void mmconfigRefusesWritesToAbsentFunctionsAndMalformedAccesses() {
        assertThat(mmconfig.acceptsWrite((long) ABSENT << 12 | 4, 4, 6)).isFalse();
        assertThat(mmconfig.lastFaultLine()).isEqualTo("FATAL: Invalid PCI MMCONFIG write, device 00:1f.0, reg: 0x4, size: 4");

        long dev = (long) BDF << 12;
        assertThat(mmconfig.accepts(dev + 0x80, 4, true)).as("ivshmem: nothing writable beyond 0x80").isFalse();
        assertThat(mmconfig.lastFaultLine()).isEqualTo("FATAL: Invalid PCI MMCONFIG write, device 01:0e.0, reg: 0x80, size: 4");
        assertThat(mmconfig.accepts(dev + 2, 4, false)).as("crosses a dword").isFalse();
        assertThat(mmconfig.lastFaultLine()).isEqualTo("FATAL: Invalid PCI MMCONFIG read, device 01:0e.0, reg: 0x2, size: 4");
        assertThat(mmconfig.accepts(dev, 8, false)).isFalse();
        assertThat(mmconfig.acceptsWrite(dev + 4, 2, Pci.CMD_MASTER)).isTrue();
        mmconfig.write(dev + 4, 2, Pci.CMD_MASTER);
        assertThat(mmconfig.read(dev + 4, 2)).isEqualTo(Pci.CMD_MASTER);
    }

    @Test
    void mmconfigWindowFollowsTheEndBusAndIsAbsentWithoutBase() {
        PciConfigSpace small = new PciConfigSpace("c", List.of(ivshmem), 0xe0000000L, 0);
        assertThat(small.mmconfig().size()).isEqualTo(1L << 20);
        assertThat(small.mmconfig().accepts((long) BDF << 12, 4, false)).as("bus 1 is beyond end bus 0").isFalse();
        assertThat(small.ports().accepts(0xcf8, 4, false)).isTrue();
        assertThat(new PciConfigSpace("c", List.of(ivshmem), 0, 0xff).mmconfig()).isNull();
        MmioBus bus = MmioBus.builder().add(MMCONFIG, mmconfig.size(), mmconfig).build();
        int i = bus.indexOf(MMCONFIG + ((long) BDF << 12) + 8, 4);
        assertThat(bus.device(i).read(MMCONFIG + ((long) BDF << 12) + 8 - bus.base(i), 4)).isEqualTo(0xff000000L);
    }

    @Test
    void resetClearsTheLatch() {
        latch(address(BDF, 0x10));
        space.reset();
        assertThat(ports.read(0xcf8, 4)).isZero();
    }
}
