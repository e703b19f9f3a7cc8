package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.sys.Libc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A cell process confines itself before its guest's first instruction, and
 * a call its filter forbids ends the process, which fails the cell.
 */
class ConfinementKvmTest extends KvmCellTestBase {
    private Path triggerDir;
    private Path trigger;

    @Override
    KvmHypervisor.Settings settings() throws Exception {
        // somewhere the cell's own user can look (the test's temporary directories are the test user's only)
        triggerDir = Files.createTempDirectory(Path.of("/tmp"), "jailhouse-confinement",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        trigger = triggerDir.resolve("forbidden");
        KvmHypervisor.Settings s = super.settings();
        return new KvmHypervisor.Settings(s.partitioning(), s.emulations(), s.memoryDirectory(), s.stateDirectory(),
                s.launch().withMain("io.jailhouse.hypervisor.ForbiddenCallCellMain",
                        List.of("-Djailhouse.test.trigger=" + trigger)));
    }

    @AfterEach
    void removeTrigger() throws Exception {
        Files.deleteIfExists(trigger);
        Files.deleteIfExists(triggerDir);
    }

    @Test
    void aRunningCellsProcessIsConfinedAndAForbiddenCallFailsTheCell() throws Exception {
        CellConfig tiny = bundledCell("tiny-demo").withName("confined");
        hv.createCell(tiny);
        load("confined", "tiny-demo", null);
        awaitConsole("confined", "Hello from this tiny cell!");
        CellRef ref = CellRef.parse("confined");
        long pid = hv.cell(ref).pid();

        Map<String, String> status = procStatus(pid);
        assertThat(status).containsEntry("Seccomp", "2").containsEntry("NoNewPrivs", "1")
                .containsEntry("CapEff", "0000000000000000").containsEntry("CapPrm", "0000000000000000");
        if (Libc.geteuid() == 0) {
            int uid = CellProcess.uidOf(hv.cell(ref).id());
            assertThat(status.get("Uid")).isEqualTo(uid + "\t" + uid + "\t" + uid + "\t" + uid);
            assertThat(status.get("Groups")).isEmpty();
        }
        assertThat(descriptorTargets(pid)).as("the cell process's descriptors")
                .noneMatch(t -> t.contains("jailhouse-memory")) // its regions are mapped, the file is not held
                .noneMatch(t -> t.contains("control.sock"));

        Files.createFile(trigger);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (hv.cell(ref).state() != CellState.FAILED) {
            assertThat(System.nanoTime()).as("the cell to fail").isLessThan(deadline);
            Thread.sleep(20);
        }
        assertThat(hv.console().read(0, 1 << 20).text()).contains("FATAL: the process " + pid
                + " of cell \"confined\" ended (killed by signal 31 (SIGSYS: a system call its seccomp filter forbids))");
        assertThat(Files.readString(state.resolve(hv.cell(ref).id() + ".log")))
                .doesNotContain("forbidden call returned");
    }

    private static Map<String, String> procStatus(long pid) throws Exception {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .map(l -> l.split(":\\s*", 2)).filter(kv -> kv.length == 2)
                .collect(Collectors.toMap(kv -> kv[0], kv -> kv[1].trim(), (a, b) -> a));
    }

    private static List<String> descriptorTargets(long pid) throws Exception {
        List<String> out = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    out.add(Files.readSymbolicLink(fd).toString());
                } catch (java.io.IOException e) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }
}
