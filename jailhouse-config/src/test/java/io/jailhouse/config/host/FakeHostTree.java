package io.jailhouse.config.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A writable copy of a host tree from {@code src/test/resources/hosts/NAME}.
 * Binary files (PCI config space, ACPI tables) are kept there as annotated
 * hex ({@code NAME.hex}) and turned into bytes ({@code NAME}) while copying:
 * tokens are hex bytes, {@code #} starts a comment, {@code @OFFSET} (hex)
 * continues at that offset with zero fill, and a final {@code @SIZE} pads the
 * file to that size.
 */
final class FakeHostTree {
    private final Path root;

    private FakeHostTree(Path root) {
        this.root = root;
    }

    static FakeHostTree copy(String name, Path into) {
        URL url = FakeHostTree.class.getClassLoader().getResource("hosts/" + name);
        if (url == null) {
            throw new IllegalArgumentException("no test host tree hosts/" + name);
        }
        try {
            Path src = Path.of(url.toURI());
            try (Stream<Path> files = Files.walk(src)) {
                for (Path p : files.toList()) {
                    Path rel = src.relativize(p);
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(into.resolve(rel.toString()));
                    } else if (p.getFileName().toString().endsWith(".hex")) {
                        String n = rel.toString();
                        Files.write(into.resolve(n.substring(0, n.length() - 4)), hex(Files.readString(p), p));
                    } else {
                        Files.copy(p, into.resolve(rel.toString()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return new FakeHostTree(into);
    }

    static byte[] hex(String text, Path source) {
        byte[] out = new byte[0x10000];
        int pos = 0;
        int size = 0;
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            for (String tok : line.trim().split("\\s+")) {
                if (tok.isEmpty()) {
                    continue;
                }
                if (tok.startsWith("@")) {
                    int at = Integer.parseInt(tok.substring(1), 16);
                    if (at < pos) {
                        throw new IllegalArgumentException(source + " line " + (i + 1) + ": @" + tok.substring(1)
                                + " goes back from 0x" + Integer.toHexString(pos));
                    }
                    pos = at;
                } else {
                    out[pos++] = (byte) Integer.parseInt(tok, 16);
                }
                size = Math.max(size, pos);
            }
        }
        byte[] b = new byte[size];
        System.arraycopy(out, 0, b, 0, size);
        return b;
    }

    HostRoot hostRoot() {
        return HostRoot.at(root);
    }

    Path path() {
        return root;
    }

    /** Replaces (or creates) a host file with this text. */
    FakeHostTree write(String hostPath, String text) {
        try {
            Path p = root.resolve(hostPath.substring(1));
            Files.createDirectories(p.getParent());
            Files.writeString(p, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    FakeHostTree writeBytes(String hostPath, byte[] bytes) {
        try {
            Path p = root.resolve(hostPath.substring(1));
            Files.createDirectories(p.getParent());
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    FakeHostTree delete(String hostPath) {
        try {
            Files.delete(root.resolve(hostPath.substring(1)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    String read(String hostPath) {
        try {
            return Files.readString(root.resolve(hostPath.substring(1)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    byte[] readBytes(String hostPath) {
        try {
            return Files.readAllBytes(root.resolve(hostPath.substring(1)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
