package io.jailhouse.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Reads and writes configuration files in any of their forms, chosen by the
 * file name's extension: binary {@code .cell}, {@code .yaml}/{@code .yml},
 * {@code .json}, and C sources ({@code .c}, compiled with gcc against this
 * project's headers, as upstream's build does).
 */
public final class ConfigFiles {
    /** Far above any real config (upstream caps a cell config at 64 KiB); bounds what a stray file can cost. */
    public static final long MAX_FILE_BYTES = 16L << 20;

    /** The forms a config file can have. */
    public enum Form {
        BINARY, YAML, JSON, C
    }

    private ConfigFiles() {
    }

    /** The form by extension; null if the extension is none of ours. */
    public static Form formOf(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".cell")) {
            return Form.BINARY;
        } else if (n.endsWith(".yaml") || n.endsWith(".yml")) {
            return Form.YAML;
        } else if (n.endsWith(".json")) {
            return Form.JSON;
        } else if (n.endsWith(".c")) {
            return Form.C;
        }
        return null;
    }

    public static JailhouseConfig read(Path file) throws ConfigFormatException {
        return load(file).config();
    }

    /** Reads a config and says what was left aside (bytes after a binary configuration). */
    public static ConfigFile load(Path file) throws ConfigFormatException {
        String source = file.toString();
        Form form = formOf(file);
        if (form == Form.C) {
            return binary(CConfigCompiler.compile(file), source);
        }
        byte[] content = readBytes(file);
        if (form == null) {
            // Unknown extension: binary if it carries a signature, else a clear refusal.
            if (BinaryConfigCodec.looksBinary(content)) {
                form = Form.BINARY;
            } else {
                throw new ConfigFormatException(source, null,
                        "unknown configuration format: use .cell, .yaml, .yml, .json or .c");
            }
        }
        return form == Form.BINARY ? binary(content, source) : new ConfigFile(source, decode(content, source, form), 0);
    }

    private static ConfigFile binary(byte[] content, String source) throws ConfigFormatException {
        JailhouseConfig config = BinaryConfigCodec.decode(content, source);
        return new ConfigFile(source, config, BinaryConfigCodec.trailingBytes(content, config));
    }

    /** Reads a config and insists on its kind (a system config for {@code enable}, a cell config for {@code cell create}). */
    public static <T extends JailhouseConfig> T read(Path file, Class<T> kind) throws ConfigFormatException {
        return kind.cast(load(file, kind).config());
    }

    /** As {@link #read(Path, Class)}, with what was left aside. */
    public static ConfigFile load(Path file, Class<? extends JailhouseConfig> kind) throws ConfigFormatException {
        ConfigFile f = load(file);
        if (!kind.isInstance(f.config())) {
            throw new ConfigFormatException(file.toString(), null, kind == SystemConfig.class
                    ? "this is a cell configuration; a system configuration (root cell) is needed here"
                    : "this is a system configuration; a cell configuration is needed here");
        }
        return f;
    }

    public static JailhouseConfig decode(byte[] content, String source, Form form) throws ConfigFormatException {
        return switch (form) {
            case BINARY -> BinaryConfigCodec.decode(content, source);
            case YAML -> TextConfigCodec.decode(content, source, TextConfigCodec.Format.YAML);
            case JSON -> TextConfigCodec.decode(content, source, TextConfigCodec.Format.JSON);
            case C -> throw new IllegalArgumentException("C configs are compiled from a file: use read(Path)");
        };
    }

    public static byte[] encode(JailhouseConfig config, Form form, String sourceName) {
        return switch (form) {
            case BINARY -> BinaryConfigCodec.encode(config);
            case YAML -> TextConfigCodec.encode(config, TextConfigCodec.Format.YAML);
            case JSON -> TextConfigCodec.encode(config, TextConfigCodec.Format.JSON);
            case C -> CConfigWriter.write(config, sourceName).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        };
    }

    /**
     * Writes a config in the form its extension names, atomically (a temporary
     * file renamed over the target), so a failed write loses nothing.
     */
    public static void write(Path file, JailhouseConfig config) throws ConfigFormatException {
        Form form = formOf(file);
        if (form == null) {
            throw new ConfigFormatException(file.toString(), null,
                    "unknown configuration format: use .cell, .yaml, .yml, .json or .c");
        }
        byte[] bytes = encode(config, form, file.getFileName().toString());
        Path abs = file.toAbsolutePath();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
            Files.write(tmp, bytes);
            keepPermissions(abs, tmp);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ConfigFormatException(file.toString(), null, "cannot write: " + describe(e));
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // The rename already happened or the directory is gone; nothing to clean.
                }
            }
        }
    }

    /** Temp files are created 0600; give the result the target's old mode, or rw-r--r--. */
    private static void keepPermissions(Path target, Path tmp) throws IOException {
        if (!tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        var perms = Files.exists(target) ? Files.getPosixFilePermissions(target)
                : java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");
        Files.setPosixFilePermissions(tmp, perms);
    }

    /**
     * The file's bytes, at most {@link #MAX_FILE_BYTES}: only a regular file
     * (after symbolic links) is read, so a device or FIFO (for which the size
     * says nothing, and whose reading may never end or never start) is
     * refused before it is opened; the read itself stops past the limit, in
     * case the file grows meanwhile.
     */
    static byte[] readBytes(Path file) throws ConfigFormatException {
        try {
            if (Files.exists(file) && !Files.isRegularFile(file)) {
                throw new ConfigFormatException(file.toString(), null, "not a regular file ("
                        + (Files.isDirectory(file) ? "a directory" : "a device, FIFO or socket")
                        + "): a configuration is read from a file");
            }
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ConfigFormatException(file.toString(), null, "file of " + size
                        + " bytes is far larger than any configuration (limit " + MAX_FILE_BYTES + ")");
            }
            try (java.io.InputStream in = Files.newInputStream(file)) {
                byte[] bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
                if (bytes.length > MAX_FILE_BYTES) {
                    throw new ConfigFormatException(file.toString(), null, "file grew past the limit of "
                            + MAX_FILE_BYTES + " bytes while it was read");
                }
                return bytes;
            }
        } catch (IOException e) {
            throw new ConfigFormatException(file.toString(), null, "cannot read: " + describe(e));
        }
    }

    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "Permission denied";
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
