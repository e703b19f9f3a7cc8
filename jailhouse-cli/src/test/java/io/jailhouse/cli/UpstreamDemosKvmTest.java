package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.sys.RequiresKvm;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Upstream's own x86 configs, unedited, as C sources (our renderings of
 * qemu-x86.c and its demo cells, compiled by gcc as upstream's build does):
 * the QEMU machine whose root leaves 0x3f8 to the hypervisor's console, and
 * the tiny-, apic-, smp-, ioapic- and pci-demo cells that list it all the
 * same, each running this project's demo loaded at 0 (their
 * cpu_reset_address). pci-demo's physical HDA controller is served by the
 * model chosen at enable. Skipped loudly without KVM.
 */
@RequiresKvm
class UpstreamDemosKvmTest extends KvmCliTest {
    static final Path C_CONFIGS = Path.of("..", "jailhouse-config", "src", "test", "resources", "c-configs")
            .toAbsolutePath().normalize();

    static String upstream(String name) {
        return C_CONFIGS.resolve(name + ".c").toString();
    }

    static String demo(String name) {
        return DEMOS.resolve(name + ".bin").toString();
    }

    @Test
    void upstreamsQemuMachineRunsUpstreamsDemoCells() throws Exception {
        // Without a model for its HDA controller, pci-demo is refused, and told how to get one.
        ok("enable", upstream("qemu-x86"), "--partitioning", "relaxed");
        assertThat(fails("cell", "create", upstream("pci-demo")).err()).startsWith("JAILHOUSE_CELL_CREATE: Invalid argument")
                .contains("PCI device 0 (00:1b.0) is a physical device", "--emulate 00:1b.0=MODEL; models: intel-hda");
        ok("disable");

        CliRun enable = ok("enable", upstream("qemu-x86"), "--partitioning", "relaxed", "--emulate", "00:1b.0=intel-hda");
        assertThat(enable.out()).isEmpty();
        assertThat(enable.err()).contains("PCI devices emulated in every cell that lists them: 00:1b.0=intel-hda.");

        ok("cell", "create", upstream("tiny-demo"));
        ok("cell", "load", "tiny-demo", demo("tiny-demo"), "-s", "loops=2", "-a", "0x1000");
        ok("cell", "start", "tiny-demo");
        assertThat(awaitConsole("tiny-demo", "PM Timer:", 2)).startsWith("Hello from this tiny cell!\r\n");
        ok("cell", "destroy", "tiny-demo");

        ok("cell", "create", upstream("smp-demo"));
        ok("cell", "load", "smp-demo", demo("smp-demo"));
        ok("cell", "start", "smp-demo");
        // Whichever CPU gets there first is the primary (relaxed partitioning: they share host CPUs).
        assertThat(awaitConsole("smp-demo", "Received IPI on ", 2)).contains("SMP demo, primary CPU: ",
                "Found 2 other CPU(s)", "Hello from CPU ");
        ok("cell", "destroy", "smp-demo");

        // The SCI through the cell's IOAPIC pin 9, from the PM1 event block at 0x600 the cell's ports include.
        ok("cell", "create", upstream("ioapic-demo"));
        ok("cell", "load", "ioapic-demo", demo("ioapic-demo"));
        ok("cell", "start", "ioapic-demo");
        assertThat(awaitConsole("ioapic-demo", "ACPI IRQ received, status: 0001", 2))
                .startsWith("Note: ACPI IRQs are broken for Linux now.\r\nACPI IRQ received, status: 0001\r\n");
        ok("cell", "destroy", "ioapic-demo");

        ok("cell", "create", upstream("pci-demo"));
        ok("cell", "load", "pci-demo", demo("pci-demo"), "-s", "con-base=0x2f8", "-a", "0x1000");
        ok("cell", "start", "pci-demo");
        assertThat(awaitConsole("pci-demo", "HDA MSI received (STATESTS: 0001)", 1))
                .contains("Found 8086:2668 at 00:1b.0", "HDBAR at 0x00000000febd4000");

        // apic-demo beside pci-demo (other CPU, other RAM), created before it locks the hypervisor.
        ok("cell", "create", upstream("apic-demo"));
        ok("cell", "load", "apic-demo", demo("apic-demo"));
        ok("cell", "start", "apic-demo");
        awaitConsole("apic-demo", "Timer fired, jitter:", 2);
        assertThat(ok("cell", "list").out()).contains("apic-demo               running/locked    3");
        assertThat(fails("cell", "shutdown", "apic-demo").err()).contains("refused the shutdown request");
        ok("cell", "shutdown", "apic-demo");
        assertThat(ok("console").out()).doesNotContain("FATAL");
        ok("disable");
    }
}
