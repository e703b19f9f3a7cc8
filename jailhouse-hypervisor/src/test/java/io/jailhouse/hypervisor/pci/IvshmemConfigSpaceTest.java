package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ivshmem's config space byte for byte against spec 6.1, and which writes stick. */
class IvshmemConfigSpaceTest {
    private static IvshmemDevice device(CellConfig cell) {
        IvshmemLink link = new IvshmemLink(cell.pciDevices().get(0).bdf(), DoorbellRouting.NONE);
        IvshmemDevice d = new IvshmemDevice(cell, 0, link, Fixtures.page(), MsiSink.NONE, Fixtures.cpus(1),
                new MmioWindowTable());
        link.attach(d);
        d.reset();
        return d;
    }

    private static int[] dwords(IvshmemDevice d) {
        int[] v = new int[0x80 / 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = d.readConfig(4 * i, 4);
        }
        return v;
    }

    @Test
    void ivshmemDemoConfigSpace() {
        IvshmemDevice d = device(Fixtures.readCell("ivshmem-demo")); // 01:0e.0, peer 1 of 3, 16 vectors
        int[] expected = new int[0x20];
        expected[0x00 / 4] = 0x4106110a;      // vendor 110a, device 4106
        expected[0x04 / 4] = 0x0010_0000;     // status: capability list; command 0
        expected[0x08 / 4] = 0xff00_0000;     // class ff, protocol 0 (sub-class/prog-if), revision 0
        expected[0x2c / 4] = 0x4106110a;      // subsystem
        expected[0x34 / 4] = 0x40;            // capability pointer
        expected[0x3c / 4] = 0;               // int line 0, pin 0 (MSI-X)
        expected[0x40 / 4] = 0x0020_6009;     // vendor cap, next 0x60, length 0x20, one-shot off
        expected[0x44 / 4] = 0x1000;          // state table size
        expected[0x48 / 4] = 0x9000;          // R/W section size (u64)
        expected[0x50 / 4] = 0x2000;          // output section size (u64)
        expected[0x58 / 4] = 0x3f0f0000;      // shared memory address (u64)
        expected[0x60 / 4] = 0x000f_0011;     // MSI-X cap, next 0, table size 16-1, disabled
        expected[0x64 / 4] = 0x0000_0001;     // table: BIR 1, offset 0
        expected[0x68 / 4] = 0x0000_0101;     // PBA: BIR 1, offset 0x100
        assertThat(dwords(d)).containsExactly(expected);
        assertThat(d.readConfig(0x80, 4)).isEqualTo(0xffffffff);
        assertThat(d.readConfig(0xfc, 2)).isEqualTo(0xffff);
        assertThat(d.readConfig(0x0e, 1)).as("header type 0").isZero();
        assertThat(d.readConfig(0x0b, 1)).isEqualTo(0xff);
    }

    @Test
    void protocolAndInterruptPinWithoutMsix() {
        PciDevice dev = Fixtures.ivshmem(0x0178, 0, 2, 0, 0x8002); // 01:0f.0, INTx only, virtio-blk front
        CellConfig cell = Fixtures.cell("intx", 1, Fixtures.shmemRegions(0, 2, 0, 0x1000), List.of(dev), List.of());
        IvshmemDevice d = device(cell);
        assertThat(d.readConfig(0x08, 4)).isEqualTo(0xff80_0200);
        assertThat(d.readConfig(0x09, 1)).as("prog-if = protocol bits 0-7").isEqualTo(0x02);
        assertThat(d.readConfig(0x0a, 1)).as("sub-class = protocol bits 8-15").isEqualTo(0x80);
        assertThat(d.readConfig(0x3d, 1)).as("pin ((bdf >> 3) & 3) + 1").isEqualTo(((0x178 >> 3) & 3) + 1);
        assertThat(d.readConfig(0x41, 1)).as("no next capability without MSI-X").isZero();
        assertThat(d.readConfig(0x48, 4)).as("empty R/W section").isZero();
        assertThat(d.readConfig(0x50, 4)).isEqualTo(0x1000);
    }

    @Test
    void barsAreShadowsSizedByTheMask() {
        IvshmemDevice d = device(Fixtures.readCell("ivshmem-demo"));
        d.writeConfig(0x10, 4, 0xffffffff);
        d.writeConfig(0x14, 4, 0xffffffff);
        d.writeConfig(0x18, 4, 0xffffffff);
        assertThat(d.readConfig(0x10, 4)).isEqualTo(0xfffff000);
        assertThat(d.readConfig(0x14, 4)).isEqualTo(0xfffff000);
        assertThat(d.readConfig(0x18, 4)).isZero();
        d.writeConfig(0x10, 4, 0xff000000);
        assertThat(d.readConfig(0x10, 4)).isEqualTo(0xff000000);
        assertThat(d.acceptsConfigWrite(0x30, 4, -1)).isTrue();
        d.writeConfig(0x30, 4, 0xffffffff);
        assertThat(d.readConfig(0x30, 4)).isZero();
    }

    @Test
    void onlyTheOneShotBitAndMsixControlBitsStick() {
        IvshmemDevice d = device(Fixtures.readCell("ivshmem-demo"));
        for (int reg = 0x40; reg < 0x80; reg += 4) {
            assertThat(d.acceptsConfigWrite(reg, 4, 0)).as("0x%x", reg).isTrue();
        }
        int[] before = dwords(d);
        for (int reg = 0x44; reg < 0x60; reg += 4) {
            d.writeConfig(reg, 4, 0x12345678);
        }
        d.writeConfig(0x64, 4, 0x12345678);
        d.writeConfig(0x40, 4, 0xfeffffff); // everything but the one-shot bit
        assertThat(dwords(d)).containsExactly(before);

        d.writeConfig(0x43, 1, 0xff);
        assertThat(d.readConfig(0x40, 4)).isEqualTo(0x0120_6009);
        assertThat(d.oneShot()).isTrue();
        d.writeConfig(0x60, 4, 0xffffffff);
        assertThat(d.readConfig(0x60, 4)).isEqualTo(0xc00f_0011);
        d.writeConfig(0x63, 1, 0x80);
        assertThat(d.readConfig(0x62, 2)).isEqualTo(0x800f);
    }

    @Test
    void headerPolicyAndNothingBeyond0x80() {
        IvshmemDevice d = device(Fixtures.readCell("ivshmem-demo"));
        assertThat(d.acceptsConfigWrite(0x80, 4, 0)).isFalse();
        assertThat(d.acceptsConfigWrite(0x7c, 4, 0)).isTrue();
        assertThat(d.acceptsConfigWrite(0x00, 4, 0)).isFalse();
        assertThat(d.acceptsConfigWrite(0x3d, 1, 0)).isFalse();
        assertThat(d.acceptsConfigWrite(0x3c, 1, 0x0b)).isTrue();
        d.writeConfig(0x3c, 1, 0x0b);
        assertThat(d.readConfig(0x3c, 1)).as("int line is not stored, as upstream").isZero();
        d.writeConfig(0x04, 4, 0xffffffff);
        assertThat(d.readConfig(0x04, 4)).isEqualTo(0x0010_0000 | Pci.CMD_MEM | Pci.CMD_MASTER | Pci.CMD_INTX_OFF);
    }

    @Test
    void resetRestoresEverything() {
        IvshmemDevice d = device(Fixtures.readCell("ivshmem-demo"));
        int[] fresh = dwords(d);
        d.writeConfig(0x10, 4, 0xff000000);
        d.writeConfig(0x14, 4, 0xff001000);
        d.writeConfig(0x04, 2, Pci.CMD_MEM | Pci.CMD_MASTER);
        d.writeConfig(0x43, 1, 1);
        d.writeConfig(0x62, 2, Pci.MSIX_CTRL_ENABLE);
        d.registers().write(IvshmemDevice.REG_INT_CONTROL, 4, 1);
        d.reset();
        assertThat(dwords(d)).containsExactly(fresh);
        assertThat(d.interruptsEnabled()).isFalse();
        assertThat(d.msixRegion().read(12, 4)).as("vector 0 masked").isEqualTo(1);
    }
}
