package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Fuzz target: the framing of control and cell channels. A peer sends any
 * packet: any first byte, any body, any number of descriptors, a memfd of
 * any content and announced size (sparse, up to a terabyte), a pipe where a
 * memfd belongs. The receiver gets the message exactly, or a refusal
 * (EMSGSIZE, EPROTO) in bounded time, and in either case the next message
 * arrives whole and nothing that came with a packet stays open.
 */
@Tag("fuzz")
class PacketFramingFuzzTest {
    private static final List<byte[]> CORPUS = FuzzCorpus.of("packets");
    private static final int MAX_BYTES = 64 * 1024;
    private static final int MAX_FDS = 4;

    /** What the peer sends: the packet's bytes, and what comes with it. */
    record Packet(byte[] bytes, int kind, long announced, int extraFds) {
    }

    private UnixSocket[] pair;
    private PacketChannel receiver;
    private long descriptorsBefore;

    @BeforeProperty
    void setUp() throws Exception {
        pair = UnixSocket.pair();
        receiver = new PacketChannel(pair[1], MAX_BYTES, MAX_FDS);
        descriptorsBefore = OpenDescriptors.count();
    }

    @AfterProperty
    void tearDown() throws Exception {
        assertThat(OpenDescriptors.count()).as("descriptors open after the run").isEqualTo(descriptorsBefore);
        pair[0].close();
        pair[1].close();
    }

    @Provide
    Arbitrary<Packet> packets() {
        Arbitrary<Long> announced = Arbitraries.oneOf(Arbitraries.longs().between(0, 1L << 40),
                Arbitraries.of(0L, 1L, (long) MAX_BYTES, MAX_BYTES + 1L, (long) PacketChannel.INLINE_BYTES));
        return Combinators.combine(FuzzCorpus.mutations(CORPUS, 3), Arbitraries.integers().between(0, 5), announced,
                Arbitraries.integers().between(0, MAX_FDS + 2)).as(Packet::new);
    }

    @Property(edgeCases = net.jqwik.api.EdgeCasesMode.NONE) // edge values are in the inputs; generated ones grow with the tries
    void aPacketIsItsMessageOrARefusalAndTheNextMessageArrivesWhole(@ForAll("packets") Packet p) throws Exception {
        byte[] expected = send(p);
        try {
            PacketChannel.Packet got = receiver.receive();
            assertThat(got).isNotNull();
            got.closeFds();
            if (expected != null) {
                assertThat(got.body()).isEqualTo(expected);
            }
            net.jqwik.api.statistics.Statistics.collect("delivered");
        } catch (NativeException e) {
            assertThat(e.errno()).as(e.getMessage()).isIn(Errno.EMSGSIZE, Errno.EPROTO);
            net.jqwik.api.statistics.Statistics.collect("refused");
        }
        net.jqwik.api.statistics.Statistics.coverage(c -> {
            c.check("delivered").percentage(x -> x > 10.0);
            c.check("refused").percentage(x -> x > 10.0);
        });
        new PacketChannel(pair[0], MAX_BYTES, MAX_FDS).send("{\"next\":1}".getBytes());
        PacketChannel.Packet next = receiver.receive();
        assertThat(new String(next.body())).isEqualTo("{\"next\":1}");
    }

    /** Sends {@code p}; the body the receiver must then get exactly, or null if a refusal is allowed. */
    private byte[] send(Packet p) throws Exception {
        int[] extra = new int[p.extraFds()];
        try {
            for (int i = 0; i < extra.length; i++) {
                extra[i] = Libc.memfdCreate("fuzz-extra", Libc.MFD_CLOEXEC);
            }
            switch (p.kind()) {
                case 0, 1 -> { // a well-framed message: inline or in a memfd, as a correct sender frames it
                    new PacketChannel(pair[0], Long.MAX_VALUE, UnixSocket.MAX_FDS - 1).send(p.bytes(), extra);
                    return p.bytes().length <= MAX_BYTES && extra.length <= MAX_FDS ? p.bytes() : null;
                }
                case 2 -> { // a memfd framing whose memfd holds the bytes and announces any size
                    int memfd = Libc.memfdCreate("fuzz-message", Libc.MFD_CLOEXEC);
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment buf = a.allocate(Math.max(1, p.bytes().length));
                        MemorySegment.copy(p.bytes(), 0, buf, ValueLayout.JAVA_BYTE, 0, p.bytes().length);
                        Libc.pwrite(memfd, buf.asSlice(0, p.bytes().length), 0);
                        Libc.ftruncate(memfd, p.announced());
                        pair[0].send(new byte[] {1}, concat(memfd, extra));
                    } finally {
                        Libc.close(memfd);
                    }
                    return null;
                }
                case 3 -> { // a pipe where the memfd belongs
                    int[] pipe = Libc.pipe(Libc.O_CLOEXEC);
                    try {
                        pair[0].send(new byte[] {1}, concat(pipe[0], extra));
                    } finally {
                        Libc.close(pipe[0]);
                        Libc.close(pipe[1]);
                    }
                    return null;
                }
                default -> { // raw bytes as the packet, first byte and all
                    byte[] raw = p.bytes().length == 0 ? new byte[] {(byte) p.announced()} : p.bytes();
                    pair[0].send(Arrays.copyOf(raw, Math.min(raw.length, MAX_BYTES)), extra);
                    return null;
                }
            }
        } finally {
            for (int fd : extra) {
                if (fd > 0) {
                    Libc.close(fd);
                }
            }
        }
    }

    private static int[] concat(int first, int[] rest) {
        int[] all = new int[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
