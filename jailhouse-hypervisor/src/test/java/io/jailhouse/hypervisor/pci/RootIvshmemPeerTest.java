package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_DOORBELL;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_INT_CONTROL;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_STATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.hypervisor.pci.Fixtures.Peer;
import io.jailhouse.hypervisor.pci.Fixtures.Routing;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The root cell's peer: a host program's register writes and interrupts on the same link as cells. */
class RootIvshmemPeerTest {
    private final Routing routing = new Routing();
    private final MemorySegment table = Fixtures.page();
    private final List<Integer> raised = new ArrayList<>();
    private IvshmemLink link;
    private RootIvshmemPeer root;
    private Peer cell;

    @BeforeEach
    void setUp() {
        link = new IvshmemLink(BDF, routing);
        root = new RootIvshmemPeer(Fixtures.peerCell(0, 3, 4), 0, link, table);
        table.fill((byte) 0x55);
        assertThat(link.attach(root)).containsExactly("Adding virtual PCI device 01:0e.0 to cell \"peer0\"");
        assertThat(Fixtures.stateEntry(table, 0)).as("the first peer zeroes the table").isZero();
        cell = new Peer(Fixtures.peerCell(1, 3, 4), link, table, Fixtures.cpus(2));
        assertThat(link.attach(cell.device)).contains("Shared memory connection established, peer cells:",
                " \"peer0\"");
        cell.device.reset();
        cell.enable(0xff000000L);
        cell.enableInterrupts(2);
        routing.take();
    }

    @Test
    void nothingHappensWhileNoProgramIsAttached() {
        root.writeRegister(REG_INT_CONTROL, 1);
        root.writeRegister(REG_STATE, 7);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 1);
        assertThat(root.interruptsEnabled()).isFalse();
        assertThat(Fixtures.stateEntry(table, 0)).isZero();
        assertThat(cell.sink.count).isZero();
        cell.reg(REG_DOORBELL, 2);
        assertThat(raised).isEmpty();
        assertThat(routing.take()).isEmpty();
    }

    @Test
    void attachedProgramReceivesDoorbellsOnlyWithInterruptsEnabled() {
        root.open(raised::add);
        cell.reg(REG_DOORBELL, 2);
        assertThat(raised).as("INT_CONTROL 0: dropped").isEmpty();

        root.writeRegister(REG_INT_CONTROL, 1);
        assertThat(routing.take()).containsExactly("wire 0.0 0x0/0x0", "wire 0.1 0x0/0x0", "wire 0.2 0x0/0x0",
                "wire 0.3 0x0/0x0");
        cell.reg(REG_DOORBELL, 2);
        cell.reg(REG_DOORBELL, 3);
        cell.reg(REG_DOORBELL, 4); // beyond the 4 vectors: ignored
        cell.reg(REG_DOORBELL, 5 << 16 | 1); // absent peer 5
        assertThat(raised).containsExactly(2, 3);

        root.writeRegister(REG_INT_CONTROL, 0);
        assertThat(routing.take()).containsExactly("unwire 0.0", "unwire 0.1", "unwire 0.2", "unwire 0.3");
        cell.reg(REG_DOORBELL, 1);
        assertThat(raised).containsExactly(2, 3);
    }

    @Test
    void rootRingsACellAndPublishesItsState() {
        root.open(raised::add);
        root.writeRegister(REG_INT_CONTROL, 1);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 3);
        assertThat(cell.sink.count).isEqualTo(1);
        assertThat(cell.sink.data).isEqualTo(0x23);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 4); // vector beyond the root's count
        root.writeRegister(REG_DOORBELL, 12 << 16); // target 12 and beyond: ignored
        assertThat(cell.sink.count).isEqualTo(1);

        root.writeRegister(REG_STATE, 0x1234);
        assertThat(Fixtures.stateEntry(table, 0)).isEqualTo(0x1234);
        assertThat(root.state()).isEqualTo(0x1234);
        assertThat(cell.sink.count).as("state change: vector 0 to the other peers").isEqualTo(2);
        assertThat(cell.sink.data).isEqualTo(0x20);
        root.writeRegister(REG_STATE, 0x1234);
        assertThat(cell.sink.count).as("same state: no interrupt").isEqualTo(2);

        cell.reg(REG_STATE, 2);
        assertThat(raised).as("the cell's state change reaches the root as vector 0").containsExactly(0);
        root.writeRegister(0x14, 9); // not a register: ignored
        root.writeRegister(REG_DOORBELL + 1, 1 << 16); // unaligned offsets are not registers either
        assertThat(cell.sink.count).isEqualTo(2);
    }

    @Test
    void detachingResetsTheDeviceAndAllowsTheNextProgram() {
        root.open(raised::add);
        assertThatThrownBy(() -> root.open(v -> { })).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already attached");
        root.writeRegister(REG_INT_CONTROL, 1);
        root.writeRegister(REG_STATE, 5);
        routing.take();
        int before = cell.sink.count;

        root.close();
        assertThat(root.isOpen()).isFalse();
        assertThat(root.interruptsEnabled()).isFalse();
        assertThat(Fixtures.stateEntry(table, 0)).isZero();
        assertThat(cell.sink.count).as("state 5 -> 0 tells the cell").isEqualTo(before + 1);
        assertThat(routing.take()).containsExactly("unwire 0.0", "unwire 0.1", "unwire 0.2", "unwire 0.3");

        List<Integer> next = new ArrayList<>();
        root.open(next::add);
        root.writeRegister(REG_INT_CONTROL, 1);
        cell.reg(REG_DOORBELL, 1);
        assertThat(next).containsExactly(1);
        assertThat(raised).isEmpty();
    }

    @Test
    void intxOnlyRootHasOneInterrupt() {
        IvshmemLink other = new IvshmemLink(BDF, DoorbellRouting.NONE);
        RootIvshmemPeer intx = new RootIvshmemPeer(Fixtures.peerCell(0, 2, 0), 0, other, Fixtures.page());
        assertThat(intx.vectors()).isZero();
        assertThat(intx.interruptCount()).isEqualTo(1);
        other.attach(intx);
        intx.open(raised::add);
        intx.writeRegister(REG_INT_CONTROL, 1);
        intx.trigger(0);
        intx.trigger(1);
        assertThat(raised).containsExactly(0);
    }

    @Test
    void refusesDevicesThatAreNotIvshmemOfTheLink() {
        assertThatThrownBy(() -> new RootIvshmemPeer(Fixtures.peerCell(0, 3, 4), 0,
                new IvshmemLink(0x0178, DoorbellRouting.NONE), table))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("link 01:0f.0");
    }
}
