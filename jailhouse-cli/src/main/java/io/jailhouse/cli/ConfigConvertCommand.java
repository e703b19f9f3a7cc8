package io.jailhouse.cli;

import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.ConfigFile;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code jailhouse config convert IN OUT}: between .cell, .yaml, .json and .c,
 * losslessly; bytes after a binary configuration (which upstream ignores)
 * are dropped, and said so on stderr.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a configuration between .cell, .yaml/.yml, .json and .c (by file extension).")
final class ConfigConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT")
    Path out;

    @Override
    public Integer call() {
        try {
            ConfigFile c = ConfigFiles.load(in);
            ConfigFiles.write(out, c.config());
            c.notes().forEach(n -> spec.commandLine().getErr().println("Note: " + n + "; " + out + " does not have them"));
        } catch (ConfigFormatException e) {
            spec.commandLine().getErr().println(e.getMessage());
            return 1;
        }
        return 0;
    }
}
