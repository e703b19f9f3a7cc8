package io.jailhouse.cli;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code jailhouse cell create CELLCONFIG}: the config may be in any form; it
 * reaches the daemon as the binary {@code .cell} upstream's driver takes.
 */
@Command(name = "create", mixinStandardHelpOptions = true, description = "Create a cell from its configuration.")
final class CellCreateCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_CELL_CREATE";

    @Parameters(index = "0", paramLabel = "CELLCONFIG", description = "cell configuration (.cell, .yaml, .json, .c)")
    Path config;

    @Override
    int run() throws CommandFailure {
        checkReadable(config);
        byte[] binary;
        try {
            binary = BinaryConfigCodec.encode(ConfigFiles.read(config, CellConfig.class));
        } catch (ConfigFormatException e) {
            // Upstream's driver refuses a config it cannot use with EINVAL.
            throw CommandFailure.of(IOCTL, Errno.EINVAL, e.getMessage());
        }
        request(IOCTL, c -> c.createCell(binary));
        return 0;
    }

    /** Fails with upstream's {@code opening FILE: ...} if the file cannot be read. */
    static void checkReadable(Path file) throws CommandFailure {
        try (InputStream in = Files.newInputStream(file)) {
            in.read();
        } catch (IOException e) {
            throw CommandFailure.opening(file, e);
        }
    }
}
