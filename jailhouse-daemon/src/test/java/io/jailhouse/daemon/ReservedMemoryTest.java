package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReservedMemoryTest {
    @TempDir
    Path dir;

    @Test
    void theSweepRemovesTheFilesOfSupervisorsThatAreGoneAndNothingElseAndSaysWhich() throws Exception {
        long alive = ProcessHandle.current().pid();
        Path stale = Files.createFile(dir.resolve(ReservedMemory.FILE_PREFIX + "999999999"));
        Path live = Files.createFile(dir.resolve(ReservedMemory.FILE_PREFIX + alive + "-other"));
        Path livePid = Files.createFile(dir.resolve(ReservedMemory.FILE_PREFIX + alive));
        Path foreign = Files.createFile(dir.resolve("something-else"));
        Path mapped = Files.write(dir.resolve(ReservedMemory.FILE_PREFIX + "999999998"), new byte[4096]);
        try (var mapping = mapRead(mapped)) {
            assertThat(ReservedMemory.removeStale(ReservedMemory.backingDirectories(dir))).containsExactly(stale);
            assertThat(mapped).as("cells that outlived their supervisor map it").exists();
        }
        try (ReservedMemory m = ReservedMemory.create(0x10000, dir, ReservedMemory.FILE_PREFIX + "test")) {
            assertThat(m.file()).exists();
            assertThat(m.readInt(0x1000)).isZero();
        }
        assertThat(stale).doesNotExist();
        assertThat(live).exists();
        assertThat(livePid).exists();
        assertThat(foreign).exists();
        assertThat(dir.resolve(ReservedMemory.FILE_PREFIX + "test")).doesNotExist();
        assertThat(ReservedMemory.removeStale(ReservedMemory.backingDirectories(dir))).containsExactly(mapped);
    }

    @Test
    void onHugetlbfsAClearedRangeReadsBackAsZerosAtFourKiBAndItsNeighboursKeepTheirData() throws Exception {
        try (HugetlbfsMount huge = HugetlbfsMount.open(dir, 2);
                ReservedMemory m = ReservedMemory.create(0x300000, huge.path, ReservedMemory.FILE_PREFIX + "huge")) {
            assertThat(m.pageSize()).isEqualTo(2L << 20);
            assertThat(m.size()).as("rounded up to whole huge pages").isEqualTo(4L << 20);
            fill(m, 0, 4L << 20);
            m.clear(0x2000, 0x1000);
            assertThat(m.firstNonZero(0x2000, 0x1000)).as("the cleared 4 KiB").isEqualTo(-1);
            assertThat(m.firstNonZero(0, 0x2000)).as("before it").isZero();
            assertThat(m.firstNonZero(0x3000, 0x1000)).as("after it").isEqualTo(0x3000);
            m.clear(0x200000, 0x200000);
            assertThat(m.firstNonZero(0x200000, 0x200000)).as("a whole huge page").isEqualTo(-1);
            m.writeInt(0x200004, 0x1234); // hugetlbfs has no write(): through a mapping
            assertThat(m.readInt(0x200004)).isEqualTo(0x1234);
        }
    }

    @Test
    void onHugetlbfsWhatAKernelLeftUnclearedIsZeroedThroughAMapping() throws Exception {
        // Kernels before 6.x punch whole huge pages only; clear() then zeroes the rest this way.
        try (HugetlbfsMount huge = HugetlbfsMount.open(dir, 2);
                ReservedMemory m = ReservedMemory.create(0x200000, huge.path, ReservedMemory.FILE_PREFIX + "huge")) {
            fill(m, 0, 2L << 20);
            m.zeroMapped(0x5000, 0x3000);
            assertThat(m.firstNonZero(0x5000, 0x3000)).isEqualTo(-1);
            assertThat(m.firstNonZero(0x4000, 0x1000)).isEqualTo(0x4000);
            assertThat(m.firstNonZero(0x8000, 0x1000)).isEqualTo(0x8000);
        }
    }

    private static void fill(ReservedMemory m, long phys, long length) throws Exception {
        try (var mapping = m.map(phys, length, true)) {
            mapping.segment().fill((byte) 0xab);
        }
    }

    /** Maps {@code file} as a cell process would (the mapping outlives the descriptor). */
    private static io.jailhouse.sys.MemoryMapping mapRead(Path file) throws Exception {
        int fd = io.jailhouse.sys.Libc.open(file.toString(), io.jailhouse.sys.Libc.O_RDONLY | io.jailhouse.sys.Libc.O_CLOEXEC, 0);
        try {
            return io.jailhouse.sys.MemoryMapping.ofFile(fd, 0, 4096, false);
        } finally {
            io.jailhouse.sys.Libc.close(fd);
        }
    }
}
