package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.sys.OpenDescriptors;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Failure paths of cell creation: a cell process that cannot start its
 * vCPU threads (its pids cgroup is full) fails the create with a clear
 * error, the process ends, and the supervisor holds exactly what it held
 * before; the next create works.
 */
class CellCreationFailureKvmTest extends KvmCellTestBase {
    @Test
    void aCellWhoseThreadsCannotStartFailsToCreateAndLeavesNothingBehind() throws Exception {
        KvmHypervisor kvm = (KvmHypervisor) hv;
        long spare = awaitSpare(kvm);
        long fdsBefore = OpenDescriptors.count();
        List<CellStatus> cellsBefore = hv.cells();
        try (PidsLimit limit = PidsLimit.create("jailhouse-test-" + ProcessHandle.current().pid())) {
            limit.hold(spare, 0); // not one more thread
            assertThatThrownBy(() -> hv.createCell(KvmHypervisorTest.tinyDemo()))
                    .isInstanceOf(HypervisorException.class)
                    .hasMessageContaining("tiny-demo").hasMessageContaining("cannot start its threads");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (ProcessHandle.of(spare).map(ProcessHandle::isAlive).orElse(false)) {
                assertThat(System.nanoTime()).as("the failed cell's process ends").isLessThan(deadline);
                Thread.sleep(20);
            }
        }
        assertThat(hv.cells()).as("nothing changed").isEqualTo(cellsBefore);
        awaitSpare(kvm); // the next spare holds what the last one did
        assertThat(OpenDescriptors.count()).as("the supervisor's descriptors").isEqualTo(fdsBefore);
        hv.createCell(KvmHypervisorTest.tinyDemo());
        hv.loadCell(CellRef.parse("tiny-demo"), List.of(KvmHypervisorTest.resetVectorImage(KvmHypervisorTest.SAY_HI)));
        hv.startCell(CellRef.parse("tiny-demo"));
        awaitConsole("tiny-demo", "Hi");
    }

    private static long awaitSpare(KvmHypervisor kvm) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (kvm.sparePid() < 0) {
            assertThat(System.nanoTime()).as("a spare cell process ready").isLessThan(deadline);
            Thread.sleep(20);
        }
        return kvm.sparePid();
    }
}
