package io.jailhouse.hypervisor.pci;

import io.jailhouse.boundary.PciConfigException;
import io.jailhouse.boundary.PciAdmission;
import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static io.jailhouse.hypervisor.pci.Fixtures.READ;
import static io.jailhouse.hypervisor.pci.Fixtures.RS;
import static io.jailhouse.hypervisor.pci.Fixtures.SHMEM;
import static io.jailhouse.hypervisor.pci.Fixtures.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.hypervisor.pci.Fixtures.Peer;
import io.jailhouse.boundary.PciAdmission.Member;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Joining and leaving a link, and validating the peers' configs at link time (spec 6.4, 6.5). */
class IvshmemLinkTest {
    private static Member member(CellConfig c) {
        return new Member(c, 0);
    }

    /** peerCell(1, 3, 16) with its regions changed. */
    private static CellConfig withRegions(UnaryOperator<List<MemoryRegion>> change) {
        CellConfig c = Fixtures.peerCell(1, 3, 16);
        List<MemoryRegion> shmem = change.apply(new ArrayList<>(Fixtures.shmemRegions(1, 3, Fixtures.RW_SIZE,
                Fixtures.OUT_SIZE)));
        return Fixtures.cell(c.name(), 2, shmem, c.pciDevices(), List.of());
    }

    private static CellConfig withDevice(PciDevice d) {
        return Fixtures.cell("peer1", 2, Fixtures.shmemRegions(1, 3, Fixtures.RW_SIZE, Fixtures.OUT_SIZE),
                List.of(d), List.of());
    }

    private static String refusal(Member... members) {
        try {
            PciAdmission.validateLink(List.of(members));
        } catch (PciConfigException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted");
    }

    @Test
    void theBundledDemoLinkIsValid() throws PciConfigException {
        CellConfig root = Fixtures.rootCell();
        int rootIndex = -1;
        for (int i = 0; i < root.pciDevices().size(); i++) {
            if (root.pciDevices().get(i).bdf() == BDF) {
                rootIndex = i;
            }
        }
        PciAdmission.validateLink(List.of(new Member(root, rootIndex), member(Fixtures.readCell("ivshmem-demo"))));
        List<Member> found = PciAdmission.members(BDF, List.of(root, Fixtures.readCell("tiny-demo"),
                Fixtures.readCell("ivshmem-demo")));
        assertThat(found).extracting(m -> m.cell().name() + "/" + m.deviceIndex())
                .containsExactly("QEMU-VM/" + rootIndex, "ivshmem-demo/0");
        PciAdmission.validateLink(found);
        PciAdmission.validateLink(List.of(member(Fixtures.peerCell(0, 3, 16)), member(Fixtures.peerCell(1, 3, 16)),
                member(Fixtures.peerCell(2, 3, 16))));
    }

    @Test
    void peerIdsAndCountsMustBeConsistent() {
        CellConfig a = Fixtures.peerCell(0, 3, 16);
        CellConfig b = Fixtures.readCell("ivshmem-demo"); // peer 1
        String m = refusal(member(Fixtures.peerCell(1, 3, 16)), member(b));
        assertThat(m).isEqualTo("cell \"ivshmem-demo\": PCI device 0 (01:0e.0), ivshmem: shmem_dev_id 1 is also the"
                + " peer id of cell \"peer1\"'s PCI device 0 on this link");
        try {
            PciAdmission.validateLink(List.of(member(Fixtures.peerCell(1, 3, 16)), member(b)));
        } catch (PciConfigException e) {
            assertThat(e.busy()).isTrue();
        }
        assertThat(refusal(member(a), member(Fixtures.peerCell(1, 2, 16)))).contains("shmem_peers 2 differs from 3"
                + " of cell \"peer0\"'s PCI device 0");
        assertThat(refusal(member(a), member(Fixtures.peerCell(1, 3, 4)))).contains("num_msix_vectors 4 differs"
                + " from 16");
        CellConfig other = withDevice(Fixtures.ivshmem(0x0168, 1, 3, 16, 0));
        assertThat(refusal(member(a), member(other))).endsWith("is not on ivshmem link 01:0e.0");
    }

    @Test
    void limitsOfOneDevice() {
        assertThat(refusal(member(withDevice(Fixtures.ivshmem(BDF, 3, 3, 16, 0)))))
                .isEqualTo("cell \"peer1\": PCI device 0 (01:0e.0), ivshmem: shmem_dev_id 3 is not below"
                        + " shmem_peers 3");
        assertThat(refusal(member(withDevice(Fixtures.ivshmem(BDF, 1, 13, 16, 0)))))
                .contains("shmem_peers 13 is not between 1 and 12");
        assertThat(refusal(member(withDevice(Fixtures.ivshmem(BDF, 1, 3, 17, 0)))))
                .contains("num_msix_vectors 17 exceeds 16");
        PciDevice d = Fixtures.ivshmem(BDF, 1, 3, 16, 0);
        PciDevice far = new PciDevice(d.type(), 0, 0, d.bdf(), d.barMask(), 0, 0, 0, 0, 16, 0, 0, 3, 1, 3, 0);
        assertThat(refusal(member(withDevice(far)))).contains("shmem_regions_start 3 + 2 + shmem_peers 3 exceeds"
                + " the cell's 7 memory regions");
        PciDevice badBar = new PciDevice(d.type(), 0, 0, d.bdf(), List.of(0xfffff00fL, 0xfffff000L, 0L, 0L, 0L, 0L),
                0, 0, 0, 0, 16, 0, 0, 0, 1, 3, 0);
        assertThat(refusal(member(withDevice(badBar)))).contains("bar_mask[0] 0xfffff00f does not describe a memory"
                + " BAR of at least 0x20 bytes for the register region");
        PciDevice noMsixBar = new PciDevice(d.type(), 0, 0, d.bdf(), PciDevice.IVSHMEM_BAR_MASK_INTX, 0, 0, 0, 0, 16,
                0, 0, 0, 1, 3, 0);
        assertThat(refusal(member(withDevice(noMsixBar)))).contains("bar_mask[1] 0x00000000");
    }

    @Test
    void stateTableIsOneReadOnlyPage() {
        assertThat(refusal(member(withRegions(r -> {
            r.set(0, new MemoryRegion(SHMEM, SHMEM, 0x2000, READ | RS));
            return r;
        })))).isEqualTo("cell \"peer1\": PCI device 0 (01:0e.0), ivshmem: memory region 0 (state table) must be one"
                + " page at a page boundary, not virt 0x3f0f0000, size 0x2000, READ|ROOTSHARED");
        assertThat(refusal(member(withRegions(r -> {
            r.set(0, new MemoryRegion(SHMEM, SHMEM, 0x1000, READ | WRITE | RS));
            return r;
        })))).contains("memory region 0 (state table) must be read-only for the cell (the hypervisor writes it)");
    }

    @Test
    void sectionsArePagesOfEqualSizeContiguousAndOnlyTheOwnerWritesItsOutput() {
        assertThat(refusal(member(withRegions(r -> {
            r.set(4, new MemoryRegion(r.get(4).physStart(), r.get(4).virtStart(), 0x1000, READ | RS));
            return r;
        })))).contains("memory region 4 (output section of peer 2) has size 0x1000, the output section of peer 0"
                + " 0x2000; output sections must have equal sizes");
        assertThat(refusal(member(withRegions(r -> {
            r.set(2, new MemoryRegion(r.get(2).physStart(), r.get(2).virtStart(), 0x2000, READ | WRITE | RS));
            return r;
        })))).contains("memory region 2 (output section of peer 0) is writable, but only peer 0 may write its output"
                + " section (this cell is peer 1)");
        assertThat(refusal(member(withRegions(r -> {
            MemoryRegion o = r.get(3);
            r.set(3, new MemoryRegion(o.physStart(), o.virtStart() + 0x1000, o.size(), o.flags()));
            return r;
        })))).contains("memory region 3 (output section of peer 1) must start at 0x3f0fc000, right after the"
                + " previous section");
        assertThat(refusal(member(withRegions(r -> {
            r.set(1, new MemoryRegion(SHMEM + 0x1000, SHMEM + 0x1000, 0x8800, READ | WRITE | RS));
            return r;
        })))).contains("memory region 1 (R/W section) must be whole pages at a page boundary");
        // an empty R/W section and empty output sections are fine (virtio-style links)
        IvshmemLinkTest.accept(withRegions(r -> List.of(r.get(0), MemoryRegion.EMPTY,
                new MemoryRegion(SHMEM + 0x1000, SHMEM + 0x1000, 0x2000, READ | RS),
                new MemoryRegion(SHMEM + 0x3000, SHMEM + 0x3000, 0x2000, READ | WRITE | RS),
                new MemoryRegion(SHMEM + 0x5000, SHMEM + 0x5000, 0x2000, READ | RS))));
        IvshmemLinkTest.accept(withRegions(r -> List.of(r.get(0), r.get(1), MemoryRegion.EMPTY, MemoryRegion.EMPTY,
                MemoryRegion.EMPTY)));
    }

    private static void accept(CellConfig c) {
        try {
            PciAdmission.validateLink(List.of(member(c)));
        } catch (PciConfigException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    @Test
    void everyPeerMapsTheSameMemory() {
        CellConfig moved = withRegions(r -> {
            MemoryRegion o = r.get(1);
            r.set(1, new MemoryRegion(o.physStart() + 0x100000, o.virtStart(), o.size(), o.flags()));
            return r;
        });
        assertThat(refusal(member(Fixtures.peerCell(0, 3, 16)), member(moved))).isEqualTo("cell \"peer1\": PCI"
                + " device 0 (01:0e.0), ivshmem: memory region 1 (R/W section, phys 0x3f1f1000, size 0x9000) is not"
                + " the same memory as cell \"peer0\"'s PCI device 0's memory region 1 (phys 0x3f0f1000, size"
                + " 0x9000)");
    }

    @Test
    void attachTakesThePeerIdAndWhatIsNotAttachedHereIsRungRemotely() {
        MemorySegment table = Fixtures.page();
        table.fill((byte) 0x55);
        List<String> remote = new ArrayList<>();
        IvshmemLink link = new IvshmemLink(BDF, DoorbellRouting.NONE, (t, v) -> remote.add(t + "." + v));
        Peer a = new Peer(Fixtures.peerCell(0, 3, 16), link, table, Fixtures.cpus(1));
        Peer b = new Peer(Fixtures.peerCell(2, 3, 16), link, table, Fixtures.cpus(3));
        link.attach(a.device);
        assertThat(table.get(ValueLayout.JAVA_BYTE, 0)).as("the state table is the supervisor's to clear")
                .isEqualTo((byte) 0x55);
        link.attach(b.device);
        assertThat(link.peer(0)).isSameAs(a.device);
        assertThat(link.peer(2)).isSameAs(b.device);
        assertThat(link.peer(1)).isNull();
        assertThat(link.peer(12)).isNull();
        a.device.reset();
        b.device.reset();
        remote.clear();
        a.enable(0xff000000L);
        b.enable(0xff000000L);
        b.enableInterrupts(3);
        a.reg(IvshmemDevice.REG_DOORBELL, 1 << 16 | 5);
        assertThat(remote).as("peer 1 lives in another process").containsExactly("1.5");
        a.reg(IvshmemDevice.REG_DOORBELL, 2 << 16 | 5);
        assertThat(b.sink.count).as("peer 2 lives here").isEqualTo(1);
        a.reg(IvshmemDevice.REG_DOORBELL, 12 << 16 | 5);
        assertThat(remote).as("no peer 12 anywhere").containsExactly("1.5");
        remote.clear();
        a.reg(IvshmemDevice.REG_STATE, 7);
        assertThat(remote).as("vector 0 to the other peers").containsExactly("1.0");
        assertThat(b.sink.count).isEqualTo(2);
        assertThat(Fixtures.stateEntry(table, 0)).isEqualTo(7);

        Peer again = new Peer(Fixtures.peerCell(0, 3, 16), link, table, Fixtures.cpus(1));
        assertThatThrownBy(() -> link.attach(again.device)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("peer id 0 of ivshmem link 01:0e.0 is taken");
    }

    @Test
    void detachZeroesTheStateEntryAndRaisesVector0OnTheOthers() {
        MemorySegment table = Fixtures.page();
        IvshmemLink link = new IvshmemLink(BDF, DoorbellRouting.NONE);
        Peer a = new Peer(Fixtures.peerCell(0, 2, 2), link, table, Fixtures.cpus(1));
        Peer b = new Peer(Fixtures.peerCell(1, 2, 2), link, table, Fixtures.cpus(2));
        link.attach(a.device);
        link.attach(b.device);
        a.device.reset();
        b.device.reset();
        a.enable(0xff000000L);
        a.enableInterrupts(1);
        b.enable(0xff000000L);
        b.reg(IvshmemDevice.REG_STATE, 3);
        assertThat(a.sink.count).isEqualTo(1);
        link.detach(b.device);
        assertThat(Fixtures.stateEntry(table, 1)).isZero();
        assertThat(a.sink.count).isEqualTo(2);
        assertThat(link.peer(1)).isNull();
        assertThat(b.bar0()).isEqualTo(-1);
        link.detach(b.device); // twice: nothing
        assertThat(a.sink.count).isEqualTo(2);
    }
}
