package io.jailhouse.hypervisor;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.sys.KvmDevice;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * What every test of cells on the real /dev/kvm shares: skip loudly without
 * KVM, a hypervisor enabled on the bundled development system config
 * (relaxed: this host has fewer CPUs than the config) for each test, and
 * nothing left behind afterwards.
 */
abstract class KvmCellTestBase {
    static final Path CONFIGS = Path.of("..", "configs", "x86");

    Hypervisor hv;

    @BeforeAll
    static void requireKvm() {
        KvmDevice.unavailableReason().ifPresent(reason -> {
            System.err.println("!!!!! KVM TESTS SKIPPED: " + reason + " !!!!!");
            assumeTrue(false, "KVM TESTS SKIPPED: " + reason);
        });
    }

    @BeforeEach
    void enable() throws Exception {
        hv = KvmHypervisor.enable(ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class),
                Partitioning.RELAXED);
    }

    @AfterEach
    void disable() {
        if (hv != null) {
            hv.close();
        }
    }

    static CellConfig bundledCell(String name) throws Exception {
        return ConfigFiles.read(CONFIGS.resolve(name + ".yaml"), CellConfig.class);
    }
}
