package io.jailhouse.protocol;

import io.jailhouse.config.CellConfig;

/**
 * How a command names a cell: by runtime id or by name, parsed as upstream's
 * tool does. A token that is entirely a non-negative number (decimal,
 * {@code 0x} hex or {@code 0} octal, as {@code strtoll(..., 0)}) is an id;
 * anything else is a name, truncated to the 31 characters the name field holds.
 *
 * @param id the id, or -1 when the cell is named
 * @param name the name, or null when the cell is given by id
 */
public record CellRef(int id, String name) {
    public CellRef {
        if ((id < 0) == (name == null)) {
            throw new IllegalArgumentException("a cell reference is an id or a name");
        }
    }

    public static CellRef ofId(int id) {
        return new CellRef(id, null);
    }

    public static CellRef ofName(String name) {
        return new CellRef(-1, name.length() > CellConfig.NAME_MAXLEN ? name.substring(0, CellConfig.NAME_MAXLEN) : name);
    }

    /** Parses a command-line token: id if fully numeric and non-negative, else name. */
    public static CellRef parse(String token) {
        Long n = parseNumber(token);
        if (n != null && n >= 0 && n <= Integer.MAX_VALUE) {
            return ofId((int) (long) n);
        }
        return ofName(token);
    }

    private static Long parseNumber(String s) {
        try {
            if (s.startsWith("0x") || s.startsWith("0X")) {
                return s.length() > 2 ? Long.parseLong(s.substring(2), 16) : null;
            }
            if (s.length() > 1 && s.startsWith("0")) {
                return Long.parseLong(s.substring(1), 8);
            }
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    public boolean byId() {
        return id >= 0;
    }

    @Override
    public String toString() {
        return byId() ? Integer.toString(id) : "\"" + name + "\"";
    }
}
