package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.sys.RequiresKvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;

/**
 * What every test of cells on the real /dev/kvm shares: skip loudly without
 * KVM, a hypervisor enabled on the bundled development system config
 * (relaxed: this host has fewer CPUs than the config) for each test, and
 * nothing left behind afterwards.
 */
@RequiresKvm
abstract class KvmCellTestBase {
    static final Path CONFIGS = Path.of("..", "configs", "x86");

    Hypervisor hv;
    /** The cells' sockets and logs, and the hypervisor console. */
    @TempDir
    Path state;

    @BeforeEach
    void enable() throws Exception {
        hv = KvmHypervisor.enable(systemConfig(), settings());
    }

    /** The system config enabled: the bundled qemu-vm. */
    SystemConfig systemConfig() throws Exception {
        return ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class);
    }

    /** How the hypervisor is enabled: relaxed, state in {@link #state}, cells in this JVM's kind of process. */
    KvmHypervisor.Settings settings() throws Exception {
        return KvmHypervisor.Settings.of(Partitioning.RELAXED, state);
    }

    /** Destroys every cell without asking (their processes end) and disables. */
    @AfterEach
    void disable() throws Exception {
        if (hv != null) {
            try {
                hv.disable(Caller.FORCING);
            } catch (HypervisorException e) {
                hv.close(); // disabled already
            }
        }
    }

    static final Path DEMOS = Path.of("..", "inmates", "demos", "x86");

    /** Loads demo {@code image} at 0xf0000 (and the command line at 0xf1000) and starts the cell. */
    void load(String cell, String image, String cmdline) throws Exception {
        Path bin = DEMOS.resolve(image + ".bin");
        List<LoadImage> images = new ArrayList<>();
        images.add(new LoadImage(bin.toString(), Files.readAllBytes(bin), 0xf0000));
        if (cmdline != null) {
            images.add(new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000));
        }
        hv.loadCell(CellRef.parse(cell), images);
        hv.startCell(CellRef.parse(cell));
    }

    String awaitConsole(String cell, String text) throws Exception {
        ConsoleLog c = hv.cellConsole(CellRef.parse(cell));
        long deadline = System.nanoTime() + 120_000_000_000L;
        String out = c.read(0, 1 << 20).text();
        while (!out.contains(text)) {
            assertThat(System.nanoTime()).as("\"%s\" from %s; so far:%n%s%nhypervisor:%n%s", text, cell, out,
                    hv.console().read(0, 4096).text()).isLessThan(deadline);
            Thread.sleep(50);
            out = c.read(0, 1 << 20).text();
        }
        return out;
    }

    long mmioExits(String cell) throws HypervisorException {
        return hv.statistics(CellRef.parse(cell)).total().get("vmexits_mmio");
    }

    static CellConfig bundledCell(String name) throws Exception {
        return ConfigFiles.read(CONFIGS.resolve(name + ".yaml"), CellConfig.class);
    }
}
