package io.jailhouse.config.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.SystemConfig;
import org.junit.jupiter.api.Test;

/**
 * Derives the system config of the machine the tests run on, whatever it has.
 * Skipped, loudly, where the host hides what is needed (not root) or the
 * hypervisor is enabled.
 */
class LiveHostTest {
    @Test
    void thisMachineGivesAConfigThatDecodesAfterEncoding() throws Exception {
        HostRoot live = HostRoot.live();
        String skip = null;
        if (!live.exists("/proc/iomem")) {
            skip = "this machine has no /proc/iomem";
        } else if (!ResourceTree.read(live, "/proc/iomem").showsAddresses()) {
            skip = "/proc/iomem shows no addresses to this user (not root)";
        } else if (live.exists(HostInventory.CONTROL_SOCKET)) {
            skip = HostInventory.CONTROL_SOCKET + " exists: the hypervisor is enabled";
        }
        if (skip != null) {
            System.err.println("!!!!! LIVE HOST CONFIG TEST SKIPPED: " + skip + " !!!!!");
            assumeTrue(false, "LIVE HOST CONFIG TEST SKIPPED: " + skip);
        }
        String console = live.exists("/sys/class/tty/ttyS0/io_type") ? "ttyS0" : "none";
        DerivationOptions options = new DerivationOptions(DerivationOptions.DEFAULT_HYPERVISOR_MEMORY,
                DerivationOptions.DEFAULT_INMATE_MEMORY, console);
        SystemConfigDerivation.Result r = SystemConfigDerivation.derive(HostInventory.read(live, console), options);
        SystemConfig c = r.config();
        // The JVM may be confined to fewer CPUs than the host has, never to more.
        assertThat(c.rootCell().cpus().count()).isGreaterThanOrEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(c.rootCell().memoryRegions()).anyMatch(m -> m.has(SystemConfigDerivation.RAM_FLAGS));
        byte[] bytes = BinaryConfigCodec.encode(c);
        assertThat(BinaryConfigCodec.decode(bytes, "live.cell")).isEqualTo(c);
        System.out.println("live host: " + c.rootCell().memoryRegions().size() + " memory regions, "
                + c.rootCell().pioRegions().size() + " PIO ranges, " + c.rootCell().pciDevices().size()
                + " PCI devices, " + bytes.length + " bytes");
    }
}
