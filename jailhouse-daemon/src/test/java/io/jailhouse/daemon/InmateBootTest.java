package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.LoadImage;

/**
 * The project's own tiny-demo inmate, built by the inmates module, booting
 * from real mode to long mode in a cell under both boot contracts of spec
 * 5.6, with its command line delivered each way.
 */
class InmateBootTest extends KvmCellTestBase {
    static final Path TINY_DEMO = Path.of("..", "inmates", "demos", "x86", "tiny-demo.bin");
    static final Pattern PM_TIMER = Pattern.compile("PM Timer: +(\\d+)");

    @BeforeAll
    static void requireImage() {
        assertThat(TINY_DEMO).as("the inmates module builds it (make -C inmates)").isRegularFile();
    }

    private String run(CellConfig cell, long imageAddress, String cmdline, long cmdlineAddress) throws Exception {
        hv.createCell(cell);
        CellRef ref = CellRef.parse(cell.name());
        List<LoadImage> images = new ArrayList<>();
        images.add(new LoadImage(TINY_DEMO.toString(), Files.readAllBytes(TINY_DEMO), imageAddress));
        images.add(new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), cmdlineAddress));
        hv.loadCell(ref, images);
        assertThat(hv.startCell(ref)).isEmpty();
        ConsoleLog console = hv.cellConsole(ref);
        long deadline = System.nanoTime() + 120_000_000_000L;
        String out = "";
        while (PM_TIMER.matcher(out).results().count() < 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("tiny-demo did not finish; its console:\n" + out + "\nhypervisor:\n"
                        + hv.console().read(0, 4096).text());
            }
            Thread.sleep(20);
            out = console.read(0, 1 << 20).text();
        }
        Thread.sleep(300); // it prints nothing after the last reading: loops=2 is honoured
        out = console.read(0, 1 << 20).text();
        assertThat(hv.cell(ref).state()).isEqualTo(CellState.RUNNING);
        hv.destroyCell(ref);
        return out;
    }

    private static void assertTinyDemoOutput(String out) {
        assertThat(out).startsWith("Hello from this tiny cell!\r\n");
        Matcher m = PM_TIMER.matcher(out);
        List<Long> readings = new ArrayList<>();
        while (m.find()) {
            readings.add(Long.parseLong(m.group(1)));
        }
        assertThat(readings).hasSize(2);
        // once per second of PM-timer time
        assertThat(readings.get(1) - readings.get(0)).isBetween(900_000_000L, 1_500_000_000L);
    }

    static CellConfig tinyDemo() throws Exception {
        return ConfigFiles.read(CONFIGS.resolve("tiny-demo.yaml"), CellConfig.class);
    }

    @Test
    void seedContractImageAtF0000ResetVectorCmdlineCopiedDown() throws Exception {
        assertThat(tinyDemo().cpuResetAddress()).isEqualTo(0xffff0);
        assertTinyDemoOutput(run(tinyDemo(), 0xf0000, "loops=2", 0xf1000));
    }

    @Test
    void seedContractWithCmdlineAt1000() throws Exception {
        assertTinyDemoOutput(run(tinyDemo(), 0xf0000, "loops=2", 0x1000));
    }

    @Test
    void virtualConsoleGoesThroughTheHypercallPortToTheHypervisorConsole() throws Exception {
        // tiny-demo's config permits the virtual console; con-virtual turns it on in the inmate
        String out = run(tinyDemo(), 0xf0000, "con-virtual loops=2", 0xf1000);
        assertTinyDemoOutput(out);
        String hypervisorConsole = hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text();
        assertThat(hypervisorConsole).contains("Hello from this tiny cell!", "PM Timer:");
    }

    /** "cell start" again without a load: the image must boot from what the first run left in memory. */
    private void restartsWithoutReload(CellConfig cell, long imageAddress) throws Exception {
        hv.createCell(cell);
        CellRef ref = CellRef.parse(cell.name());
        hv.loadCell(ref, List.of(new LoadImage(TINY_DEMO.toString(), Files.readAllBytes(TINY_DEMO), imageAddress),
                new LoadImage("string", "loops=1\0".getBytes(StandardCharsets.ISO_8859_1), imageAddress + 0x1000)));
        ConsoleLog console = hv.cellConsole(ref);
        for (int run = 1; run <= 3; run++) {
            hv.startCell(ref);
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (PM_TIMER.matcher(console.read(0, 1 << 20).text()).results().count() < run) {
                assertThat(System.nanoTime()).as("run %d of tiny-demo; console:%n%s", run,
                        console.read(0, 1 << 20).text()).isLessThan(deadline);
                Thread.sleep(20);
            }
        }
        assertThat(console.read(0, 1 << 20).text().split("Hello from this tiny cell!", -1)).hasSize(4);
    }

    @Test
    void restartWithoutReloadUnderTheSeedContract() throws Exception {
        restartsWithoutReload(tinyDemo(), 0xf0000);
    }

    @Test
    void restartWithoutReloadUnderTheCurrentContract() throws Exception {
        restartsWithoutReload(tinyDemo().withCpuResetAddress(0), 0);
    }

    /**
     * smp-demo on the bundled smp-demo cell (CPUs 1-3): all three start at
     * the reset vector together, the primary restarts the others with
     * INIT/SIPI through the in-kernel local APICs, each says hello and sends
     * an IPI back.
     */
    @Test
    void smpDemoBringsUpTheOtherCpusAndTheyInterruptThePrimary() throws Exception {
        CellConfig smp = ConfigFiles.read(CONFIGS.resolve("smp-demo.yaml"), CellConfig.class);
        hv.createCell(smp);
        CellRef ref = CellRef.parse("smp-demo");
        Path image = Path.of("..", "inmates", "demos", "x86", "smp-demo.bin");
        hv.loadCell(ref, List.of(new LoadImage(image.toString(), Files.readAllBytes(image), 0xf0000)));
        hv.startCell(ref);
        ConsoleLog console = hv.cellConsole(ref);
        long deadline = System.nanoTime() + 120_000_000_000L;
        String out = "";
        while (out.split("Received IPI on", -1).length < 3) {
            assertThat(System.nanoTime()).as("smp-demo's IPIs; console:%n%s%nhypervisor:%n%s", out,
                    hv.console().read(0, 4096).text()).isLessThan(deadline);
            Thread.sleep(50);
            out = console.read(0, 1 << 20).text();
        }
        Matcher primary = Pattern.compile("SMP demo, primary CPU: (\\d)").matcher(out);
        assertThat(primary.find()).as(out).isTrue();
        int first = Integer.parseInt(primary.group(1));
        assertThat(first).isBetween(1, 3);
        assertThat(out).contains("Waiting for the rest...", "Found 2 other CPU(s)");
        for (int cpu = 1; cpu <= 3; cpu++) {
            if (cpu != first) {
                assertThat(out).contains(" Starting CPU " + cpu, "Hello from CPU " + cpu + "!");
            }
        }
        assertThat(out).contains("Received IPI on " + first);
        assertThat(hv.cell(ref).state()).isEqualTo(CellState.RUNNING);
        assertThat(hv.cell(ref).failedCpus()).isEmpty();
    }

    @Test
    void currentUpstreamContractImageAtZero() throws Exception {
        assertTinyDemoOutput(run(tinyDemo().withCpuResetAddress(0), 0, "loops=2", 0x1000));
    }
}
