package io.jailhouse.hypervisor;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.hypervisor.pci.IvshmemLink;
import io.jailhouse.hypervisor.pci.RootIvshmemPeer;
import io.jailhouse.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import io.jailhouse.protocol.IvshmemAttachment;

/**
 * The root peer's descriptors without a VM: a second root-style peer on the
 * link stands in for a cell and counts what the program's register writes
 * deliver through the channel (every one, no interrupt coalescing).
 */
class RootIvshmemChannelTest {
    static final Path CONFIGS = Path.of("..", "configs", "x86");

    @Test
    void recordsWrittenBeforeADetachAreAllApplied() throws Exception {
        KernelDoorbells doorbells = new KernelDoorbells();
        IvshmemLink link = new IvshmemLink(0x0170, doorbells);
        MemorySegment table = Arena.ofAuto().allocate(4096, 4096);
        CellConfig root = ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class).rootCell();
        RootIvshmemPeer peer0 = new RootIvshmemPeer(root, 0, link, table);
        RootIvshmemPeer peer2 = new RootIvshmemPeer(
                ConfigFiles.read(CONFIGS.resolve("ivshmem-demo-2.yaml"), CellConfig.class), 0, link, table);
        link.attach(peer0);
        link.attach(peer2);
        AtomicLong delivered = new AtomicLong();
        peer2.open(v -> delivered.incrementAndGet());
        peer2.writeRegister(IvshmemDevice.REG_INT_CONTROL, 1);

        RootIvshmemChannel channel = RootIvshmemChannel.open(peer0, doorbells);
        assertThatThrownBy(() -> RootIvshmemChannel.open(peer0, doorbells)).isInstanceOf(IllegalStateException.class);
        int records = 1000;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment all = a.allocate((long) records * IvshmemAttachment.RECORD_BYTES);
            for (int i = 0; i < records; i++) {
                all.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8L * i, IvshmemDevice.REG_DOORBELL);
                all.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8L * i + 4, 2 << 16 | 3);
            }
            assertThat(Libc.write(channel.registerFd(), all)).isEqualTo(all.byteSize());
        }
        channel.close(); // at once: what is in the pipe is applied first, as posted writes are
        assertThat(delivered).hasValue(records);
        assertThat(peer0.isOpen()).isFalse();

        // doorbell eventfds: a target the kernel cannot reach is served by the channel's thread, by the rules
        RootIvshmemChannel again = RootIvshmemChannel.open(peer0, doorbells);
        assertThat(again.fd(0, 0)).as("no doorbell to itself").isEqualTo(-1);
        assertThat(again.fd(3, 0)).as("beyond the peers").isEqualTo(-1);
        int bell = again.fd(2, 3);
        assertThat(bell).isEqualTo(again.doorbellFds()[2 * 16 + 3]).isNotNegative();
        long before = delivered.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(8);
            one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1);
            assertThat(Libc.write(bell, one)).isEqualTo(8);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (delivered.get() == before) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.sleep(1);
            }
            peer2.writeRegister(IvshmemDevice.REG_INT_CONTROL, 0); // the target turns interrupts off: dropped
            long now = delivered.get();
            assertThat(Libc.write(bell, one)).isEqualTo(8);
            again.watch(2, 3, true); // a refresh, to be sure the thread has read the doorbell meanwhile
            Thread.sleep(100);
            assertThat(delivered.get()).isEqualTo(now);
            peer2.writeRegister(IvshmemDevice.REG_INT_CONTROL, 1);
            // rung right before the detach: still delivered (the stop reads every watched doorbell)
            assertThat(Libc.write(bell, one)).isEqualTo(8);
            again.close();
            assertThat(delivered.get()).isEqualTo(now + 1);
        }
    }
}
