package io.jailhouse.config.host;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The kernel's command line ({@code /proc/cmdline}) and the parameters config creation uses. */
public record KernelCommandLine(String source, List<String> parameters) {
    public static final String PATH = "/proc/cmdline";

    public KernelCommandLine {
        parameters = List.copyOf(parameters);
    }

    public static KernelCommandLine read(HostRoot root) throws HostDataException {
        return parse(root.readText(PATH), root.describe(PATH));
    }

    /** Splits at blanks outside double quotes, as the kernel does. */
    public static KernelCommandLine parse(String text, String source) throws HostDataException {
        List<String> params = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (Character.isWhitespace(c) && !quoted) {
                if (!cur.isEmpty()) {
                    params.add(cur.toString());
                    cur.setLength(0);
                }
            } else {
                cur.append(c);
            }
        }
        if (quoted) {
            throw new HostDataException(source, "unbalanced double quote");
        }
        if (!cur.isEmpty()) {
            params.add(cur.toString());
        }
        // Everything after "--" is for init, not the kernel.
        int dashes = params.indexOf("--");
        return new KernelCommandLine(source, dashes < 0 ? params : params.subList(0, dashes));
    }

    /**
     * Every {@code SIZE$START} item of every {@code memmap=} parameter, in
     * order; the other memmap forms ({@code @}, {@code #}, {@code !},
     * {@code exactmap}) are not reservations and are skipped.
     *
     * @throws HostDataException naming a {@code $} item whose numbers do not parse
     */
    public List<MemmapReservation> memmapReservations() throws HostDataException {
        List<MemmapReservation> out = new ArrayList<>();
        for (String p : parameters) {
            if (!p.startsWith("memmap=")) {
                continue;
            }
            for (String item : p.substring("memmap=".length()).split(",")) {
                int dollar = item.indexOf('$');
                if (dollar < 0) {
                    continue;
                }
                String where = source + ": memmap=" + item;
                long size = memparse(item.substring(0, dollar), where);
                long start = memparse(item.substring(dollar + 1), where);
                if (size == 0) {
                    throw new HostDataException(where, "reserves 0 bytes");
                }
                out.add(new MemmapReservation(start, size));
            }
        }
        return out;
    }

    /**
     * A number as the kernel's {@code memparse} reads it: C base prefixes
     * ({@code 0x} hex, leading {@code 0} octal) and an optional K/M/G/T/P/E
     * suffix.
     */
    static long memparse(String text, String where) throws HostDataException {
        String s = text.trim();
        long shift = 0;
        if (!s.isEmpty()) {
            char last = Character.toUpperCase(s.charAt(s.length() - 1));
            int idx = "KMGTPE".indexOf(last);
            boolean hexDigit = s.toLowerCase(Locale.ROOT).startsWith("0x") && "ABCDEF".indexOf(last) >= 0;
            if (idx >= 0 && !hexDigit) {
                shift = 10L * (idx + 1);
                s = s.substring(0, s.length() - 1);
            }
        }
        long value;
        try {
            String lower = s.toLowerCase(Locale.ROOT);
            if (lower.startsWith("0x")) {
                value = Long.parseUnsignedLong(lower.substring(2), 16);
            } else if (lower.length() > 1 && lower.startsWith("0")) {
                value = Long.parseUnsignedLong(lower.substring(1), 8);
            } else {
                value = Long.parseUnsignedLong(lower);
            }
        } catch (NumberFormatException e) {
            throw new HostDataException(where, "'" + text + "' is not a size or address (like 82M or 0x3a000000)");
        }
        if (shift > 0 && Long.numberOfLeadingZeros(value) < shift) {
            throw new HostDataException(where, "'" + text + "' does not fit 64 bits");
        }
        return value << shift;
    }
}
