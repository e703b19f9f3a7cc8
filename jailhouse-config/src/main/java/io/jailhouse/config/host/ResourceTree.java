package io.jailhouse.config.host;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@code /proc/iomem} or {@code /proc/ioports} as a tree. Each line is
 * {@code START-END : NAME} in hex, indented two spaces per nesting level.
 */
public record ResourceTree(String source, List<Resource> top) {
    public ResourceTree {
        top = List.copyOf(top);
    }

    public static ResourceTree read(HostRoot root, String hostPath) throws HostDataException {
        return parse(root.readText(hostPath), root.describe(hostPath));
    }

    /**
     * @param source the file name for error messages
     * @throws HostDataException naming the line that is not an entry or is nested wrongly
     */
    public static ResourceTree parse(String text, String source) throws HostDataException {
        List<Line> lines = new ArrayList<>();
        String[] raw = text.split("\n", -1);
        int previousDepth = -1;
        for (int i = 0; i < raw.length; i++) {
            String line = raw[i];
            if (line.isBlank()) {
                continue;
            }
            Line l = parseLine(line, source, i + 1);
            if (l.depth > previousDepth + 1) {
                throw new HostDataException(source + " line " + l.number, previousDepth < 0
                        ? "the first entry is indented"
                        : "nested " + (l.depth - previousDepth) + " levels below the entry before it");
            }
            previousDepth = l.depth;
            lines.add(l);
        }
        int[] next = {0};
        List<Resource> top = build(lines, next, 0);
        return new ResourceTree(source, top);
    }

    private record Line(int number, int depth, long start, long end, String name) {
    }

    private static Line parseLine(String line, String source, int number) throws HostDataException {
        String where = source + " line " + number;
        int indent = 0;
        while (indent < line.length() && line.charAt(indent) == ' ') {
            indent++;
        }
        if (indent % 2 != 0) {
            throw new HostDataException(where, "indented by " + indent + " spaces; entries nest by two");
        }
        int sep = line.indexOf(" : ", indent);
        int dash = line.indexOf('-', indent);
        if (sep < 0 || dash < 0 || dash > sep) {
            throw new HostDataException(where, "'" + line.strip() + "' is not 'START-END : NAME'");
        }
        long start;
        long end;
        try {
            start = Long.parseUnsignedLong(line.substring(indent, dash).trim(), 16);
            end = Long.parseUnsignedLong(line.substring(dash + 1, sep).trim(), 16);
        } catch (NumberFormatException e) {
            throw new HostDataException(where, "'" + line.strip() + "' does not start with a hex range START-END");
        }
        if (Long.compareUnsigned(end, start) < 0) {
            throw new HostDataException(where, String.format("range %x-%x ends before it starts", start, end));
        }
        return new Line(number, indent / 2, start, end, line.substring(sep + 3).trim());
    }

    private static List<Resource> build(List<Line> lines, int[] next, int depth) {
        List<Resource> out = new ArrayList<>();
        while (next[0] < lines.size()) {
            Line l = lines.get(next[0]);
            if (l.depth < depth) {
                break;
            }
            // parse() allows at most one level deeper than the line before, so l.depth == depth here.
            next[0]++;
            List<Resource> children = build(lines, next, depth + 1);
            out.add(new Resource(l.start, l.end, l.name, depth, children));
        }
        return out;
    }

    /** Every entry at any depth that matches, in file order. */
    public List<Resource> findAll(Predicate<Resource> p) {
        List<Resource> out = new ArrayList<>();
        for (Resource r : top) {
            r.collect(p, out);
        }
        return out;
    }

    /** Entries without children, in file order. */
    public List<Resource> leaves() {
        return findAll(Resource::isLeaf);
    }

    /**
     * Whether the file shows real addresses. Linux prints every range as zero to
     * readers without CAP_SYS_ADMIN.
     */
    public boolean showsAddresses() {
        return !findAll(r -> r.start() != 0 || r.end() != 0).isEmpty();
    }
}
