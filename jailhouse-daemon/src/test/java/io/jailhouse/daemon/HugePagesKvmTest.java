package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cells on huge pages ({@code enable --memory-dir} on a hugetlbfs mount):
 * a region that cannot be mapped or cleared in whole huge pages is refused
 * by name, an aligned one runs, and what it leaves is zero once destroyed.
 */
class HugePagesKvmTest extends KvmCellTestBase {
    @TempDir
    static Path mountParent;
    static HugetlbfsMount huge;

    @BeforeAll
    static void mount() throws Exception {
        huge = HugetlbfsMount.open(mountParent, 4);
    }

    @AfterAll
    static void unmount() throws Exception {
        if (huge != null) {
            huge.close();
        }
    }

    @Override
    KvmHypervisor.Settings settings() throws Exception {
        return super.settings().withMemoryDirectory(huge.path);
    }

    /** qemu-vm without its ivshmem devices, whose 4 KiB sections (upstream's layout) huge pages cannot hold. */
    @Override
    SystemConfig systemConfig() throws Exception {
        SystemConfig s = super.systemConfig();
        CellConfig r = s.rootCell();
        CellConfig root = new CellConfig(r.architecture(), r.name(), r.id(), r.flags(), r.cpus(), r.memoryRegions(),
                r.cacheRegions(), r.irqchips(), r.pioRegions(),
                r.pciDevices().stream().filter(d -> !d.isIvshmem()).toList(), r.pciCaps(), r.streamIds(),
                r.vpciIrqBase(), r.cpuResetAddress(), r.msgReplyTimeout(), r.console());
        return new SystemConfig(s.architecture(), s.flags(), s.hypervisorMemory(), s.debugConsole(), s.platform(), root,
                s.rootCellHeader());
    }

    @Test
    void upstreamsFourKiBIvshmemSectionsOnHugePagesAreRefusedAtEnableByName() throws Exception {
        assertThatThrownBy(() -> KvmHypervisor.enable(super.systemConfig(), settings().withMemoryDirectory(huge.path)))
                .isInstanceOf(HypervisorException.class).hasMessageContaining("ivshmem: memory region")
                .hasMessageContaining("pages of 0x200000 bytes (hugetlbfs)", "enable without --memory-dir");
    }

    @Test
    void aRegionNotAlignedToTheHugePagesIsRefusedAndAnAlignedOneRunsAndIsClearedAfterwards() throws Exception {
        CellConfig tiny = KvmHypervisorTest.tinyDemo(); // 1 MiB of RAM at 0x3ee00000
        assertThat(String.join("\n", hv.notices())).contains(huge.path.toString(), "pages of 0x200000 bytes");
        assertThatThrownBy(() -> hv.createCell(tiny)).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("memory region 0 (phys 0x3ee00000, size 0x100000)")
                .hasMessageContaining("pages of 0x200000 bytes (hugetlbfs)", "align it to 0x200000");
        assertThat(hv.cells()).as("nothing changed").hasSize(1);

        List<MemoryRegion> regions = new ArrayList<>(tiny.memoryRegions());
        MemoryRegion ram = regions.get(0);
        regions.set(0, new MemoryRegion(ram.physStart(), ram.virtStart(), 2L << 20, ram.flags()));
        MemoryRegion comm = regions.get(1); // moved past the larger RAM
        regions.set(1, new MemoryRegion(comm.physStart(), 2L << 20, comm.size(), comm.flags()));
        CellRef ref = CellRef.parse("tiny-demo");
        hv.createCell(tiny.withMemoryRegions(regions));
        hv.loadCell(ref, List.of(KvmHypervisorTest.resetVectorImage(KvmHypervisorTest.SAY_HI)));
        hv.startCell(ref);
        awaitConsole("tiny-demo", "Hi");
        ReservedMemory memory = ((KvmHypervisor) hv).reservedMemory();
        assertThat(memory.firstNonZero(ram.physStart() + KvmHypervisorTest.IMAGE_BASE, 0x10000))
                .as("the image is in the huge page").isGreaterThanOrEqualTo(0);
        hv.destroyCell(ref);
        assertThat(memory.firstNonZero(ram.physStart(), 2L << 20)).as("the huge page after destroy").isEqualTo(-1);
    }
}
