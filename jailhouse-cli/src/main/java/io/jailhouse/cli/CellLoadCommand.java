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
        java.io.PrintWriter progress = Main.of(spec).errorsToTerminal() ? err() : null;
        List<LoadImage> images = new ArrayList<>();
        for (LoadArguments.Image image : parsed.images()) {
            images.add(image.file() != null
                    ? new LoadImage(image.file(), read(image.file(), progress), image.address())
                    : new LoadImage("string \"" + image.string() + "\"", withNul(image.string()), image.address()));
        }
        request(IOCTL, c -> {
            c.loadCell(parsed.cell(), images);
            return null;
        });
        return 0;
    }

    /** An image can be no larger than a Java array, far beyond any cell's loadable memory here. */
    static final long MAX_IMAGE_BYTES = Integer.MAX_VALUE - 8;
    /** Images larger than this show their reading's progress on a terminal. */
    static final long PROGRESS_BYTES = 4 << 20;
    private static final int CHUNK = 1 << 20;
    private static final long PROGRESS_NANOS = 100_000_000L;

    /**
     * The image's bytes: only from a regular file (after symbolic links),
     * so that a device or FIFO, whose reading may never end or never start,
     * is refused before it is opened; never more than {@link #MAX_IMAGE_BYTES}.
     * With {@code progress} (the terminal's stderr), an image larger than
     * {@link #PROGRESS_BYTES} says how much of it was read, on one line
     * rewritten at most ten times a second.
     */
    static byte[] read(String file) throws CommandFailure {
        return read(file, null);
    }

    static byte[] read(String file, java.io.PrintWriter progress) throws CommandFailure {
        try {
            Path p = Path.of(file);
            if (Files.exists(p) && !Files.isRegularFile(p)) {
                throw new CommandFailure("opening " + file + ": not a regular file (an image is loaded from a file)");
            }
            if (Files.size(p) > MAX_IMAGE_BYTES) {
                throw new CommandFailure("opening " + file + ": " + Files.size(p) + " bytes, more than an image may be ("
                        + MAX_IMAGE_BYTES + ")");
            }
            try (java.io.InputStream in = Files.newInputStream(p)) {
                long expected = Files.size(p);
                byte[] bytes = progress != null && expected > PROGRESS_BYTES
                        ? readShowing(in, file, expected, progress) : in.readNBytes((int) MAX_IMAGE_BYTES);
                if (in.read() >= 0) {
                    throw new CommandFailure("opening " + file + ": it grew past " + MAX_IMAGE_BYTES
                            + " bytes while it was read");
                }
                return bytes;
            }
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw e instanceof IOException io ? CommandFailure.opening(file, io)
                    : new CommandFailure("opening " + file + ": " + e.getMessage());
        }
    }

    /** Reads the {@code expected} bytes the file had when it was opened (fewer if it shrank), telling how far. */
    private static byte[] readShowing(java.io.InputStream in, String file, long expected, java.io.PrintWriter progress)
            throws IOException {
        byte[] bytes = new byte[(int) expected];
        int done = 0;
        long shownAt = 0;
        int n;
        while (done < bytes.length && (n = in.read(bytes, done, Math.min(CHUNK, bytes.length - done))) > 0) {
            done += n;
            long now = System.nanoTime();
            if (now - shownAt >= PROGRESS_NANOS || done == bytes.length) {
                progress.print("\rReading " + file + ": " + mib(done) + " of " + mib(expected) + " MiB");
                progress.flush();
                shownAt = now;
            }
        }
        progress.print("\n");
        progress.flush();
        return done == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, done);
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f", bytes / 1048576.0);
    }

    /** The bytes C's argv held (the platform's encoding) and the NUL upstream copies with them. */
    static byte[] withNul(String s) {
        byte[] text = nativeBytes(s);
        byte[] out = new byte[text.length + 1];
        System.arraycopy(text, 0, out, 0, text.length);
        return out;
    }

    /** The bytes C's argv held for {@code s}: the platform's encoding. */
    static byte[] nativeBytes(String s) {
        return s.getBytes(Charset.forName(System.getProperty("native.encoding", "UTF-8"), Charset.defaultCharset()));
    }
}
