package io.jailhouse.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The configs shipped in configs/x86, as the tests see them (the build turned each YAML into a .cell). */
final class BundledConfigs {
    static final Path DIR = Path.of("..", "configs", "x86").toAbsolutePath().normalize();

    private BundledConfigs() {
    }

    static Path yaml(String name) {
        return DIR.resolve(name + ".yaml");
    }

    static Path cell(String name) {
        return DIR.resolve(name + ".cell");
    }

    static List<Path> yamlFiles() {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] cellBytes(String name) {
        try {
            return Files.readAllBytes(cell(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
