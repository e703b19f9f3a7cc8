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
