package io.jailhouse.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * The inputs a fuzz target starts from, kept in the repository under the
 * module's {@code src/test/resources/fuzz/TARGET/} (one input per file), and
 * the byte-level mutations of them the targets feed to the code under test.
 * An input that ever made a target fail is added there, so that every later
 * run tries it first.
 *
 * <p>How many inputs a run tries is jqwik's {@code jqwik.tries.default}:
 * small in the test suite, large in {@code bin/fuzz} campaigns.
 */
public final class FuzzCorpus {
    private FuzzCorpus() {
    }

    /** The corpus of {@code target}, sorted by file name; a target without inputs is a mistake. */
    public static List<byte[]> of(String target) {
        Path dir = Path.of("src", "test", "resources", "fuzz", target);
        try (Stream<Path> files = Files.list(dir)) {
            List<byte[]> inputs = new ArrayList<>();
            for (Path f : files.sorted().toList()) {
                inputs.add(Files.readAllBytes(f));
            }
            if (inputs.isEmpty()) {
                throw new IllegalStateException("fuzz corpus " + dir + " is empty");
            }
            return List.copyOf(inputs);
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz corpus " + dir, e);
        }
    }

    /** Values that tend to find boundary mistakes in counts, sizes and addresses. */
    public static final long[] EDGES = {0, 1, 2, 3, 4, 7, 8, 0xf, 0x10, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000,
        0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffffL, 0x80000000L, 0xffffffffL, 0x100000000L, Long.MAX_VALUE,
        Long.MIN_VALUE, -1, -2};

    /** One edit of an input. */
    private record Edit(int kind, int position, long value, byte[] other) {
        byte[] apply(byte[] in) {
            int n = in.length;
            int pos = n == 0 ? 0 : Math.floorMod(position, n);
            return switch (kind) {
                case 0 -> { // flip bits of one byte
                    byte[] b = in.clone();
                    if (n > 0) {
                        b[pos] ^= (byte) (value | 1);
                    }
                    yield b;
                }
                case 1 -> overwrite(in, pos, value, 4);
                case 2 -> overwrite(in, pos, value, 8);
                case 3 -> Arrays.copyOf(in, pos); // truncate
                case 4 -> { // insert random bytes
                    int len = (int) (value & 0x1f) + 1;
                    byte[] b = new byte[n + len];
                    System.arraycopy(in, 0, b, 0, pos);
                    for (int i = 0; i < len; i++) {
                        b[pos + i] = (byte) (value >>> (i % 8 * 8));
                    }
                    System.arraycopy(in, pos, b, pos + len, n - pos);
                    yield b;
                }
                case 5 -> { // delete a run
                    int len = Math.min(n - pos, (int) (value & 0x3f) + 1);
                    byte[] b = new byte[n - len];
                    System.arraycopy(in, 0, b, 0, pos);
                    System.arraycopy(in, pos + len, b, pos, n - pos - len);
                    yield b;
                }
                case 6 -> { // splice: this input's head, another's tail
                    int from = other.length == 0 ? 0 : Math.floorMod(position * 31 + (int) value, other.length);
                    byte[] b = Arrays.copyOf(in, pos + other.length - from);
                    System.arraycopy(other, from, b, pos, other.length - from);
                    yield b;
                }
                default -> { // an ASCII digit run replaced by an edge value (text formats)
                    byte[] digits = Long.toString(value).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                    int at = pos;
                    while (at < n && (in[at] < '0' || in[at] > '9')) {
                        at++;
                    }
                    int end = at;
                    while (end < n && in[end] >= '0' && in[end] <= '9') {
                        end++;
                    }
                    byte[] b = new byte[n - (end - at) + digits.length];
                    System.arraycopy(in, 0, b, 0, at);
                    System.arraycopy(digits, 0, b, at, digits.length);
                    System.arraycopy(in, end, b, at + digits.length, n - end);
                    yield b;
                }
            };
        }

        private static byte[] overwrite(byte[] in, int pos, long value, int width) {
            byte[] b = in.clone();
            int at = Math.min(pos & -width, b.length - width);
            if (at >= 0) {
                ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                if (width == 4) {
                    buf.putInt(at, (int) value);
                } else {
                    buf.putLong(at, value);
                }
            }
            return b;
        }
    }

    /**
     * Corpus inputs as they are, and with one to {@code maxEdits} edits:
     * bit flips, 32- and 64-bit overwrites with edge values, truncation,
     * insertion, deletion, splices of two inputs, numbers in text replaced.
     */
    public static Arbitrary<byte[]> mutations(List<byte[]> corpus, int maxEdits) {
        Arbitrary<Long> values = Arbitraries.oneOf(Arbitraries.longs(),
                Arbitraries.of(Arrays.stream(EDGES).boxed().toList()));
        Arbitrary<Edit> edit = Combinators.combine(Arbitraries.integers().between(0, 7),
                Arbitraries.integers().between(0, Integer.MAX_VALUE), values, Arbitraries.of(corpus))
                .as(Edit::new);
        Arbitrary<byte[]> edited = Combinators.combine(Arbitraries.of(corpus), edit.list().ofMinSize(1)
                .ofMaxSize(maxEdits)).as((seed, edits) -> {
                    byte[] b = seed;
                    for (Edit e : edits) {
                        b = e.apply(b);
                    }
                    return b;
                });
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.of(corpus)),
                net.jqwik.api.Tuple.of(9, edited));
    }
}
