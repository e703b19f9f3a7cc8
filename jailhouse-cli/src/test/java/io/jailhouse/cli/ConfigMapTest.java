package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * {@code config map}: the SVG's content checked as XML, and the HTML page
 * drawn by a real headless Chromium, whose screenshot must show the cells'
 * colours and the findings' red.
 */
class ConfigMapTest {
    @TempDir
    Path tmp;

    static String cfg(String name) {
        return ConfigCommandsTest.cfg(name);
    }

    /** tiny-demo moved out of the root's memory onto the ivshmem link's pages: two findings on its region 0. */
    Path badCell() throws Exception {
        String yaml = Files.readString(Path.of("..", "configs", "x86", "tiny-demo.yaml"))
                .replace("name: tiny-demo", "name: stray").replace("0x3ee00000", "0x3f000000")
                .replace("size: 1M, flags: [read, write, execute, loadable]",
                        "size: 16M, flags: [read, write, execute, loadable]");
        Path p = tmp.resolve("stray.yaml");
        Files.writeString(p, yaml);
        return p;
    }

    static Document xml(Path file) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(file.toFile());
    }

    static List<Element> rects(Document d, String cls) {
        List<Element> out = new ArrayList<>();
        NodeList all = d.getElementsByTagName("rect");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if ((" " + e.getAttribute("class") + " ").contains(" " + cls + " ")) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void theSvgHasEveryRegionCpuAndLinkAndMarksTheFindingsOnTheirRegion() throws Exception {
        Path svg = tmp.resolve("map.svg");
        CliRun r = CliRun.of(new Main(), "config", "map", cfg("qemu-vm.cell"), cfg("apic-demo.cell"),
                cfg("ivshmem-demo.cell"), badCell().toString(), "-o", svg.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).startsWith("Wrote " + svg + ": 3 cells, ");
        Document d = xml(svg);
        assertThat(d.getDocumentElement().getTagName()).isEqualTo("svg");
        List<Element> regions = rects(d, "region");
        assertThat(regions).extracting(e -> e.getAttribute("data-cell")).contains("hypervisor", "QEMU-VM", "apic-demo",
                "ivshmem-demo", "stray");
        assertThat(regions.stream().filter(e -> e.getAttribute("data-cell").equals("ivshmem-demo")).count())
                .as("ivshmem-demo's regions but its comm page, which has no physical address").isEqualTo(6);
        List<Element> marked = rects(d, "finding");
        assertThat(marked).extracting(e -> e.getAttribute("data-cell") + "/" + e.getAttribute("data-region")
                + e.getAttribute("data-cpu")).contains("stray/0");
        assertThat(rects(d, "cpu")).extracting(e -> e.getAttribute("data-cpu") + "=" + e.getAttribute("data-owner"))
                .containsExactly("0=QEMU-VM", "1=ivshmem-demo", "2=stray", "3=apic-demo");
        assertThat(rects(d, "shared")).as("the ivshmem sections hatched").isNotEmpty();
        String text = Files.readString(svg);
        assertThat(text).contains("01:0e.0: QEMU-VM (peer 0) \u2194 ivshmem-demo (peer 1)", "comm page at 0x100000",
                "is not inside the memory of the root cell", "0xe010-0xe017");

        Path clean = tmp.resolve("clean.svg");
        assertThat(CliRun.of(new Main(), "config", "map", cfg("qemu-vm.cell"), cfg("tiny-demo.cell"), "-o",
                clean.toString()).exit()).isZero();
        assertThat(rects(xml(clean), "finding")).isEmpty();
        assertThat(Files.readString(clean)).contains("No findings.");
    }

    @Test
    void badArgumentsChangeNothing() throws Exception {
        CliRun png = CliRun.of(new Main(), "config", "map", cfg("qemu-vm.cell"), "-o", tmp.resolve("m.png").toString());
        assertThat(png.exit()).isEqualTo(2);
        assertThat(png.err()).contains("the picture is written as .svg or .html");
        Path broken = tmp.resolve("broken.cell");
        Files.write(broken, new byte[] {'J', 'H', 'C', 'E', 'L', 'L'});
        CliRun bad = CliRun.of(new Main(), "config", "map", cfg("qemu-vm.cell"), broken.toString(), "-o",
                tmp.resolve("m.svg").toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains(broken.toString());
        assertThat(tmp.resolve("m.svg")).doesNotExist();
        assertThat(tmp.resolve("m.png")).doesNotExist();
    }

    /** Debian's chromium: installed as the kernel build installs its packages, when root and it is missing. */
    static Path chromium() throws Exception {
        Path c = Path.of("/usr/bin/chromium");
        if (!Files.isExecutable(c) && "root".equals(System.getProperty("user.name"))) {
            Process p = new ProcessBuilder("bash", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                    + "--no-install-recommends chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive "
                    + "apt-get install -y -q --no-install-recommends chromium; }").inheritIO().start();
            if (!p.waitFor(240, TimeUnit.SECONDS)) {
                p.destroyForcibly(); // a slow mirror: skipped below rather than holding the suite up
            }
        }
        if (!Files.isExecutable(c)) {
            System.err.println("CHROMIUM TEST SKIPPED: no /usr/bin/chromium (Debian package chromium) on this host");
        }
        Assumptions.assumeTrue(Files.isExecutable(c), "no /usr/bin/chromium");
        return c;
    }

    @Test
    void aHeadlessChromiumDrawsThePageWithTheCellsColoursAndTheFindingsRed() throws Exception {
        Path chromium = chromium();
        Path html = tmp.resolve("map.html");
        CliRun r = CliRun.of(new Main(), "config", "map", cfg("qemu-vm.cell"), cfg("apic-demo.cell"),
                badCell().toString(), "-o", html.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Path png = tmp.resolve("map.png");
        Process p = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--hide-scrollbars", "--user-data-dir=" + tmp.resolve("profile"), "--window-size=1240,1000",
                "--screenshot=" + png, html.toUri().toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("chromium.log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium ends").isTrue();
        assertThat(png).as(Files.readString(tmp.resolve("chromium.log"))).exists();
        BufferedImage shot = ImageIO.read(png.toFile());
        assertThat(shot.getWidth()).isEqualTo(1240);
        assertThat(count(shot, 0xd62728)).as("the findings' red (strokes, marks, text)").isGreaterThan(500);
        assertThat(count(shot, 0x1f77b4)).as("apic-demo's blue (its region, its CPU)").isGreaterThan(500);
        assertThat(count(shot, 0x2ca02c)).as("stray's green").isGreaterThan(500);
    }

    /** Pixels within a small distance of {@code rgb}, as anti-aliasing leaves edges. */
    static long count(BufferedImage img, int rgb) {
        long n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int c = img.getRGB(x, y);
                if (Math.abs(((c >> 16) & 255) - ((rgb >> 16) & 255)) < 8 && Math.abs(((c >> 8) & 255)
                        - ((rgb >> 8) & 255)) < 8 && Math.abs((c & 255) - (rgb & 255)) < 8) {
                    n++;
                }
            }
        }
        return n;
    }
}
