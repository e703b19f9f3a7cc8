package io.jailhouse.cli;

import io.jailhouse.protocol.LoadImage;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code jailhouse cell load { ID | [--name] NAME } { IMAGE | { -s | --string } STRING } [-a | --address ADDRESS] ...}:
 * copies images into the cell's loadable memory (after the cell agrees to
 * stop), in command-line order.
 */
@Command(name = "load",
        description = {"Load images into a cell, in order; each at address 0 or the -a ADDRESS after it.",
            "A -s STRING is loaded with its terminating NUL."},
        customSynopsis = {"jailhouse cell load { ID | [--name] NAME }",
            "         { IMAGE | { -s | --string } \"STRING\" } [-a | --address ADDRESS] ..."})
final class CellLoadCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_CELL_LOAD";

    /** Everything after {@code load}, in order: picocli cannot express the image/address pairs. */
    @Unmatched
    List<String> arguments = new ArrayList<>();

    @Override
    int run() throws CommandFailure {
        LoadArguments parsed;
        try {
            parsed = LoadArguments.parse(arguments);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        List<LoadImage> images = new ArrayList<>();
        for (LoadArguments.Image image : parsed.images()) {
            images.add(image.file() != null
                    ? new LoadImage(image.file(), read(image.file()), image.address())
                    : new LoadImage("string \"" + image.string() + "\"", withNul(image.string()), image.address()));
        }
        request(IOCTL, c -> {
            c.loadCell(parsed.cell(), images);
            return null;
        });
        return 0;
    }

    private static byte[] read(String file) throws CommandFailure {
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw e instanceof IOException io ? CommandFailure.opening(file, io)
                    : new CommandFailure("opening " + file + ": " + e.getMessage());
        }
    }

    /** The bytes C's argv held (the platform's encoding) and the NUL upstream copies with them. */
    static byte[] withNul(String s) {
        byte[] text = s.getBytes(Charset.forName(System.getProperty("native.encoding", "UTF-8"), Charset.defaultCharset()));
        byte[] out = new byte[text.length + 1];
        System.arraycopy(text, 0, out, 0, text.length);
        return out;
    }
}
