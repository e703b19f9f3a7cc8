package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.ConsoleChunk;
import io.jailhouse.protocol.LoadImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What a guest can make the hypervisor say, with the {@code guest-noise}
 * inmate: hypercall arguments compared in full, unknown hypercalls and
 * debug-console floods reported within their budgets, and another cell's
 * FATAL report still within reach after the 2 KiB hypervisor console has
 * been overwritten many times. Skipped loudly without KVM.
 */
class GuestNoiseKvmTest extends KvmCellTestBase {
    static final Path TESTS = Path.of("..", "inmates", "tests", "x86");

    void start(CellConfig cell, String inmate, String cmdline) throws Exception {
        Path image = TESTS.resolve(inmate + ".bin");
        hv.createCell(cell);
        CellRef ref = CellRef.parse(cell.name());
        hv.loadCell(ref, List.of(new LoadImage(image.toString(), Files.readAllBytes(image), 0xf0000),
                new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
        hv.startCell(ref);
    }

    String cellConsole(String cell) {
        try {
            return hv.cellConsole(CellRef.parse(cell)).read(0, 1 << 20).text();
        } catch (Exception e) {
            return "";
        }
    }

    void await(Supplier<Boolean> condition, String what) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!condition.get()) {
            assertThat(System.nanoTime()).as("waiting for %s; hypervisor console:%n%s", what,
                    hv.console().readHeld(4096).text()).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** What the hypervisor console said from {@code position[0]} on, read as a follower would; {@code position[1]} counts missed bytes. */
    String followedConsole(long[] position, StringBuilder sofar) {
        ConsoleChunk c = hv.console().read(position[0], 1 << 16);
        position[0] = c.next();
        position[1] += c.missed();
        return sofar.append(c.text()).toString();
    }

    private static final Pattern REPORTED = Pattern.compile("CPU \\d+: Unknown hypercall 16962, RIP: 0x[0-9a-f]{16}\n");
    private static final Pattern UNREPORTED = Pattern.compile("CPU \\d+: (\\d+) more unknown hypercalls not reported");

    static int reportedLines(String said) {
        Matcher m = REPORTED.matcher(said);
        int lines = 0;
        while (m.find()) {
            lines++;
        }
        return lines;
    }

    /** Unknown hypercalls the console accounts for: each reported line, and each announced count. */
    static long accounted(String said) {
        long total = reportedLines(said);
        Matcher unreported = UNREPORTED.matcher(said);
        while (unreported.find()) {
            total += Long.parseLong(unreported.group(1));
        }
        return total;
    }

    @Test
    void getInfoComparesTheWhole64BitType() throws Exception {
        CellConfig tiny = ConfigFiles.read(CONFIGS.resolve("tiny-demo.yaml"), CellConfig.class);
        start(tiny, "guest-noise", "info");
        await(() -> cellConsole("tiny-demo").contains("guest-noise: done"), "the inmate to finish");
        String out = cellConsole("tiny-demo");
        // type 4: the number of cells (root and this one)
        assertThat(out.lines().map(String::strip)).contains("info 0x4: 2", "info 0x8000000000000000: -22",
                "info 0xffffffff00000004: -22", "info 0x100000000: -22", "info 0x5: -22");
    }

    @Test
    void floodsStayWithinTheirBudgetsAndAnotherCellsFatalLineStaysWithinReach() throws Exception {
        CellConfig tiny = ConfigFiles.read(CONFIGS.resolve("tiny-demo.yaml"), CellConfig.class);
        start(tiny.withName("failing"), "bad-pio", "port=0x1234");
        await(() -> {
            try {
                return hv.cell(CellRef.parse("failing")).state() == CellState.FAILED;
            } catch (Exception e) {
                return false;
            }
        }, "bad-pio to fail");
        String fatal = "FATAL: Invalid PIO write, port: 1234 size: 1";
        assertThat(hv.console().readHeld(4096).text()).contains(fatal);
        hv.destroyCell(CellRef.parse("failing"));

        long[] position = {hv.console().tail(), 0};
        StringBuilder followed = new StringBuilder();
        CellConfig a = ConfigFiles.read(CONFIGS.resolve("apic-demo.yaml"), CellConfig.class);
        CellConfig apic = a.withFlags(a.flags() | CellConfig.PASSIVE_COMMREG); // the inmate answers no message
        int hypercalls = 3000;
        // its own lines go to its UART; the noise to the hypervisor console
        start(apic.withName("noisy"), "guest-noise", "hypercalls=" + hypercalls);
        await(() -> cellConsole("noisy").contains("guest-noise: done"), "the inmate to finish");
        // the count of calls beyond the budget is announced once a second: one announcement may come while
        // the calls go on and the rest with the next, so wait until the lines and counts add up
        await(() -> accounted(followedConsole(position, followed)) >= hypercalls, "every unknown hypercall "
                + "reported or counted");
        String said = followed.toString();
        assertThat(position[1]).as("bytes the follower missed").isZero();
        int lines = reportedLines(said);
        // a burst of 10, then one a second for as long as the calls took
        assertThat(lines).isBetween(10, 10 + 180);
        assertThat(lines).isLessThan(hypercalls / 10);
        assertThat(said).contains("more unknown hypercalls not reported");
        assertThat(accounted(said)).as("no hypercall reported or counted twice").isEqualTo(hypercalls);
        hv.destroyCell(CellRef.parse("noisy"));

        int putc = 60_000; // more than the debug console's burst of 16 KiB
        followed.setLength(0);
        long began = System.nanoTime();
        start(apic.withName("noisy"), "guest-noise", "putc=" + putc);
        await(() -> cellConsole("noisy").contains("guest-noise: done"), "the inmate to finish");
        double seconds = (System.nanoTime() - began) / 1e9;
        long[] leftOut = {0};
        Pattern left = Pattern.compile("(\\d+) bytes of debug-console output left out");
        // the burst overflows the 2 KiB log at once (missed); then the follower keeps up
        await(() -> {
            Matcher l = left.matcher(followedConsole(position, followed));
            long sum = 0;
            while (l.find()) {
                sum += Long.parseLong(l.group(1));
            }
            leftOut[0] = sum;
            long passed = followed.chars().filter(c -> c == '~').count();
            return sum + passed + position[1] >= putc - putc / 64;
        }, "every debug-console byte passed on or counted");
        long passed = followed.chars().filter(c -> c == '~').count();
        // passed on: the burst of 16 KiB and 11520 bytes a second while the inmate wrote (and a second of slack)
        assertThat(passed + position[1]).isBetween(16_000L, 16_384L + (long) (11_520 * (seconds + 1)));
        assertThat(leftOut[0]).as("left out").isPositive();
        assertThat(leftOut[0] + passed + position[1]).as("no byte counted twice").isLessThanOrEqualTo(putc + 512L);

        // the log has been overwritten many times since, yet the FATAL line comes back with its cell
        ConsoleChunk held = hv.console().readHeld(4096);
        assertThat(held.text()).doesNotContain(fatal);
        assertThat(held.keptText()).contains(fatal + " (cell \"failing\")\n");
        // a guest's own "FATAL:" bytes are never taken for the hypervisor's
        assertThat(held.keptText()).doesNotContain("~");
    }
}
