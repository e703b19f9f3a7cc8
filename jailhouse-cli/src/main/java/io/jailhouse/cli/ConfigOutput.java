package io.jailhouse.cli;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.JailhouseConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Writes a configuration in the format its file name asks for. Binary
 * {@code .cell} is written here; the text forms ({@code .yaml}, {@code .yml},
 * {@code .json}, {@code .c}) go through the text config writer once that is
 * part of the build, at which point {@link #write} becomes a single call to it.
 */
final class ConfigOutput {
    private ConfigOutput() {
    }

    /** Refuses a file name whose format cannot be written, before any work is done. */
    static void checkWritable(Path file) throws UnsupportedFormat {
        switch (extension(file)) {
            case "cell" -> {
            }
            case "yaml", "yml", "json", "c" -> throw new UnsupportedFormat(file + ": writing ." + extension(file)
                    + " configurations is not available in this build; write a .cell file");
            case "" -> throw new UnsupportedFormat(file + ": no file extension; use .cell");
            default -> throw new UnsupportedFormat(file + ": unknown extension ." + extension(file)
                    + "; use .cell, .yaml, .yml, .json or .c");
        }
    }

    static void write(Path file, JailhouseConfig config) throws IOException, UnsupportedFormat {
        checkWritable(file);
        Files.write(file, BinaryConfigCodec.encode(config));
    }

    static String extension(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot <= 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** A file name whose format this build cannot write. */
    static final class UnsupportedFormat extends Exception {
        private static final long serialVersionUID = 1L;

        UnsupportedFormat(String message) {
            super(message);
        }
    }
}
