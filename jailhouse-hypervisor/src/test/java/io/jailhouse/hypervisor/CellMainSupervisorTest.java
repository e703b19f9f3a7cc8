package io.jailhouse.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.boundary.CellChannel;
import io.jailhouse.sys.RequiresKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cell process that has no cell yet (a spare) ends with the supervisor
 * that started it, instead of waiting out its 30 s for a connection that
 * will never come (a killed supervisor's spare used to linger so).
 */
@RequiresKvm
class CellMainSupervisorTest {
    @TempDir
    Path dir;

    @Test
    void aProcessWithoutACellEndsWhenItsSupervisorDoes() throws Exception {
        Process supervisor = new ProcessBuilder("sleep", "2").start();
        Path log = dir.resolve("spare.log");
        Process spare = cellProcess(dir.resolve("spare.sock"), log, supervisor.pid());
        assertThat(supervisor.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(spare.waitFor(10, TimeUnit.SECONDS)).as("the spare ends soon after its supervisor").isTrue();
        assertThat(Files.readString(log)).contains("supervisor " + supervisor.pid()
                + " ended before it gave this process a cell");
        assertThat(dir.resolve("spare.sock")).as("its socket is removed").doesNotExist();
    }

    @Test
    void aProcessWhoseSupervisorIsAlreadyGoneEndsAtOnce() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path log = dir.resolve("late.log");
        Process spare = cellProcess(dir.resolve("late.sock"), log, gone.pid());
        assertThat(spare.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(log)).contains("supervisor " + gone.pid() + " is gone");
    }

    /** A cell process without a cell, listening on {@code socket}, told that {@code supervisor} started it. */
    private static Process cellProcess(Path socket, Path log, long supervisor) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CellMain.class.getName(), socket.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put(CellChannel.SUPERVISOR_PID_VARIABLE, Long.toString(supervisor));
        return pb.start();
    }
}
