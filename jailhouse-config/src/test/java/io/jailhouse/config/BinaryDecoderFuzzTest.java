package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.statistics.Statistics;

/**
 * Feeds mutated {@code .cell} files to the decoder: every input either
 * decodes into a config that re-encodes to exactly the bytes it was read
 * from (the file, or its start when bytes trail the configuration), or is
 * refused with a {@link ConfigFormatException}; nothing else escapes, and no
 * input costs more memory than a small multiple of its own size.
 */
@net.jqwik.api.Tag("fuzz")
class BinaryDecoderFuzzTest {
    private static final List<byte[]> SEEDS = List.of("tiny-demo", "apic-demo", "smp-demo", "pci-demo",
            "ivshmem-demo", "qemu-vm").stream().map(BundledConfigs::cellBytes).toList();
    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** One edit of a seed file. */
    record Mutation(int kind, int position, long value) {
        byte[] apply(byte[] in) {
            if (in.length == 0) {
                return in;
            }
            int pos = Math.floorMod(position, in.length);
            return switch (kind) {
                case 0 -> { // flip one byte
                    byte[] b = in.clone();
                    b[pos] ^= (byte) (value | 1);
                    yield b;
                }
                case 1 -> { // overwrite a 32-bit field (counts, sizes) with an edge value
                    byte[] b = in.clone();
                    int at = Math.min(pos & ~3, b.length - 4);
                    if (at >= 0) {
                        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, (int) value);
                    }
                    yield b;
                }
                case 2 -> Arrays.copyOf(in, pos); // truncate
                case 3 -> Arrays.copyOf(in, in.length + (int) (value & 0x3f)); // append zeros
                default -> { // overwrite a 64-bit field
                    byte[] b = in.clone();
                    int at = Math.min(pos & ~7, b.length - 8);
                    if (at >= 0) {
                        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, value);
                    }
                    yield b;
                }
            };
        }
    }

    @Provide
    Arbitrary<byte[]> mutatedCellFiles() {
        Arbitrary<Long> values = Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.of(0L, 1L, -1L,
                0x7fffffffL, 0x80000000L, 0xffffffffL, 4096L, 4097L, 14L, 13L, 0x100000L));
        Arbitrary<Mutation> mutation = Combinators.combine(Arbitraries.integers().between(0, 4),
                Arbitraries.integers().between(0, 4096), values).as(Mutation::new);
        return Combinators.combine(Arbitraries.of(SEEDS), mutation.list().ofMinSize(1).ofMaxSize(4))
                .as((seed, edits) -> {
                    byte[] b = seed;
                    for (Mutation m : edits) {
                        b = m.apply(b);
                    }
                    return b;
                });
    }

    @Property(shrinking = ShrinkingMode.FULL)
    void decoderRefusesOrRoundTripsWithBoundedMemory(@ForAll("mutatedCellFiles") byte[] file) {
        JailhouseConfig decoded;
        try {
            decoded = BinaryConfigCodec.decode(file, "fuzz.cell");
        } catch (ConfigFormatException e) {
            assertThat(e.getMessage()).startsWith("fuzz.cell: ").doesNotContain("\n");
            decoded = null;
        }
        if (decoded != null) {
            // Bytes after the configuration are ignored (as upstream): what was read re-encodes exactly.
            byte[] encoded = BinaryConfigCodec.encode(decoded);
            assertThat(encoded.length).isLessThanOrEqualTo(file.length);
            assertThat(encoded).isEqualTo(java.util.Arrays.copyOf(file, encoded.length));
            assertThat(BinaryConfigCodec.trailingBytes(file, decoded)).isEqualTo(file.length - encoded.length);
        }
        Statistics.collect(decoded != null ? "decoded" : "refused");
        // A fuzzer that only ever hits one path proves little: demand both.
        Statistics.coverage(c -> {
            c.check("decoded").percentage(p -> p > 5.0);
            c.check("refused").percentage(p -> p > 20.0);
        });
        // Measured on a second decode, so that class loading on first use is not counted.
        long before = THREADS.getCurrentThreadAllocatedBytes();
        try {
            BinaryConfigCodec.decode(file, "fuzz.cell");
        } catch (ConfigFormatException expected) {
            // same outcome as above
        }
        assertAllocationBounded(before, file);
    }

    private static void assertAllocationBounded(long before, byte[] file) {
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        // Records, lists and a bitmap per entry: far below this; a count-driven allocation would exceed it.
        assertThat(allocated).as("bytes allocated decoding a %d-byte file", file.length)
                .isLessThan(256L * 1024 + 200L * file.length);
    }
}
