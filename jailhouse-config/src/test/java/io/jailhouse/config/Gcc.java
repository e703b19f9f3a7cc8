package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Test support for everything that needs a C compiler. */
final class Gcc {
    private static Boolean available;
    private static boolean warned;

    private Gcc() {
    }

    /**
     * Skips the calling test when gcc is missing, and says so on stderr too:
     * a silently skipped C test would look like a passing one.
     */
    static void assume() {
        if (!available() && !warned) {
            warned = true;
            System.err.println("WARNING: gcc is not on PATH; C configuration tests are SKIPPED");
        }
        Assumptions.assumeTrue(available(), "gcc is not on PATH: C configuration tests are SKIPPED");
    }

    static synchronized boolean available() {
        if (available == null) {
            try {
                Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                available = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException e) {
                available = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                available = false;
            }
        }
        return available;
    }

    /** A C config from src/test/resources/c-configs. */
    static Path config(String fileName) {
        URL url = Gcc.class.getResource("/c-configs/" + fileName);
        assertThat(url).as("test resource c-configs/%s", fileName).isNotNull();
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs gcc directly (for checks on the headers themselves); returns exit status and output. */
    static Result run(Path dir, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("gcc");
        cmd.addAll(args);
        Path log = Files.createTempFile(dir, "gcc", ".log");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("gcc finished").isTrue();
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    record Result(int exitStatus, String output) {
    }
}
