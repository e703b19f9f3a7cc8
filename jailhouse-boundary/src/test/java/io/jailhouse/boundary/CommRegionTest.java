package io.jailhouse.boundary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.Architecture;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.Bitmap;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.Console;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class CommRegionTest {
    private static final VarHandle REPLY = ValueLayout.JAVA_INT.varHandle();
    private static final Console CONSOLE =
            new Console(0x3f8, 0x11223344L, Console.TYPE_8250, 0x2002, 0x0102_0304L, 0x0a0b_0c0dL, 0x1122_3344_5566_7788L);

    private final Arena arena = Arena.ofShared();
    private final MemorySegment page = arena.allocate(4096, 4096);
    private final CommRegion comm = new CommRegion(page);

    @AfterEach
    void close() {
        arena.close();
    }

    private byte[] bytes() {
        return page.toArray(ValueLayout.JAVA_BYTE);
    }

    private void initialize() {
        comm.initialize(CommRegion.FLAG_DBG_PUTC_PERMITTED | CommRegion.FLAG_DBG_PUTC_ACTIVE, CONSOLE,
                0xe000_0000L, 0x408, 3, 2_893_000L, 0xfedc_ba98L);
    }

    @Test
    void initializeWritesSpec2sLayoutByteForByte() {
        initialize();

        ByteBuffer expected = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        expected.put("JHCOMM".getBytes(StandardCharsets.US_ASCII)); // 0
        expected.putShort((short) 2);                                // 6 revision
        expected.putInt(0);                                          // 8 cell_state RUNNING
        expected.putInt(0);                                          // 12 msg_to_cell
        expected.putInt(0);                                          // 16 reply_from_cell
        expected.putInt(3);                                          // 20 flags
        expected.putLong(0x3f8).putInt(0x11223344).putShort((short) 2).putShort((short) 0x2002)
                .putInt(0x01020304).putInt(0x0a0b0c0d).putLong(0x1122_3344_5566_7788L); // 24 console
        expected.putLong(0xe000_0000L);                              // 56 pci_mmconfig_base
        expected.putShort((short) 0x408);                            // 64 pm_timer_address
        expected.putShort((short) 3);                                // 66 num_cpus
        expected.putInt(2_893_000);                                  // 68 tsc_khz
        expected.putInt(0xfedc_ba98);                                // 72 apic_khz
        assertThat(expected.position()).isEqualTo(CommRegion.USED_BYTES);

        assertThat(bytes()).isEqualTo(expected.array());
    }

    @Test
    void fieldsSitAtTheirSpecOffsets() {
        initialize();
        byte[] b = bytes();
        assertThat(new String(b, 0, 6, StandardCharsets.US_ASCII)).isEqualTo("JHCOMM");
        assertThat(b[6]).isEqualTo((byte) 2);
        assertThat(b[7]).isZero();
        assertThat(b[20]).isEqualTo((byte) 3);
        assertThat(b[24]).isEqualTo((byte) 0xf8);
        assertThat(b[25]).isEqualTo((byte) 0x03);
        assertThat(b[36]).as("console.type").isEqualTo((byte) 2);
        assertThat(b[38]).as("console.flags low").isEqualTo((byte) 0x02);
        assertThat(b[39]).as("console.flags high").isEqualTo((byte) 0x20);
        assertThat(b[40]).as("console.divider").isEqualTo((byte) 0x04);
        assertThat(b[63]).as("mmconfig high byte").isZero();
        assertThat(b[59]).isEqualTo((byte) 0xe0);
        assertThat(b[64]).isEqualTo((byte) 0x08);
        assertThat(b[65]).isEqualTo((byte) 0x04);
        assertThat(b[66]).isEqualTo((byte) 3);
        assertThat(b[72]).isEqualTo((byte) 0x98);
        assertThat(b[75]).isEqualTo((byte) 0xfe);

        assertThat(CommRegion.OFFSET_SIGNATURE).isZero();
        assertThat(CommRegion.OFFSET_REVISION).isEqualTo(6);
        assertThat(CommRegion.OFFSET_CELL_STATE).isEqualTo(8);
        assertThat(CommRegion.OFFSET_MSG_TO_CELL).isEqualTo(12);
        assertThat(CommRegion.OFFSET_REPLY_FROM_CELL).isEqualTo(16);
        assertThat(CommRegion.OFFSET_FLAGS).isEqualTo(20);
        assertThat(CommRegion.OFFSET_CONSOLE).isEqualTo(24);
        assertThat(CommRegion.OFFSET_PCI_MMCONFIG_BASE).isEqualTo(56);
        assertThat(CommRegion.OFFSET_PM_TIMER_ADDRESS).isEqualTo(64);
        assertThat(CommRegion.OFFSET_NUM_CPUS).isEqualTo(66);
        assertThat(CommRegion.OFFSET_TSC_KHZ).isEqualTo(68);
        assertThat(CommRegion.OFFSET_APIC_KHZ).isEqualTo(72);
    }

    /** The console copy is the same 32 bytes the binary cell config holds (spec 1.2, cell_desc offset 100). */
    @Test
    void consoleCopyMatchesTheBinaryConfigEncoding() {
        CellConfig cell = new CellConfig(Architecture.X86, "c", 0, 0, Bitmap.of(0), List.of(), List.of(),
                List.of(), List.of(), List.of(), List.of(), List.of(), 0, 0, 0, CONSOLE);
        byte[] encoded = BinaryConfigCodec.encode(cell);
        initialize();
        assertThat(Arrays.copyOfRange(bytes(), 24, 56)).isEqualTo(Arrays.copyOfRange(encoded, 100, 132));
    }

    @Test
    void initializeZeroesTheWholePageFirst() {
        page.fill((byte) 0xa5);
        comm.setState(CommRegion.STATE_FAILED);
        initialize();
        byte[] b = bytes();
        assertThat(Arrays.copyOfRange(b, CommRegion.USED_BYTES, 4096)).containsOnly(0);
        assertThat(comm.state()).isEqualTo(CommRegion.STATE_RUNNING);
        assertThat(comm.message()).isEqualTo(CommRegion.MSG_NONE);
        assertThat(comm.reply()).isEqualTo(CommRegion.REPLY_NONE);
    }

    @Test
    void accessorsReadBackWhatInitializeWrote() {
        initialize();
        assertThat(comm.hasSignature()).isTrue();
        assertThat(comm.revision()).isEqualTo(CommRegion.REVISION);
        assertThat(comm.flags()).isEqualTo(3);
        assertThat(comm.console()).isEqualTo(CONSOLE);
        assertThat(comm.pciMmconfigBase()).isEqualTo(0xe000_0000L);
        assertThat(comm.pmTimerAddress()).isEqualTo(0x408);
        assertThat(comm.numCpus()).isEqualTo(3);
        assertThat(comm.tscKhz()).isEqualTo(2_893_000L);
        assertThat(comm.apicKhz()).isEqualTo(0xfedc_ba98L);
        assertThat(comm.state()).isEqualTo(CommRegion.STATE_RUNNING);
    }

    @Test
    void largestFieldValuesFit() {
        comm.initialize(-1, Console.NONE, -1L, 0xffff, 0xffff, 0xffff_ffffL, 0xffff_ffffL);
        assertThat(comm.flags()).isEqualTo(-1);
        assertThat(comm.pciMmconfigBase()).isEqualTo(-1L);
        assertThat(comm.pmTimerAddress()).isEqualTo(0xffff);
        assertThat(comm.numCpus()).isEqualTo(0xffff);
        assertThat(comm.tscKhz()).isEqualTo(0xffff_ffffL);
        assertThat(comm.apicKhz()).isEqualTo(0xffff_ffffL);
        assertThat(comm.console()).isEqualTo(Console.NONE);
    }

    @Test
    void refusesValuesThatDoNotFitTheirField() {
        assertThatThrownBy(() -> comm.initialize(0, CONSOLE, 0, 0x10000, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pm_timer_address");
        assertThatThrownBy(() -> comm.initialize(0, CONSOLE, 0, 0x408, -1, 1, 1))
                .hasMessageContaining("num_cpus");
        assertThatThrownBy(() -> comm.initialize(0, CONSOLE, 0, 0x408, 1, 0x1_0000_0000L, 1))
                .hasMessageContaining("tsc_khz");
        assertThatThrownBy(() -> comm.initialize(0, CONSOLE, 0, 0x408, 1, 1, -1))
                .hasMessageContaining("apic_khz");
        assertThatThrownBy(() -> comm.initialize(0, null, 0, 0x408, 1, 1, 1))
                .isInstanceOf(NullPointerException.class);
        assertThat(bytes()).as("nothing written").containsOnly(0);
    }

    @Test
    void stateIsWrittenAtOffset8() {
        comm.setState(CommRegion.STATE_SHUT_DOWN);
        assertThat(page.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8)).isEqualTo(2);
        assertThat(comm.state()).isEqualTo(2);
        assertThat(comm.state()).isEqualTo(CommRegion.STATE_SHUT_DOWN);
        comm.setState(99);
        assertThat(comm.state()).isEqualTo(99);
    }

    @Test
    void sendClearsTheReplyAndPostsTheMessage() {
        initialize();
        page.set(ValueLayout.JAVA_INT, 16, CommRegion.REPLY_REQUEST_APPROVED); // left over from the last exchange
        comm.send(CommRegion.MSG_SHUTDOWN_REQUEST);
        assertThat(comm.reply()).isEqualTo(CommRegion.REPLY_NONE);
        assertThat(comm.message()).isEqualTo(CommRegion.MSG_SHUTDOWN_REQUEST);
        assertThat(page.get(ValueLayout.JAVA_INT, 12)).isEqualTo(1);
        comm.clearMessage();
        assertThat(comm.message()).isEqualTo(CommRegion.MSG_NONE);
    }

    /**
     * A cell thread answers as an inmate does (msg := 0, then reply := code);
     * every exchange must end with the reply to its own message, never with
     * the previous one's (which is what clearing the reply before posting buys).
     */
    @Test
    @Timeout(120)
    void exchangesWithAConcurrentCellPairEveryMessageWithItsReply() throws Exception {
        initialize();
        final int rounds = 20_000;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CommRegion cellView = new CommRegion(page);
        Thread cell = new Thread(() -> {
            try {
                for (int i = 0; i < rounds; i++) {
                    int msg;
                    while ((msg = cellView.message()) == CommRegion.MSG_NONE) {
                        Thread.onSpinWait();
                    }
                    cellView.clearMessage();
                    // release the cleared message before the reply, as the inmate's barrier does
                    REPLY.setVolatile(page, (long) CommRegion.OFFSET_REPLY_FROM_CELL,
                            msg == CommRegion.MSG_SHUTDOWN_REQUEST
                                    ? CommRegion.REPLY_REQUEST_APPROVED : CommRegion.REPLY_RECEIVED);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "cell");
        cell.start();
        for (int i = 0; i < rounds; i++) {
            int msg = i % 2 == 0 ? CommRegion.MSG_SHUTDOWN_REQUEST : CommRegion.MSG_RECONFIG_COMPLETED;
            comm.send(msg);
            int reply;
            while ((reply = comm.reply()) == CommRegion.REPLY_NONE) {
                Thread.onSpinWait();
            }
            assertThat(reply).as("round %d", i).isEqualTo(msg == CommRegion.MSG_SHUTDOWN_REQUEST
                    ? CommRegion.REPLY_REQUEST_APPROVED : CommRegion.REPLY_RECEIVED);
        }
        cell.join(60_000);
        assertThat(failure.get()).isNull();
        assertThat(cell.isAlive()).isFalse();
    }

    @Test
    void needsAWholeAlignedPage() {
        try (Arena a = Arena.ofConfined()) {
            assertThatThrownBy(() -> new CommRegion(a.allocate(4095, 8)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4095");
        }
        assertThatThrownBy(() -> new CommRegion(MemorySegment.ofArray(new byte[4096])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
        CommRegion big = new CommRegion(arena.allocate(8192, 4096));
        assertThat(big.segment().byteSize()).isEqualTo(4096);
    }
}
