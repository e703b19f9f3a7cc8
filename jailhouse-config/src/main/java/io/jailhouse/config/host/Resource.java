package io.jailhouse.config.host;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * One entry of {@code /proc/iomem} or {@code /proc/ioports}: the inclusive
 * range {@code [start, end]} a driver, bus or firmware claimed, with the
 * entries nested inside it.
 *
 * @param depth 0 for top-level entries (the file indents two spaces per level)
 */
public record Resource(long start, long end, String name, int depth, List<Resource> children) {
    public Resource {
        children = List.copyOf(children);
    }

    public long size() {
        return end - start + 1;
    }

    public boolean isLeaf() {
        return children.isEmpty();
    }

    public boolean contains(long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) <= 0;
    }

    public boolean overlaps(long otherStart, long otherEnd) {
        return Long.compareUnsigned(start, otherEnd) <= 0 && Long.compareUnsigned(otherStart, end) <= 0;
    }

    /** This entry and everything below it, depth first, that matches. */
    public List<Resource> findAll(Predicate<Resource> p) {
        List<Resource> out = new ArrayList<>();
        collect(p, out);
        return out;
    }

    void collect(Predicate<Resource> p, List<Resource> out) {
        if (p.test(this)) {
            out.add(this);
        }
        for (Resource c : children) {
            c.collect(p, out);
        }
    }

    /** {@code 0000fed00000-0000fed003ff HPET 0} style, for messages. */
    public String describe() {
        return String.format("0x%x-0x%x %s", start, end, name);
    }
}
