package io.jailhouse.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The names of the bits of one flags field (memory flags, cell flags, ...),
 * in the spelling the YAML form uses: upstream's macro suffix, lower case,
 * with dashes ({@code JAILHOUSE_MEM_COMM_REGION} is {@code comm-region}).
 * Bits without a name are written as a hex number so nothing is lost.
 */
public final class FlagNames {
    private final String field;
    private final Map<String, Long> byName = new LinkedHashMap<>();

    private FlagNames(String field) {
        this.field = field;
    }

    public static FlagNames of(String field, Object... nameValuePairs) {
        FlagNames f = new FlagNames(field);
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            f.byName.put((String) nameValuePairs[i], ((Number) nameValuePairs[i + 1]).longValue());
        }
        return f;
    }

    /** The names of the set bits, then any unnamed remainder as hex. */
    public List<String> names(long flags) {
        List<String> out = new ArrayList<>();
        long rest = flags;
        for (Map.Entry<String, Long> e : byName.entrySet()) {
            long v = e.getValue();
            if (v != 0 && (flags & v) == v && (rest & v) != 0) {
                out.add(e.getKey());
                rest &= ~v;
            }
        }
        if (rest != 0) {
            out.add("0x" + Long.toHexString(rest));
        }
        return out;
    }

    /** Upper-case C-style rendering for reports, e.g. {@code READ|WRITE|COMM_REGION}. */
    public String describe(long flags) {
        List<String> n = names(flags);
        if (n.isEmpty()) {
            return "0";
        }
        List<String> up = new ArrayList<>();
        for (String s : n) {
            up.add(s.startsWith("0x") ? s : s.toUpperCase(Locale.ROOT).replace('-', '_'));
        }
        return String.join("|", up);
    }

    /**
     * The value of one flag name (or a number).
     *
     * @throws IllegalArgumentException listing the names that exist
     */
    public long valueOf(String name) {
        String key = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        Long v = byName.get(key);
        if (v != null) {
            return v;
        }
        try {
            return Numbers.parseUnsigned(key);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown " + field + " flag '" + name + "' (known: "
                    + String.join(", ", byName.keySet()) + ")");
        }
    }

    public Iterable<String> knownNames() {
        return byName.keySet();
    }
}
