package io.jailhouse.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Build step: turns every {@code *.yaml} of a configs directory into a binary
 * {@code .cell} beside it, as upstream's build turns {@code configs/x86/*.c}
 * into {@code *.cell}. Unchanged outputs are not rewritten.
 */
public final class ConfigDirectoryBuild {
    private ConfigDirectoryBuild() {
    }

    public static void main(String[] args) throws IOException {
        int failures = 0;
        for (String dir : args) {
            List<Path> sources;
            try (Stream<Path> s = Files.list(Path.of(dir).normalize())) {
                sources = s.filter(p -> ConfigFiles.formOf(p) == ConfigFiles.Form.YAML).sorted().toList();
            }
            for (Path src : sources) {
                String name = src.getFileName().toString();
                Path out = src.resolveSibling(name.substring(0, name.lastIndexOf('.')) + ".cell");
                try {
                    byte[] bytes = BinaryConfigCodec.encode(ConfigFiles.read(src));
                    if (!Files.exists(out) || !Arrays.equals(Files.readAllBytes(out), bytes)) {
                        ConfigFiles.write(out, BinaryConfigCodec.decode(bytes, out.toString()));
                        System.out.println("  CONFIG  " + out);
                    }
                } catch (ConfigFormatException e) {
                    System.err.println("error: " + e.getMessage());
                    failures++;
                }
            }
        }
        if (failures > 0) {
            throw new IllegalStateException(failures + " configuration(s) failed to build");
        }
    }
}
