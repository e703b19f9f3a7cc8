package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigCommandsTest {
    static final Path CONFIGS = Path.of("..", "configs", "x86").toAbsolutePath().normalize();

    static String cfg(String name) {
        return CONFIGS.resolve(name).toString();
    }

    @Test
    void versionIsUpstreamStyle() {
        CliRun r = CliRun.of("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("Jailhouse management tool " + Main.VERSION + "\n");
    }

    @Test
    void unknownCommandPrintsUsageAndExits1() {
        CliRun r = CliRun.of("frobnicate");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Usage: jailhouse");
    }

    @Test
    void checkOfTheWalkthroughSetIsClean() {
        CliRun r = CliRun.of("config", "check", cfg("qemu-vm.cell"), cfg("apic-demo.cell"), cfg("pci-demo.yaml"));
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).startsWith("Reading configuration set:\n  Architecture:  x86\n  Root cell:     QEMU-VM (")
                .contains("  Non-root cell: apic-demo (", "Overlapping memory regions inside cell: None", "No findings.");
    }

    @Test
    void notesGoToStderrAndLeaveTheExitStatusAlone() {
        // The bundled root, as upstream's, has no 0x3f8; tiny-demo lists it.
        CliRun r = CliRun.of("config", "check", cfg("qemu-vm.cell"), cfg("tiny-demo.cell"));
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).endsWith("No findings.\n").doesNotContain("Note").doesNotContain("Port I/O");
        assertThat(r.err().lines()).isNotEmpty().allMatch(l -> l.startsWith("Note: Port I/O ranges outside the root cell's: "));
        assertThat(r.err()).contains("tiny-demo.cell, cell \"tiny-demo\", PIO range 1: ports 0x3f8-0x3ff are not all in "
                + "the root cell's PIO ranges (first missing: 0x3f8); the cell gets them all the same, as upstream");
        CliRun json = CliRun.of("config", "check", "--json", cfg("qemu-vm.cell"), cfg("tiny-demo.cell"));
        assertThat(json.exit()).isZero();
        assertThat(json.out()).contains("\"notes\" : [ \"Port I/O ranges outside the root cell's: ");
    }

    @Test
    void bytesAfterTheConfigurationAreIgnoredNotedAndDroppedByConvert(@TempDir Path tmp) throws Exception {
        byte[] cell = Files.readAllBytes(Path.of(cfg("tiny-demo.cell")));
        Path longer = tmp.resolve("commented-out-count.cell");
        Files.write(longer, java.util.Arrays.copyOf(cell, cell.length + 56));
        CliRun check = CliRun.of("config", "check", cfg("qemu-vm.cell"), longer.toString());
        assertThat(check.exit()).as(check.out() + check.err()).isZero();
        assertThat(check.err()).contains("Note: " + longer + ": 56 bytes after the configuration (which ends at byte "
                + cell.length + ") are ignored, as upstream's driver ignores them\n");
        Path yaml = tmp.resolve("x.yaml");
        CliRun convert = CliRun.of("config", "convert", longer.toString(), yaml.toString());
        assertThat(convert.exit()).isZero();
        assertThat(convert.err()).contains("56 bytes after the configuration", yaml + " does not have them");
        Path back = tmp.resolve("back.cell");
        assertThat(CliRun.of("config", "convert", yaml.toString(), back.toString()).exit()).isZero();
        assertThat(Files.readAllBytes(back)).isEqualTo(cell);
    }

    @Test
    void checkWithFindingsExits1AndNamesThem() {
        CliRun r = CliRun.of("config", "check", cfg("qemu-vm.cell"), cfg("tiny-demo.cell"), cfg("pci-demo.cell"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("CPU assignment:\n", "CPU 2 is also given to cell \"tiny-demo\"", "findings.");
    }

    @Test
    void checkJson() {
        CliRun r = CliRun.of("config", "check", "--json", cfg("qemu-vm.cell"), cfg("tiny-demo.cell"), cfg("smp-demo.cell"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("\"architecture\" : \"x86\"", "\"title\" : \"CPU assignment\"", "\"findings\" : 2");
    }

    @Test
    void checkOfUnreadableInputExits2() {
        assertThat(CliRun.of("config", "check", "/nonexistent.cell").exit()).isEqualTo(2);
        CliRun r = CliRun.of("config", "check", cfg("tiny-demo.cell"));
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("tiny-demo.cell: this is a cell configuration; a system configuration");
    }

    @Test
    void convertRoundTripsThroughYamlAndJson(@TempDir Path tmp) throws Exception {
        for (String name : new String[] {"qemu-vm", "tiny-demo", "ivshmem-demo", "pci-demo"}) {
            Path yaml = tmp.resolve(name + ".yaml");
            Path json = tmp.resolve(name + ".json");
            Path back = tmp.resolve(name + ".cell");
            assertThat(CliRun.of("config", "convert", cfg(name + ".cell"), yaml.toString()).exit()).isZero();
            assertThat(CliRun.of("config", "convert", yaml.toString(), json.toString()).exit()).isZero();
            assertThat(CliRun.of("config", "convert", json.toString(), back.toString()).exit()).isZero();
            assertThat(Files.readAllBytes(back)).isEqualTo(Files.readAllBytes(Path.of(cfg(name + ".cell"))));
        }
    }

    @Test
    void convertRefusesUnknownExtensionAndChangesNothing(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("x.txt");
        CliRun r = CliRun.of("config", "convert", cfg("tiny-demo.cell"), out.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("unknown configuration format");
        assertThat(out).doesNotExist();
    }
}
