package io.jailhouse.cli;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigCheck;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.PioRange;
import io.jailhouse.config.SystemConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A picture of a partitioning, as SVG: physical memory as a bar on a
 * compressed axis (each stretch between two region boundaries as wide as
 * its size's logarithm, so a 4 KiB page and 1 GiB of RAM both show), one
 * lane each for the hypervisor's memory, the root cell and every cell, with
 * shared regions hatched; the CPUs coloured by owner; each cell's ports,
 * PCI devices and comm page; the ivshmem links and their peers; and what
 * {@code config check} found, numbered, with the same number on the region
 * it names. Everything comes from the configs and the check's report.
 */
final class PartitionMap {
    static final String FINDING_COLOUR = "#d62728";
    private static final String[] COLOURS = {"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
        "#e377c2", "#bcbd22"};
    private static final String ROOT_COLOUR = "#7f7f7f";
    private static final String HYPERVISOR_COLOUR = "#000000";
    private static final int WIDTH = 1200;
    private static final int LEFT = 170;
    private static final int BAR = WIDTH - LEFT - 30;
    private static final int LANE = 26;
    private static final Pattern REGION = Pattern.compile("region (\\d+)");

    /** One finding and the number the picture gives it. */
    record Mark(int number, ConfigCheck.Finding finding) {
    }

    private final ConfigCheck.Report report;
    private final SystemConfig system;
    private final List<CellConfig> cells = new ArrayList<>();
    private final List<Mark> marks = new ArrayList<>();
    private final StringBuilder svg = new StringBuilder();
    private int y;

    private PartitionMap(ConfigCheck.Report report) {
        this.report = report;
        this.system = report.system().config();
        report.cells().forEach(s -> cells.add(s.config()));
        int n = 1;
        for (List<ConfigCheck.Finding> list : report.byCheck().values()) {
            for (ConfigCheck.Finding f : list) {
                marks.add(new Mark(n++, f));
            }
        }
    }

    /** The picture of the report's configs and findings, as a standalone SVG document. */
    static String svg(ConfigCheck.Report report) {
        return new PartitionMap(report).draw();
    }

    /** The same picture in an HTML page, with the findings also as text. */
    static String html(ConfigCheck.Report report) {
        PartitionMap m = new PartitionMap(report);
        String picture = m.draw();
        StringBuilder h = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>")
                .append(xml("Partitioning of " + m.system.rootCell().name())).append("</title>\n<style>body{font-family:"
                        + "sans-serif;margin:16px}li.finding{color:" + FINDING_COLOUR + "}</style></head><body>\n");
        h.append(picture.substring(picture.indexOf("<svg")));
        h.append("\n<h2>Findings</h2>\n");
        if (m.marks.isEmpty()) {
            h.append("<p>No findings.</p>\n");
        } else {
            h.append("<ol>\n");
            for (Mark k : m.marks) {
                h.append("<li class=\"finding\" value=\"").append(k.number()).append("\">").append(xml(k.finding()
                        .check() + ": " + k.finding().render())).append("</li>\n");
            }
            h.append("</ol>\n");
        }
        return h.append("</body></html>\n").toString();
    }

    private String draw() {
        y = 40;
        text(10, 24, "Partitioning of \"" + system.rootCell().name() + "\": " + cells.size() + " cell"
                + (cells.size() == 1 ? "" : "s") + ", " + marks.size() + " finding" + (marks.size() == 1 ? "" : "s"),
                "title");
        memory();
        cpus();
        devices();
        findings();
        String body = svg.toString();
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + WIDTH
                + "\" height=\"" + (y + 20) + "\" viewBox=\"0 0 " + WIDTH + " " + (y + 20) + "\" font-family=\"sans-serif\""
                + " font-size=\"12\">\n<defs><pattern id=\"shared\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\""
                + " patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"white\" fill-opacity=\"0.0\"/>"
                + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"white\" stroke-width=\"3\"/></pattern></defs>\n"
                + "<style>.title{font-size:16px;font-weight:bold}.head{font-size:14px;font-weight:bold}"
                + ".addr{font-size:9px;fill:#444}.mark{font-size:11px;font-weight:bold;fill:" + FINDING_COLOUR + "}</style>\n"
                + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + "</svg>\n";
    }

    // ---- memory

    private void memory() {
        text(10, y, "Physical memory", "head");
        y += 10;
        TreeSet<Long> bounds = new TreeSet<>();
        List<MemoryRegion> hv = List.of(system.hypervisorMemory());
        addBounds(bounds, hv);
        addBounds(bounds, system.rootCell().memoryRegions());
        cells.forEach(c -> addBounds(bounds, c.memoryRegions()));
        if (bounds.size() < 2) {
            text(LEFT, y + 16, "no memory regions", null);
            y += LANE;
            return;
        }
        Map<Long, Double> x = axis(bounds);
        lane("hypervisor", "hypervisor", HYPERVISOR_COLOUR, hv, x, null, -1);
        lane(system.rootCell().name() + " (root)", system.rootCell().name(), ROOT_COLOUR,
                system.rootCell().memoryRegions(), x, report.system().file(), -1);
        for (int i = 0; i < cells.size(); i++) {
            lane(cells.get(i).name(), cells.get(i).name(), colour(i), cells.get(i).memoryRegions(), x,
                    report.cells().get(i).file(), i);
        }
        // the boundaries' addresses under the bar, turned so that neighbours do not overlap
        double lastX = -100;
        for (Map.Entry<Long, Double> b : x.entrySet()) {
            if (b.getValue() - lastX < 11) {
                continue;
            }
            lastX = b.getValue();
            double ax = LEFT + b.getValue();
            svg.append("<text class=\"addr\" transform=\"translate(").append(fmt(ax)).append(',').append(y + 8)
                    .append(") rotate(60)\">").append(hex(b.getKey())).append("</text>\n");
        }
        y += 80;
    }

    private static void addBounds(TreeSet<Long> bounds, List<MemoryRegion> regions) {
        for (MemoryRegion r : regions) {
            if (r.size() > 0 && !r.has(MemoryRegion.COMM_REGION)) {
                bounds.add(r.physStart());
                bounds.add(r.physStart() + r.size());
            }
        }
    }

    /** Where each boundary goes on the bar: each stretch as wide as its size's logarithm, scaled to the bar. */
    private static Map<Long, Double> axis(TreeSet<Long> bounds) {
        List<Long> b = new ArrayList<>(bounds);
        double[] w = new double[b.size() - 1];
        double total = 0;
        for (int i = 0; i < w.length; i++) {
            double size = (double) (b.get(i + 1) - b.get(i));
            w[i] = 1 + Math.log(1 + size / 4096.0) / Math.log(2);
            total += w[i];
        }
        Map<Long, Double> x = new TreeMap<>();
        double at = 0;
        x.put(b.get(0), 0.0);
        for (int i = 0; i < w.length; i++) {
            at += w[i] * BAR / total;
            x.put(b.get(i + 1), at);
        }
        return x;
    }

    /** One lane of the memory bar: {@code label} on the left, {@code cell} in the regions' data (null file: the hypervisor's). */
    private void lane(String label, String cell, String colour, List<MemoryRegion> regions, Map<Long, Double> x,
            String file, int cellIndex) {
        String name = cell;
        text(10, y + 17, cut(label, 24), null);
        svg.append("<rect x=\"").append(LEFT).append("\" y=\"").append(y + 4).append("\" width=\"").append(BAR)
                .append("\" height=\"").append(LANE - 8).append("\" fill=\"#f4f4f4\"/>\n");
        String comm = null;
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            if (r.has(MemoryRegion.COMM_REGION)) {
                comm = "comm page at 0x" + Long.toHexString(r.virtStart());
                continue;
            }
            if (r.size() == 0) {
                continue;
            }
            double x0 = LEFT + x.get(r.physStart());
            double x1 = LEFT + x.get(r.physStart() + r.size());
            List<Mark> here = file == null ? List.of() : marksOn(file, i);
            boolean shared = r.has(MemoryRegion.ROOTSHARED) || (cellIndex >= 0 && sharedWithOthers(r, cellIndex));
            String fill = r.has(MemoryRegion.IO) ? lighter(colour) : colour;
            svg.append("<rect class=\"region").append(here.isEmpty() ? "" : " finding").append("\" data-cell=\"")
                    .append(xml(cell)).append("\" data-region=\"").append(i).append("\" x=\"").append(fmt(x0))
                    .append("\" y=\"").append(y + 4).append("\" width=\"").append(fmt(Math.max(1, x1 - x0)))
                    .append("\" height=\"").append(LANE - 8).append("\" fill=\"").append(fill).append('"');
            if (!here.isEmpty()) {
                svg.append(" stroke=\"").append(FINDING_COLOUR).append("\" stroke-width=\"3\"");
            }
            svg.append("><title>").append(xml(name + ", region " + i + ": " + ConfigCheck.summary(r)))
                    .append("</title></rect>\n");
            if (shared) {
                svg.append("<rect class=\"shared\" x=\"").append(fmt(x0)).append("\" y=\"").append(y + 4)
                        .append("\" width=\"").append(fmt(Math.max(1, x1 - x0))).append("\" height=\"")
                        .append(LANE - 8).append("\" fill=\"url(#shared)\"/>\n");
            }
            if (!here.isEmpty()) { // one label for all of a region's findings, so that none hides another
                text(x0 + 2, y + 2, "[" + String.join(",", here.stream().map(m -> Integer.toString(m.number()))
                        .toList()) + "]", "mark");
            }
        }
        if (comm != null) {
            text(10, y + LANE + 2, comm, "addr");
        }
        y += LANE + (comm != null ? 8 : 0);
    }

    /** Whether another cell maps part of this region too (an ivshmem section or a ROOTSHARED window). */
    private boolean sharedWithOthers(MemoryRegion r, int cellIndex) {
        for (int j = 0; j < cells.size(); j++) {
            if (j == cellIndex) {
                continue;
            }
            for (MemoryRegion o : cells.get(j).memoryRegions()) {
                if (o.size() > 0 && !o.has(MemoryRegion.COMM_REGION) && o.physStart() < r.physStart() + r.size()
                        && r.physStart() < o.physStart() + o.size()) {
                    return true;
                }
            }
        }
        return false;
    }

    private List<Mark> marksOn(String file, int region) {
        List<Mark> out = new ArrayList<>();
        for (Mark m : marks) {
            if (file.equals(m.finding().file()) && m.finding().where() != null) {
                Matcher r = REGION.matcher(m.finding().where());
                if (r.find() && Integer.parseInt(r.group(1)) == region) {
                    out.add(m);
                }
            }
        }
        return out;
    }

    // ---- CPUs

    private void cpus() {
        text(10, y, "CPUs", "head");
        y += 8;
        Map<Integer, List<Integer>> owners = new TreeMap<>(); // CPU -> indexes of the cells (-1: root) that list it
        system.rootCell().cpus().bits().forEach(c -> owners.computeIfAbsent(c, k -> new ArrayList<>()).add(-1));
        for (int i = 0; i < cells.size(); i++) {
            int cell = i;
            cells.get(i).cpus().bits().forEach(c -> owners.computeIfAbsent(c, k -> new ArrayList<>()).add(cell));
        }
        int x = LEFT;
        for (Map.Entry<Integer, List<Integer>> e : owners.entrySet()) {
            List<Integer> cellsOf = e.getValue().stream().filter(i -> i >= 0).toList();
            String owner = cellsOf.isEmpty() ? system.rootCell().name() : cells.get(cellsOf.get(0)).name();
            String fill = cellsOf.isEmpty() ? ROOT_COLOUR : colour(cellsOf.get(0));
            boolean conflict = cellsOf.size() > 1;
            svg.append("<rect class=\"cpu").append(conflict ? " finding" : "").append("\" data-cpu=\"").append(e.getKey())
                    .append("\" data-owner=\"").append(xml(owner)).append("\" x=\"").append(x).append("\" y=\"")
                    .append(y).append("\" width=\"44\" height=\"30\" fill=\"").append(fill).append('"')
                    .append(conflict ? " stroke=\"" + FINDING_COLOUR + "\" stroke-width=\"3\"" : "").append("><title>")
                    .append(xml("CPU " + e.getKey() + ": " + owner + (conflict ? " (and " + (cellsOf.size() - 1)
                            + " more cells)" : ""))).append("</title></rect>\n");
            svg.append("<text x=\"").append(x + 22).append("\" y=\"").append(y + 19)
                    .append("\" text-anchor=\"middle\" fill=\"white\">").append(e.getKey()).append("</text>\n");
            x += 50;
        }
        y += 40;
        int lx = LEFT;
        lx = legend(lx, ROOT_COLOUR, system.rootCell().name() + " (root)");
        for (int i = 0; i < cells.size(); i++) {
            lx = legend(lx, colour(i), cells.get(i).name());
        }
        y += 24;
    }

    private int legend(int x, String colour, String name) {
        svg.append("<rect x=\"").append(x).append("\" y=\"").append(y).append("\" width=\"12\" height=\"12\" fill=\"")
                .append(colour).append("\"/>\n");
        String n = cut(name, 24);
        text(x + 16, y + 11, n, null);
        return x + 30 + 7 * n.length();
    }

    // ---- ports, PCI devices, ivshmem links

    private void devices() {
        text(10, y, "Ports, PCI devices and comm pages by cell", "head");
        y += 20;
        List<CellConfig> all = new ArrayList<>();
        all.add(system.rootCell());
        all.addAll(cells);
        for (int i = 0; i < all.size(); i++) {
            CellConfig c = all.get(i);
            StringBuilder ports = new StringBuilder();
            for (PioRange p : c.pioRegions()) {
                ports.append(ports.isEmpty() ? "" : ", ").append(hex(p.base())).append('-')
                        .append(hex(p.base() + p.length() - 1));
            }
            StringBuilder pci = new StringBuilder();
            for (PciDevice d : c.pciDevices()) {
                pci.append(pci.isEmpty() ? "" : ", ").append(PciDevice.formatBdf(d.bdf()))
                        .append(d.isIvshmem() ? " ivshmem" : d.type() == PciDevice.TYPE_BRIDGE ? " bridge" : "");
            }
            legend(10, i == 0 ? ROOT_COLOUR : colour(i - 1), c.name());
            y += 27;
            text(28, y, cut("ports: " + (ports.isEmpty() ? "none" : ports), 170), null);
            y += 15;
            text(28, y, cut("PCI: " + (pci.isEmpty() ? "none" : pci), 180), null);
            y += 20;
        }
        Map<Integer, List<String>> links = new LinkedHashMap<>();
        for (CellConfig c : all) {
            for (PciDevice d : c.pciDevices()) {
                if (d.isIvshmem()) {
                    links.computeIfAbsent(d.bdf(), k -> new ArrayList<>()).add(c.name() + " (peer " + d.shmemDevId()
                            + ")");
                }
            }
        }
        text(10, y, "ivshmem links", "head");
        y += 18;
        if (links.isEmpty()) {
            text(28, y, "none", null);
            y += 18;
        }
        for (Map.Entry<Integer, List<String>> l : links.entrySet()) {
            text(28, y, cut(PciDevice.formatBdf(l.getKey()) + ": " + String.join(" \u2194 ", l.getValue())
                    + (l.getValue().size() < 2 ? " (no peer among these configs)" : ""), 180), "link");
            y += 18;
        }
        y += 10;
    }

    private void findings() {
        text(10, y, marks.isEmpty() ? "No findings." : "Findings of config check", "head");
        y += 18;
        for (Mark m : marks) {
            String full = "[" + m.number() + "] " + m.finding().check() + ": " + m.finding().render();
            // cut to the picture's width; the whole finding is the line's tooltip
            svg.append("<text x=\"28.0\" y=\"").append(y).append("\" class=\"mark\">").append(xml(cut(full, 160)))
                    .append("<title>").append(xml(full)).append("</title></text>\n");
            y += 16;
        }
    }

    // ---- drawing

    private void text(double x, double at, String s, String cls) {
        svg.append("<text x=\"").append(fmt(x)).append("\" y=\"").append(fmt(at)).append('"');
        if (cls != null) {
            svg.append(" class=\"").append(cls).append('"');
        }
        svg.append('>').append(xml(s)).append("</text>\n");
    }

    private static String colour(int cell) {
        return COLOURS[cell % COLOURS.length];
    }

    private static String lighter(String colour) {
        return colour + "99"; // device windows: the cell's colour, translucent
    }

    private static String cut(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "\u2026";
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    /** Text for XML: markup characters escaped, characters XML cannot hold (a config's odd name bytes) as '?'. */
    static String xml(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c < 0x20 && c != '\t' || c == 0xfffe || c == 0xffff
                        || Character.isSurrogate(c) ? '?' : c);
            }
        }
        return b.toString();
    }
}
