package io.jailhouse.daemon;

import static io.jailhouse.daemon.RootIvshmemPeer.REG_DOORBELL;
import static io.jailhouse.daemon.RootIvshmemPeer.REG_INT_CONTROL;
import static io.jailhouse.daemon.RootIvshmemPeer.REG_STATE;
import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.hypervisor.pci.Fixtures;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The root cell's peer: a host program's register writes reach the other
 * peers through the link's doorbell slots, and doorbells for the root reach
 * the program by the root's rules.
 */
class RootIvshmemPeerTest {
    private final MemorySegment table = Fixtures.page();
    private final List<Integer> raised = new ArrayList<>();
    private final List<int[]> slotSets = new ArrayList<>();
    private IvshmemLinks.Link link;
    private RootIvshmemPeer root;

    private IvshmemLinks.Link link(int peers, int vectors) throws NativeException {
        int[] slots = new int[peers * vectors];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        }
        slotSets.add(slots);
        return new IvshmemLinks.Link(BDF, peers, vectors, 0, slots);
    }

    @BeforeEach
    void setUp() throws NativeException {
        link = link(3, 4);
        root = new RootIvshmemPeer(Fixtures.peerCell(0, 3, 4), 0, link, table);
    }

    @AfterEach
    void closeSlots() throws NativeException {
        for (int[] slots : slotSets) {
            for (int fd : slots) {
                Libc.close(fd);
            }
        }
    }

    /** The count in slot (peer, vector), taken. */
    private long taken(int peer, int vector) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(ValueLayout.JAVA_LONG);
            return Libc.read(link.slot(peer, vector), c) == 8 ? c.get(ValueLayout.JAVA_LONG, 0) : 0;
        }
    }

    @Test
    void nothingHappensWhileNoProgramIsAttached() {
        root.writeRegister(REG_INT_CONTROL, 1);
        root.writeRegister(REG_STATE, 7);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 1);
        assertThat(root.interruptsEnabled()).isFalse();
        assertThat(Fixtures.stateEntry(table, 0)).isZero();
        assertThat(taken(1, 1)).isZero();
        assertThat(taken(1, 0)).isZero();
        root.trigger(2);
        assertThat(raised).isEmpty();
    }

    @Test
    void attachedProgramReceivesDoorbellsOnlyWithInterruptsEnabled() {
        root.open(raised::add);
        root.trigger(2);
        assertThat(raised).as("INT_CONTROL 0: dropped").isEmpty();
        root.writeRegister(REG_INT_CONTROL, 1);
        root.trigger(2);
        root.trigger(3);
        root.trigger(4); // beyond the 4 vectors: ignored
        assertThat(raised).containsExactly(2, 3);
        root.writeRegister(REG_INT_CONTROL, 0);
        root.trigger(1);
        assertThat(raised).containsExactly(2, 3);
    }

    @Test
    void rootRingsThroughTheSlotsAndPublishesItsState() {
        root.open(raised::add);
        root.writeRegister(REG_INT_CONTROL, 1);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 3);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 3);
        assertThat(taken(1, 3)).isEqualTo(2);
        root.writeRegister(REG_DOORBELL, 1 << 16 | 4); // vector beyond the root's count
        root.writeRegister(REG_DOORBELL, 12 << 16); // target 12 and beyond: ignored
        assertThat(taken(1, 0)).isZero();

        root.writeRegister(REG_STATE, 0x1234);
        assertThat(Fixtures.stateEntry(table, 0)).isEqualTo(0x1234);
        assertThat(root.state()).isEqualTo(0x1234);
        assertThat(taken(1, 0)).as("state change: vector 0 to the other peers").isEqualTo(1);
        assertThat(taken(2, 0)).isEqualTo(1);
        assertThat(taken(0, 0)).as("not to itself").isZero();
        root.writeRegister(REG_STATE, 0x1234);
        assertThat(taken(1, 0)).as("same state: no interrupt").isZero();
        root.writeRegister(0x14, 9); // not a register: ignored
        root.writeRegister(REG_DOORBELL + 1, 1 << 16); // unaligned offsets are not registers either
        assertThat(taken(1, 0)).isZero();
    }

    @Test
    void detachingResetsTheDeviceAndAllowsTheNextProgram() {
        root.open(raised::add);
        assertThatThrownBy(() -> root.open(v -> { })).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already attached");
        root.writeRegister(REG_INT_CONTROL, 1);
        root.writeRegister(REG_STATE, 5);
        taken(1, 0);

        root.close();
        assertThat(root.isOpen()).isFalse();
        assertThat(root.interruptsEnabled()).isFalse();
        assertThat(Fixtures.stateEntry(table, 0)).isZero();
        assertThat(taken(1, 0)).as("state 5 -> 0 tells the others").isEqualTo(1);

        List<Integer> next = new ArrayList<>();
        root.open(next::add);
        root.writeRegister(REG_INT_CONTROL, 1);
        root.trigger(1);
        assertThat(next).containsExactly(1);
        assertThat(raised).isEmpty();
    }

    @Test
    void intxOnlyRootHasOneInterrupt() throws NativeException {
        RootIvshmemPeer intx = new RootIvshmemPeer(Fixtures.peerCell(0, 2, 0), 0, link(2, 1), Fixtures.page());
        assertThat(intx.vectors()).isZero();
        assertThat(intx.interruptCount()).isEqualTo(1);
        intx.open(raised::add);
        intx.writeRegister(REG_INT_CONTROL, 1);
        intx.trigger(0);
        intx.trigger(1);
        assertThat(raised).containsExactly(0);
    }

    @Test
    void refusesDevicesThatAreNotIvshmemOfTheLink() throws NativeException {
        int[] slots = {Libc.eventfd(0, Libc.EFD_CLOEXEC)};
        slotSets.add(slots);
        assertThatThrownBy(() -> new RootIvshmemPeer(Fixtures.peerCell(0, 3, 4), 0,
                new IvshmemLinks.Link(0x0178, 1, 1, 0, slots), table))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("link 01:0f.0");
    }
}
