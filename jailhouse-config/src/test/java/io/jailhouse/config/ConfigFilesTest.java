package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Reading a config file: only regular files, never more than the limit, in bounded time. */
class ConfigFilesTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void aLinkToADeviceIsRefusedBeforeAnythingIsRead() throws Exception {
        Path zero = tmp.resolve("z.cell");
        Files.createSymbolicLink(zero, Path.of("/dev/zero"));
        assertThatThrownBy(() -> ConfigFiles.read(zero, JailhouseConfig.class))
                .isInstanceOf(ConfigFormatException.class).hasMessageContaining("z.cell")
                .hasMessageContaining("not a regular file");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void aFifoIsRefusedWithoutWaitingForAWriter() throws Exception {
        Path fifo = tmp.resolve("f.cell");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertThatThrownBy(() -> ConfigFiles.read(fifo, JailhouseConfig.class))
                .isInstanceOf(ConfigFormatException.class).hasMessageContaining("a device, FIFO or socket");
    }

    @Test
    void aDirectoryIsNamedAsSuch() {
        assertThatThrownBy(() -> ConfigFiles.read(tmp, JailhouseConfig.class))
                .isInstanceOf(ConfigFormatException.class).hasMessageContaining("a directory");
    }

    @Test
    void aFileOverTheLimitIsRefusedBeforeItIsRead() throws Exception {
        Path big = tmp.resolve("big.cell");
        try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(ConfigFiles.MAX_FILE_BYTES + 1); // sparse: costs no disk
        }
        assertThatThrownBy(() -> ConfigFiles.read(big, JailhouseConfig.class))
                .isInstanceOf(ConfigFormatException.class).hasMessageContaining("limit " + ConfigFiles.MAX_FILE_BYTES);
    }
}
