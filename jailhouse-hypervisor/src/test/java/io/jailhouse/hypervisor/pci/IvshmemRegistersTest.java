package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_DOORBELL;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_ID;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_INT_CONTROL;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_MAX_PEERS;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_STATE;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.pci.Fixtures.Peer;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** BAR0 of ivshmem (spec 6.2): ID, MAX_PEERS, INT_CONTROL, DOORBELL, STATE and the delivery rules. */
class IvshmemRegistersTest {
    private final MemorySegment stateTable = Fixtures.page();
    private IvshmemLink link;
    private Peer p0;
    private Peer p1;
    private Peer p2;

    @BeforeEach
    void setUp() {
        link = new IvshmemLink(BDF, DoorbellRouting.NONE);
        p0 = new Peer(Fixtures.peerCell(0, 3, 4), link, stateTable, Fixtures.cpus(1));
        p1 = new Peer(Fixtures.peerCell(1, 3, 4), link, stateTable, Fixtures.cpus(2));
        p2 = new Peer(Fixtures.peerCell(2, 3, 4), link, stateTable, Fixtures.cpus(3));
        for (Peer p : new Peer[] {p0, p1, p2}) {
            link.attach(p.device);
            p.device.reset();
            p.enable(0xff000000L);
        }
    }

    private static int doorbell(int target, int vector) {
        return target << 16 | vector;
    }

    @Test
    void registersAreAtBar0WhileMemIsSet() {
        assertThat(p1.bar0()).isEqualTo(0xff000000L);
        assertThat(p1.bar1()).isEqualTo(0xff001000L);
        MmioDevice regs = p1.at(0xff000000L, 4);
        assertThat(regs).isSameAs(p1.device.registers());
        assertThat(p1.at(0xff000ffcL, 4)).as("BAR0 is 4 KiB").isSameAs(regs);
        assertThat(p1.at(0xff001000L, 4)).isSameAs(p1.device.msixRegion());
        assertThat(p1.at(0xff0011fcL, 4)).isSameAs(p1.device.msixRegion());
        assertThat(p1.at(0xff001200L, 4)).as("beyond the 0x200 decoded bytes of BAR1").isNull();
        p1.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MASTER);
        assertThat(p1.at(0xff000000L, 4)).isNull();
    }

    @Test
    void idAndMaxPeersAreReadOnly() {
        assertThat(p1.reg(REG_ID)).isEqualTo(1);
        assertThat(p2.reg(REG_ID)).isEqualTo(2);
        assertThat(p1.reg(REG_MAX_PEERS)).isEqualTo(3);
        p1.reg(REG_ID, 7);
        p1.reg(REG_MAX_PEERS, 7);
        assertThat(p1.reg(REG_ID)).isEqualTo(1);
        assertThat(p1.reg(REG_MAX_PEERS)).isEqualTo(3);
        assertThat(p1.device.registers().read(REG_ID, 1)).isEqualTo(1);
        assertThat(p1.reg(REG_DOORBELL)).as("write-only").isZero();
        assertThat(p1.reg(0x14)).as("unknown offset").isZero();
        assertThat(p1.reg(0x800)).isZero();
        p1.reg(0x14, 0x1234); // ignored
    }

    @Test
    void intControlKeepsOnlyBit0() {
        p1.reg(REG_INT_CONTROL, 0xffffffff);
        assertThat(p1.reg(REG_INT_CONTROL)).isEqualTo(1);
        p1.reg(REG_INT_CONTROL, 2);
        assertThat(p1.reg(REG_INT_CONTROL)).isZero();
    }

    @Test
    void stateWritesTheStateTableAndRaisesVector0OnTheOthersWhenItChanges() {
        p0.enableInterrupts(1);
        p2.enableInterrupts(3);
        p1.reg(REG_STATE, 0x42);
        assertThat(Fixtures.stateEntry(stateTable, 1)).isEqualTo(0x42);
        assertThat(p1.reg(REG_STATE)).isEqualTo(0x42);
        assertThat(p0.sink.count).isEqualTo(1);
        assertThat(p0.sink.address).isEqualTo(0xfee01000L);
        assertThat(p0.sink.data).as("vector 0").isEqualTo(0x20);
        assertThat(p2.sink.count).isEqualTo(1);
        assertThat(p1.sink.count).as("not itself").isZero();

        p1.reg(REG_STATE, 0x42);
        assertThat(p0.sink.count).as("unchanged: no interrupt").isEqualTo(1);
        assertThat(Fixtures.stateEntry(stateTable, 0)).isZero();
        assertThat(Fixtures.stateEntry(stateTable, 2)).isZero();
    }

    @Test
    void doorbellDeliversTheTargetsMsixEntry() {
        p2.enableInterrupts(3);
        p1.reg(REG_DOORBELL, doorbell(2, 3));
        assertThat(p2.sink.count).isEqualTo(1);
        assertThat(p2.sink.address).isEqualTo(0xfee03000L);
        assertThat(p2.sink.data).isEqualTo(0x23);
        assertThat(p2.device.interruptsEnabled()).as("not one-shot: stays enabled").isTrue();
        p1.reg(REG_DOORBELL, doorbell(2, 0));
        assertThat(p2.sink.count).isEqualTo(2);
        p2.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("a peer may ring itself").isEqualTo(3);
    }

    @Test
    void doorbellsOutOfRangeOrToAbsentPeersAreIgnored() {
        p2.enableInterrupts(3);
        p1.reg(REG_DOORBELL, doorbell(2, 4)); // 4 vectors: 0..3
        p1.reg(REG_DOORBELL, doorbell(12, 0));
        p1.reg(REG_DOORBELL, doorbell(0xffff, 0));
        link.detach(p0.device);
        p1.reg(REG_DOORBELL, doorbell(0, 0));
        p1.reg(REG_DOORBELL, doorbell(5, 0)); // within 12, beyond shmem_peers: nobody there
        assertThat(p2.sink.count).isZero();
        assertThat(p0.sink.count).isZero();
    }

    @Test
    void deliveryNeedsIntControlMsixEnableNoMasksAndBusMaster() {
        p2.enableInterrupts(3);
        p2.reg(REG_INT_CONTROL, 0);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("INT_CONTROL off").isZero();
        p2.reg(REG_INT_CONTROL, 1);

        p2.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, 3 | Pci.MSIX_CTRL_ENABLE | Pci.MSIX_CTRL_FMASK);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("function masked").isZero();
        p2.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, 3);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("MSI-X disabled").isZero();
        p2.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, 3 | Pci.MSIX_CTRL_ENABLE);

        p2.msix(16 + 12, 1);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("vector 1 masked").isZero();
        p1.reg(REG_DOORBELL, doorbell(2, 2));
        assertThat(p2.sink.count).as("vector 2 is not").isEqualTo(1);
        p2.msix(16 + 12, 0);

        p2.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MEM);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("bus master off").isEqualTo(1);
        p2.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MEM | Pci.CMD_MASTER);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).isEqualTo(2);
    }

    @Test
    void oneShotModeClearsIntControlOnEachDelivery() {
        p2.enableInterrupts(3);
        p2.cfgWrite(IvshmemDevice.VENDOR_CAP + 3, 1, 1);
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).isEqualTo(1);
        assertThat(p2.reg(REG_INT_CONTROL)).isZero();
        p1.reg(REG_DOORBELL, doorbell(2, 1));
        assertThat(p2.sink.count).as("until the target re-enables").isEqualTo(1);
        p2.reg(REG_INT_CONTROL, 1);
        p0.reg(REG_DOORBELL, doorbell(2, 2));
        assertThat(p2.sink.count).isEqualTo(2);

        p2.reg(REG_INT_CONTROL, 1);
        p2.msix(16 * 3 + 12, 1);
        p1.reg(REG_DOORBELL, doorbell(2, 3));
        assertThat(p2.sink.count).as("masked vector: nothing delivered").isEqualTo(2);
        assertThat(p2.reg(REG_INT_CONTROL)).as("but the one shot is used up, as upstream").isZero();
    }

    @Test
    void intxOnlyDevicesReceiveNothingOnX86() {
        IvshmemLink l = new IvshmemLink(BDF, DoorbellRouting.NONE);
        MemorySegment table = Fixtures.page();
        Peer a = new Peer(Fixtures.peerCell(0, 2, 0), l, table, Fixtures.cpus(1));
        Peer b = new Peer(Fixtures.peerCell(1, 2, 0), l, table, Fixtures.cpus(2));
        l.attach(a.device);
        l.attach(b.device);
        a.enable(0xff000000L);
        b.enable(0xff000000L);
        assertThat(b.bar1()).as("no MSI-X region").isEqualTo(-1);
        b.reg(REG_INT_CONTROL, 1);
        a.reg(REG_DOORBELL, doorbell(1, 0));
        a.reg(REG_STATE, 1);
        assertThat(b.sink.count).isZero();
    }

    @Test
    void narrowAccessesUseTheZeroExtendedValue() {
        p2.enableInterrupts(3);
        p1.device.registers().write(REG_DOORBELL, 1, 0x01); // vector 1 of peer 0: p0 has interrupts off
        assertThat(p0.sink.count).isZero();
        p1.device.registers().write(REG_STATE, 2, 0xabcd_1234L);
        assertThat(p1.reg(REG_STATE)).isEqualTo(0x1234);
        assertThat(p2.sink.count).isEqualTo(1);
        assertThat(p1.device.registers().read(REG_STATE, 1)).isEqualTo(0x34);
        assertThat(p1.device.registers().accepts(REG_STATE, 8, true)).isTrue();
    }

    @Test
    void resetZeroesTheOwnStateEntryAndTellsTheOthers() {
        p0.enableInterrupts(1);
        p1.reg(REG_STATE, 5);
        assertThat(p0.sink.count).isEqualTo(1);
        p1.device.reset();
        assertThat(Fixtures.stateEntry(stateTable, 1)).isZero();
        assertThat(p1.reg(REG_STATE)).isZero();
        assertThat(p0.sink.count).isEqualTo(2);
        assertThat(p1.bar0()).as("windows gone").isEqualTo(-1);
    }
}
