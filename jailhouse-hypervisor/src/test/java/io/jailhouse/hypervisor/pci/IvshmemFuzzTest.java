package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.pci.Fixtures.Peer;
import java.lang.foreign.MemorySegment;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

/**
 * Fuzz target: three ivshmem peers of one link, each guest doing what it
 * likes to its device: config-space reads and writes of any register,
 * width and value (BARs, command, MSI-X control, capabilities), accesses to
 * whatever its BARs decode (ID, INT_CONTROL, DOORBELL with any peer and
 * vector, STATE, the MSI-X table and PBA) and re-enabling at random. The
 * models never throw, reads fit their width, a peer's identity never
 * changes, a peer writes only its own state-table entry, and no peer gets
 * more interrupts than doorbells were rung.
 */
@Tag("fuzz")
class IvshmemFuzzTest {
    /** One guest action: which peer, what kind, where, how wide, which value. */
    record Action(int peer, int kind, int where, int size, long value) {
    }

    @Provide
    Arbitrary<List<Action>> actions() {
        Arbitrary<Long> values = Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.of(0L, 1L, -1L, 0xffffffffL,
                0xff000000L, 0xfee00000L, (long) (Pci.CMD_MEM | Pci.CMD_MASTER), 0x10000L, 0x20001L, 0x30000L,
                (long) Pci.MSIX_CTRL_ENABLE));
        Arbitrary<Integer> where = Arbitraries.oneOf(Arbitraries.integers().between(0, 0x1100),
                Arbitraries.of(Pci.COMMAND, Pci.BAR0, Pci.BAR0 + 4, Pci.BAR0 + 8, IvshmemDevice.MSIX_CAP,
                        IvshmemDevice.MSIX_CAP + 2, IvshmemDevice.REG_INT_CONTROL, IvshmemDevice.REG_DOORBELL,
                        IvshmemDevice.REG_STATE, 0x800, 0x1000));
        Arbitrary<Action> action = Combinators.combine(Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 5), where, Arbitraries.of(1, 2, 4, 8, 3, 0), values)
                .as(Action::new);
        return action.list().ofMinSize(1).ofMaxSize(120);
    }

    @Property(edgeCases = net.jqwik.api.EdgeCasesMode.NONE) // edge values are in the inputs; generated ones grow with the tries
    void guestsCannotBreakTheModelsOrEachOther(@ForAll("actions") List<Action> actions) {
        MemorySegment stateTable = Fixtures.page();
        IvshmemLink link = new IvshmemLink(BDF, DoorbellRouting.NONE);
        Peer[] peers = new Peer[3];
        for (int id = 0; id < 3; id++) {
            peers[id] = new Peer(Fixtures.peerCell(id, 3, 4), link, stateTable, Fixtures.cpus(id + 1));
            link.attach(peers[id].device);
            peers[id].device.reset();
        }
        peers[0].enable(0xff000000L);
        peers[0].enableInterrupts(1);
        long doorbells = 0;
        long stateWrites = 0; // a state change interrupts the other peers (vector 0)
        for (Action a : actions) {
            Peer p = peers[a.peer()];
            int[] entries = {Fixtures.stateEntry(stateTable, 0), Fixtures.stateEntry(stateTable, 1),
                Fixtures.stateEntry(stateTable, 2)};
            switch (a.kind()) {
                case 0 -> { // config read
                    long v = p.space.read(BDF, a.where() & 0xfff, a.size()) & 0xffffffffL;
                    if (a.size() == 1 || a.size() == 2) {
                        assertThat(v).as("%s", a).isLessThan(1L << (8 * a.size()));
                    }
                }
                case 1 -> { // config write, if the model takes it (else the cell would fail)
                    int reg = a.where() & 0xfff;
                    if (p.space.acceptsWrite(BDF, reg, a.size(), (int) a.value())) {
                        p.space.write(BDF, reg, a.size(), (int) a.value());
                    }
                }
                case 2, 3 -> { // whatever the BARs decode, as the exit loop finds it
                    MmioWindowTable.Windows w = p.windows.current();
                    long address = 0xff000000L + a.where();
                    int i = w.indexOf(address, a.size());
                    if (i >= 0) {
                        MmioDevice d = w.device(i);
                        long offset = address - w.base(i);
                        if (a.kind() == 2 && d.accepts(offset, a.size(), false)) {
                            long v = d.read(offset, a.size());
                            if (a.size() < 8) {
                                assertThat(v >>> (8 * a.size())).as("%s", a).isZero();
                            }
                        } else if (a.kind() == 3 && d.acceptsWrite(offset, a.size(), a.value())) {
                            doorbells += d == p.device.registers() && offset == IvshmemDevice.REG_DOORBELL ? 1 : 0;
                            stateWrites += d == p.device.registers() && offset == IvshmemDevice.REG_STATE ? 1 : 0;
                            d.write(offset, a.size(), a.value());
                        }
                    }
                }
                case 4 -> { // a doorbell to any peer and vector, straight at the registers
                    if (p.device.registers().acceptsWrite(IvshmemDevice.REG_DOORBELL, 4, a.value() & 0xffffffffL)) {
                        doorbells++;
                        p.device.registers().write(IvshmemDevice.REG_DOORBELL, 4, a.value() & 0xffffffffL);
                    }
                }
                default -> { // BARs moved and MEM|MASTER on, each write only if the model takes it
                    long bar0 = 0xff000000L + ((long) a.where() << 12 & 0xfff000L);
                    int[][] writes = {{Pci.BAR0, (int) bar0}, {Pci.BAR0 + 4, (int) bar0 + 0x1000},
                        {Pci.COMMAND, Pci.CMD_MEM | Pci.CMD_MASTER}};
                    for (int[] w : writes) {
                        int size = w[0] == Pci.COMMAND ? 2 : 4;
                        if (p.space.acceptsWrite(BDF, w[0], size, w[1])) {
                            p.space.write(BDF, w[0], size, w[1]);
                        }
                    }
                }
            }
            for (int id = 0; id < 3; id++) {
                assertThat(peers[id].device.peerId()).isEqualTo(id);
                assertThat(peers[id].device.maxPeers()).isEqualTo(3);
                if (id != a.peer()) {
                    assertThat(Fixtures.stateEntry(stateTable, id)).as("peer %d's entry, after %s", id, a)
                            .isEqualTo(entries[id]);
                }
            }
        }
        long interrupts = peers[0].sink.count + peers[1].sink.count + peers[2].sink.count;
        assertThat(interrupts).as("interrupts delivered for %d doorbells and %d state writes", doorbells, stateWrites)
                .isLessThanOrEqualTo(doorbells + 2 * stateWrites);
    }
}
