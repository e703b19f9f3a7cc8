package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;

/**
 * The root cell's peer on a real link: a program attached to 01:0e.0 (in
 * this process, so the attachment's descriptors are usable as they are)
 * and ivshmem-demo as peer 2 ring each other; the cell's doorbells reach
 * the program's eventfd in the kernel.
 */
class RootIvshmemTest extends KvmCellTestBase {
    static final int LINK = 0x0170;
    private final Arena arena = Arena.ofAuto();

    void register(IvshmemAttachment a, int offset, int value) {
        MemorySegment record = arena.allocate(8);
        record.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, offset);
        record.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4, value);
        assertThat(Libc.write(a.registerFd(), record)).isEqualTo(8);
    }

    /** Waits for interrupt {@code vector}; returns the eventfd's count. */
    long awaitInterrupt(IvshmemAttachment a, int vector) throws Exception {
        MemorySegment fds = arena.allocate(Libc.POLLFD_BYTES, 8);
        Libc.setPollFd(fds, 0, a.interruptFds().get(vector), Libc.POLLIN);
        assertThat(Libc.poll(fds, 1, 120_000)).as("interrupt %d", vector).isEqualTo(1);
        MemorySegment counter = arena.allocate(8);
        assertThat(Libc.read(a.interruptFds().get(vector), counter)).isEqualTo(8);
        return counter.get(JAVA_LONG, 0);
    }

    int stateEntry(int id) {
        try {
            return ((KvmHypervisor) hv).reservedMemory().readInt(0x3f0f0000L + 4L * id);
        } catch (io.jailhouse.sys.NativeException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void rootPeerIsOnTheLinkFromEnable() throws Exception {
        assertThat(hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text())
                .contains("Adding virtual PCI device 01:0e.0 to cell \"QEMU-VM\"");
        assertThat(hv.ivshmemLinks()).singleElement().satisfies(l -> {
            assertThat(l.bdf()).isEqualTo(LINK);
            assertThat(l.rootPeerId()).isZero();
            assertThat(l.maxPeers()).isEqualTo(3);
            assertThat(l.vectors()).isEqualTo(16);
            assertThat(l.attached()).isFalse();
            assertThat(l.peers()).containsExactly(new IvshmemLinkStatus.Peer(0, "QEMU-VM", 0));
        });
        hv.createCell(bundledCell("ivshmem-demo"));
        assertThat(hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text())
                .contains("Shared memory connection established, peer cells:\n \"QEMU-VM\"");
        assertThat(hv.ivshmemLinks().get(0).peers()).extracting(IvshmemLinkStatus.Peer::cell)
                .containsExactly("QEMU-VM", "ivshmem-demo");

        assertThatThrownBy(() -> hv.attachIvshmem(0x0178)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT)).hasMessageContaining(
                        "the root cell has no ivshmem device 01:0f.0 (it has 01:0e.0)");
        IvshmemAttachment a = hv.attachIvshmem(LINK);
        assertThatThrownBy(() -> hv.attachIvshmem(LINK)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY));
        assertThat(a.peerId()).isZero();
        assertThat(a.interruptFds()).hasSize(16);
        assertThat(a.stateTable()).isEqualTo(new IvshmemAttachment.Section(0x3f0f0000L, 0x1000));
        assertThat(a.readWrite()).isEqualTo(new IvshmemAttachment.Section(0x3f0f1000L, 0x9000));
        assertThat(a.outputs()).containsExactly(new IvshmemAttachment.Section(0x3f0fa000L, 0x2000),
                new IvshmemAttachment.Section(0x3f0fc000L, 0x2000), new IvshmemAttachment.Section(0x3f0fe000L, 0x2000));
        assertThat(a.memoryFile()).isEqualTo(((KvmHypervisor) hv).reservedMemory().file());
        assertThat(hv.ivshmemLinks().get(0).attached()).isTrue();
        hv.detachIvshmem(LINK);
        assertThat(hv.ivshmemLinks().get(0).attached()).isFalse();
        assertThatThrownBy(() -> hv.detachIvshmem(LINK)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
    }

    @Test
    void rootAndCellRingEachOtherWithoutJavaOnTheCellsPath() throws Exception {
        IvshmemAttachment a = hv.attachIvshmem(LINK);
        register(a, IvshmemDevice.REG_INT_CONTROL, 1);
        register(a, IvshmemDevice.REG_STATE, 7);
        hv.createCell(bundledCell("ivshmem-demo-2")); // peer 2
        load("ivshmem-demo-2", "ivshmem-demo", "count=4 period=300 target=0");
        String out = awaitConsole("ivshmem-demo-2", "IVSHMEM: initialized device");
        assertThat(awaitInterrupt(a, 0)).as("the cell's state change: vector 0").isPositive();
        assertThat(stateEntry(2)).isEqualTo(3);
        awaitConsole("ivshmem-demo-2", "IVSHMEM: sending IRQ 3 to peer 0");
        long mmio = mmioExits("ivshmem-demo-2");
        long got = 0;
        while (got < 3) {
            got += awaitInterrupt(a, 3);
        }
        assertThat(mmioExits("ivshmem-demo-2") - mmio).as("MMIO exits while ringing the root").isLessThanOrEqualTo(1);

        // the program's doorbell descriptors are the cell's own doorbell slots
        MemorySegment one = arena.allocate(8);
        one.set(JAVA_LONG, 0, 1);
        assertThat(Libc.write(a.doorbellFds().get(2).get(2), one)).isEqualTo(8); // the vector peer 2 counts
        out = awaitConsole("ivshmem-demo-2", "IVSHMEM: got interrupt 2 (#1)");
        assertThat(out).contains("state[0] = 7");
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (((KvmHypervisor) hv).reservedMemory().readInt(0x3f0fe000L) != 10) {
            assertThat(System.nanoTime()).as("the cell's output section").isLessThan(deadline);
            Thread.sleep(20);
        }

        hv.detachIvshmem(LINK);
        assertThat(stateEntry(0)).as("detaching resets the root's state").isZero();
        awaitConsole("ivshmem-demo-2", "IVSHMEM: done");
    }

    @Test
    void splitRecordsJunkAndFloodsFromTheProgramAreContained() throws Exception {
        IvshmemAttachment a = hv.attachIvshmem(LINK);
        MemorySegment bytes = arena.allocate(8);
        bytes.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, IvshmemDevice.REG_STATE);
        bytes.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4, 0x1234);
        // one record in two writes: applied once whole
        assertThat(Libc.write(a.registerFd(), bytes.asSlice(0, 3))).isEqualTo(3);
        Thread.sleep(50);
        assertThat(stateEntry(0)).isZero();
        assertThat(Libc.write(a.registerFd(), bytes.asSlice(3, 5))).isEqualTo(5);
        awaitState(0, 0x1234);
        // offsets that are no register, and a flood of doorbells to an absent peer: nothing happens
        for (int off : new int[] {0x00, 0x04, 0x14, 0xfff, -1}) {
            register(a, off, 0x5555);
        }
        for (int n = 0; n < 20_000; n++) {
            register(a, IvshmemDevice.REG_DOORBELL, 11 << 16);
        }
        register(a, IvshmemDevice.REG_STATE, 0x99);
        awaitState(0, 0x99);
        assertThat(hv.ivshmemLinks().get(0).attached()).isTrue();
        hv.detachIvshmem(LINK);
        assertThat(stateEntry(0)).isZero();
    }

    @Test
    void destroyingACellKeepsWhatTheRootShares() throws Exception {
        ReservedMemory memory = ((KvmHypervisor) hv).reservedMemory();
        memory.writeInt(0x3f0f1000L + 0x100, 0xfeed);
        memory.writeInt(0x3f0fa000L, 0xbeef);
        hv.createCell(bundledCell("ivshmem-demo-2"));
        hv.destroyCell(CellRef.parse("ivshmem-demo-2"));
        assertThat(memory.readInt(0x3f0f1000L + 0x100)).as("R/W section").isEqualTo(0xfeed);
        assertThat(memory.readInt(0x3f0fa000L)).as("the root's output section").isEqualTo(0xbeef);
    }

    void awaitState(int id, int value) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (stateEntry(id) != value) {
            assertThat(System.nanoTime()).as("state[%d] = 0x%x", id, value).isLessThan(deadline);
            Thread.sleep(5);
        }
    }
}
