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
    void aNewBackingFileRemovesThoseOfDaemonsThatAreGoneAndNothingElse() throws Exception {
        long alive = ProcessHandle.current().pid();
        Path stale = Files.createFile(dir.resolve(ReservedMemory.FILE_PREFIX + "999999999"));
        Path live = Files.createFile(dir.resolve(ReservedMemory.FILE_PREFIX + alive + "-other"));
        Path livePid = Files.createFile(dir.resolve(ReservedMemory.FILE_PREFIX + alive));
        Path foreign = Files.createFile(dir.resolve("something-else"));
        try (ReservedMemory m = ReservedMemory.create(0x10000, dir, ReservedMemory.FILE_PREFIX + "test")) {
            assertThat(m.file()).exists();
            assertThat(m.readInt(0x1000)).isZero();
        }
        assertThat(stale).doesNotExist();
        assertThat(live).exists();
        assertThat(livePid).exists();
        assertThat(foreign).exists();
        assertThat(dir.resolve(ReservedMemory.FILE_PREFIX + "test")).doesNotExist();
    }
}
