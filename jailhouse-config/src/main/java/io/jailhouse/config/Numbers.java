package io.jailhouse.config;

import java.util.Locale;

/**
 * Number syntax of the human config forms: decimal, {@code 0x} hex, and sizes
 * with a binary unit suffix ({@code 4K}, {@code 1M}, {@code 2G}; also
 * {@code KiB}/{@code MiB}/{@code GiB}).
 */
public final class Numbers {
    private Numbers() {
    }

    /**
     * Parses an unsigned 64-bit value; negative values and overflow are errors.
     *
     * @throws IllegalArgumentException saying what is wrong with the text
     */
    public static long parseUnsigned(String text) {
        String s = text.trim().replace("_", "");
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty number");
        }
        String lower = s.toLowerCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][] {{"kib", "10"}, {"mib", "20"}, {"gib", "30"}, {"tib", "40"},
                {"k", "10"}, {"m", "20"}, {"g", "30"}, {"t", "40"}}) {
            if (lower.endsWith(u[0]) && !lower.startsWith("0x")) {
                unit = 1L << Integer.parseInt(u[1]);
                lower = lower.substring(0, lower.length() - u[0].length()).trim();
                break;
            }
        }
        long value;
        try {
            if (lower.startsWith("0x")) {
                value = Long.parseUnsignedLong(lower.substring(2), 16);
            } else if (lower.startsWith("0b")) {
                value = Long.parseUnsignedLong(lower.substring(2), 2);
            } else {
                value = Long.parseUnsignedLong(lower);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a number (use decimal, 0x hex, or a size like 1M)");
        }
        if (unit != 1) {
            if (Long.compareUnsigned(value, Long.divideUnsigned(-1L, unit)) > 0) {
                throw new IllegalArgumentException("'" + text + "' does not fit in 64 bits");
            }
            value *= unit;
        }
        return value;
    }

    public static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** A size in the shortest exact unit form: {@code 1M}, {@code 4K}, or hex. */
    public static String size(long v) {
        if (v != 0) {
            if ((v & ((1L << 30) - 1)) == 0 && v > 0) {
                return (v >>> 30) + "G";
            }
            if ((v & ((1L << 20) - 1)) == 0 && v > 0) {
                return (v >>> 20) + "M";
            }
            if ((v & ((1L << 10) - 1)) == 0 && v > 0) {
                return (v >>> 10) + "K";
            }
        }
        return hex(v);
    }
}
