package io.jailhouse.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * An immutable little-endian bitmap of a fixed byte size, as the CPU set of a
 * cell (bit n = logical CPU n) and an irqchip's pin bitmap are stored. The size
 * is kept so that a file's bytes are reproduced exactly.
 */
public final class Bitmap {
    private final byte[] bytes;

    private Bitmap(byte[] bytes) {
        this.bytes = bytes;
    }

    public static Bitmap ofBytes(byte[] bytes) {
        return new Bitmap(bytes.clone());
    }

    /** A bitmap of {@code sizeBytes} bytes with the given bits set. */
    public static Bitmap of(int sizeBytes, int... bits) {
        byte[] b = new byte[sizeBytes];
        for (int bit : bits) {
            if (bit < 0 || bit >= sizeBytes * 8) {
                throw new IllegalArgumentException(
                        "bit " + bit + " does not fit a bitmap of " + sizeBytes + " bytes");
            }
            b[bit >>> 3] |= (byte) (1 << (bit & 7));
        }
        return new Bitmap(b);
    }

    /** The smallest whole number of 64-bit words that holds the highest bit, as C configs declare {@code __u64 cpus[N]}. */
    public static Bitmap ofWords(int... bits) {
        int highest = IntStream.of(bits).max().orElse(0);
        return of(((highest / 64) + 1) * 8, bits);
    }

    public int sizeBytes() {
        return bytes.length;
    }

    public byte[] toByteArray() {
        return bytes.clone();
    }

    public boolean isSet(int bit) {
        return bit >= 0 && bit < bytes.length * 8 && (bytes[bit >>> 3] & (1 << (bit & 7))) != 0;
    }

    public IntStream bits() {
        return IntStream.range(0, bytes.length * 8).filter(this::isSet);
    }

    public int count() {
        int n = 0;
        for (byte b : bytes) {
            n += Integer.bitCount(b & 0xff);
        }
        return n;
    }

    public boolean isEmpty() {
        return count() == 0;
    }

    /** The highest set bit, or -1. */
    public int highest() {
        for (int i = bytes.length * 8 - 1; i >= 0; i--) {
            if (isSet(i)) {
                return i;
            }
        }
        return -1;
    }

    public boolean intersects(Bitmap other) {
        int n = Math.min(bytes.length, other.bytes.length);
        for (int i = 0; i < n; i++) {
            if ((bytes[i] & other.bytes[i]) != 0) {
                return true;
            }
        }
        return false;
    }

    /** True if every bit set here is also set in {@code other}. */
    public boolean isSubsetOf(Bitmap other) {
        return bits().allMatch(other::isSet);
    }

    /** Range list as Linux prints CPU lists: {@code 0-1,3}. Empty string when no bit is set. */
    public String toRangeList() {
        List<String> parts = new ArrayList<>();
        int[] set = bits().toArray();
        for (int i = 0; i < set.length; ) {
            int j = i;
            while (j + 1 < set.length && set[j + 1] == set[j] + 1) {
                j++;
            }
            parts.add(i == j ? Integer.toString(set[i]) : set[i] + "-" + set[j]);
            i = j + 1;
        }
        return String.join(",", parts);
    }

    /**
     * Parses a range list such as {@code 1-3,5} into bit numbers.
     *
     * @throws IllegalArgumentException naming the bad element
     */
    public static int[] parseRangeList(String text) {
        List<Integer> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int dash = p.indexOf('-', 1);
            try {
                if (dash < 0) {
                    out.add(parseBit(p));
                } else {
                    int from = parseBit(p.substring(0, dash).trim());
                    int to = parseBit(p.substring(dash + 1).trim());
                    if (to < from) {
                        throw new IllegalArgumentException("range '" + p + "' runs backwards");
                    }
                    if (to - from > 65536) {
                        throw new IllegalArgumentException("range '" + p + "' is too large");
                    }
                    for (int b = from; b <= to; b++) {
                        out.add(b);
                    }
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + p + "' is not a number or a range like 1-3");
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int parseBit(String s) {
        int v = s.startsWith("0x") || s.startsWith("0X") ? Integer.parseInt(s.substring(2), 16) : Integer.parseInt(s);
        if (v < 0 || v >= 4096 * 8) {
            throw new IllegalArgumentException("bit number " + s + " is out of range 0.." + (4096 * 8 - 1));
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Bitmap b && Arrays.equals(bytes, b.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "[" + toRangeList() + "]/" + bytes.length + "B";
    }
}
