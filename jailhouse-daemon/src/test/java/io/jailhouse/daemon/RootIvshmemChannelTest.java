package io.jailhouse.daemon;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The root peer's descriptors without a VM: the program's register records
 * reach the other peers' doorbell slots, every one; doorbells rung in the
 * root's slots reach the program's interrupt eventfds while its interrupts
 * are on.
 */
class RootIvshmemChannelTest {
    static final Path CONFIGS = Path.of("..", "configs", "x86");

    private static long take(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(ValueLayout.JAVA_LONG);
            return Libc.read(fd, c) == 8 ? c.get(ValueLayout.JAVA_LONG, 0) : 0;
        }
    }

    private static void ring(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            assertThat(Libc.write(fd, one)).isEqualTo(8);
        }
    }

    @Test
    void recordsReachTheSlotsAndDoorbellsForTheRootReachTheProgram() throws Exception {
        CellConfig root = ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class).rootCell();
        int[] slots = new int[3 * 16];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        }
        IvshmemLinks.Link link = new IvshmemLinks.Link(0x0170, 3, 16, 0, slots);
        RootIvshmemPeer peer0 = new RootIvshmemPeer(root, 0, link, Arena.ofAuto().allocate(4096, 4096));
        try {
            ring(link.slot(0, 1)); // while nothing is attached: dropped at attach
            RootIvshmemChannel channel = RootIvshmemChannel.open(peer0);
            assertThatThrownBy(() -> RootIvshmemChannel.open(peer0)).isInstanceOf(IllegalStateException.class);
            int records = 1000;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment all = a.allocate((long) records * IvshmemAttachment.RECORD_BYTES);
                for (int i = 0; i < records; i++) {
                    all.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8L * i, RootIvshmemPeer.REG_DOORBELL);
                    all.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8L * i + 4, 2 << 16 | 3);
                }
                assertThat(Libc.write(channel.registerFd(), all)).isEqualTo(all.byteSize());
            }
            channel.close(); // at once: what is in the pipe is applied first, as posted writes are
            assertThat(take(link.slot(2, 3))).isEqualTo(records);
            assertThat(peer0.isOpen()).isFalse();

            RootIvshmemChannel again = RootIvshmemChannel.open(peer0);
            assertThat(again.doorbellFds()[0]).as("no doorbell to itself").isEqualTo(-1);
            assertThat(again.doorbellFds()[2 * 16 + 3]).as("the slot itself").isEqualTo(link.slot(2, 3));
            int interrupt = again.interruptFds()[5];
            ring(link.slot(0, 5)); // INT_CONTROL 0: dropped
            try (Arena a = Arena.ofConfined()) {
                MemorySegment rec = a.allocate(8);
                rec.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, RootIvshmemPeer.REG_INT_CONTROL);
                rec.set(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4, 1);
                Libc.write(again.registerFd(), rec);
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!peer0.interruptsEnabled()) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.onSpinWait();
            }
            assertThat(take(interrupt)).as("what came while interrupts were off").isZero();
            ring(link.slot(0, 5));
            long got = 0;
            while (got == 0) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                got = take(interrupt);
            }
            assertThat(got).isEqualTo(1);
            again.close();
        } finally {
            for (int fd : slots) {
                Libc.close(fd);
            }
        }
    }
}
