package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.sys.Errno;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;

/**
 * Cells on the real /dev/kvm with hand-assembled real-mode guests placed at
 * the x86 reset vector (the bundled demo cells start at 0xffff0), so the
 * hypervisor is tested without the inmate library. Skipped loudly without KVM.
 */
class KvmHypervisorTest extends KvmCellTestBase {
    static final long IMAGE_BASE = 0xf0000;

    static CellConfig tinyDemo() throws Exception {
        return ConfigFiles.read(CONFIGS.resolve("tiny-demo.yaml"), CellConfig.class);
    }

    /** A 64 KiB image for 0xf0000 whose last 16 bytes (the reset vector) hold {@code code}. */
    static LoadImage resetVectorImage(int... code) {
        byte[] image = new byte[0x10000];
        for (int i = 0; i < code.length; i++) {
            image[0xfff0 + i] = (byte) code[i];
        }
        return new LoadImage("test image", image, IMAGE_BASE);
    }

    /** mov dx,0x3f8; mov al,'H'; out dx,al; mov al,'i'; out dx,al; cli; hlt; jmp back to hlt. */
    static final int[] SAY_HI = {0xba, 0xf8, 0x03, 0xb0, 'H', 0xee, 0xb0, 'i', 0xee, 0xfa, 0xf4, 0xeb, 0xfd};

    void await(Supplier<Boolean> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; console:\n" + text(hv.console())
                        + "\ncells: " + hv.cells());
            }
            Thread.sleep(10);
        }
    }

    static String text(ConsoleLog ring) {
        return ring.read(0, 1 << 20).text();
    }

    @Test
    void cellRunsItsImageAndPrintsOnItsUart() throws Exception {
        CellStatus created = hv.createCell(tinyDemo());
        assertThat(created.id()).isEqualTo(1);
        assertThat(created.state()).isEqualTo(CellState.SHUT_DOWN);
        assertThat(created.assignedCpus()).containsExactly(2);
        CellRef ref = CellRef.parse("tiny-demo");
        hv.loadCell(ref, List.of(resetVectorImage(SAY_HI)));
        assertThat(hv.startCell(ref)).isEmpty();
        ConsoleLog console = hv.cellConsole(ref);
        await(() -> text(console).contains("Hi"), "the cell's output");
        assertThat(hv.cell(ref).state()).isEqualTo(CellState.RUNNING);
        assertThat(hv.cells()).extracting(CellStatus::name).containsExactly("QEMU-VM", "tiny-demo");
        assertThat(hv.cells().get(0).assignedCpus()).containsExactly(0, 1, 3);
        assertThat(hv.statistics(ref).total().get("vmexits_pio")).isGreaterThanOrEqualTo(2);
        assertThat(text(hv.console())).contains("Created cell \"tiny-demo\"",
                "Page pool usage after cell creation: mem 256/", "remap 2/", "Started cell \"tiny-demo\"");

        // restart: runs again from the reset vector
        hv.startCell(ref);
        await(() -> text(console).contains("HiHi"), "the restarted cell's output");

        hv.destroyCell(ref);
        assertThat(hv.cells()).hasSize(1);
        assertThat(text(hv.console())).contains("Closing cell \"tiny-demo\"");
    }

    @Test
    void forbiddenPortFailsTheCellWithUpstreamsFatalLine() throws Exception {
        hv.createCell(tinyDemo());
        CellRef ref = CellRef.ofId(1);
        // mov dx,0x1234; out dx,al
        hv.loadCell(ref, List.of(resetVectorImage(0xba, 0x34, 0x12, 0xee, 0xf4)));
        hv.startCell(ref);
        await(() -> hv.cells().get(1).state() == CellState.FAILED, "the cell to fail");
        assertThat(hv.cells().get(1).failedCpus()).containsExactly(2);
        String log = text(hv.console());
        assertThat(log).contains("FATAL: Invalid PIO write, port: 1234 size: 1",
                "RIP: 0x000000000000fff4", "CS: f000 BASE: 0x00000000000f0000 AR-BYTES: 9b EFER.LMA 0",
                "Parking CPU 2 (Cell: \"tiny-demo\")");
        // a failed cell can be started again
        hv.loadCell(ref, List.of(resetVectorImage(SAY_HI)));
        hv.startCell(ref);
        ConsoleLog console = hv.cellConsole(ref);
        await(() -> text(console).contains("Hi"), "output after restart");
        assertThat(hv.cell(ref).failedCpus()).isEmpty();
    }

    @Test
    void guestKvmCannotRunFailsTheCell() throws Exception {
        hv.createCell(tinyDemo());
        CellRef ref = CellRef.ofId(1);
        // lidt [0x500] (zeros: limit 0); enter protected mode with a real-mode CS; int3: on hardware a
        // triple fault, under this host's instruction emulator an emulation failure. Either fails the cell.
        hv.loadCell(ref, List.of(resetVectorImage(0x0f, 0x01, 0x1e, 0x00, 0x05, 0x0f, 0x20, 0xc0, 0x0c, 0x01,
                0x0f, 0x22, 0xc0, 0xcc)));
        hv.startCell(ref);
        await(() -> hv.cells().get(1).state() == CellState.FAILED, "the cell to fail");
        assertThat(text(hv.console())).containsPattern(
                "FATAL: Unhandled VM-Exit, (reason 2 \\(triple fault\\)|KVM internal error, suberror \\d+)")
                .contains("Parking CPU 2 (Cell: \"tiny-demo\")");
    }

    @Test
    void writeToUnmappedMemoryIsAnInvalidMmioAccess() throws Exception {
        hv.createCell(tinyDemo());
        CellRef ref = CellRef.ofId(1);
        // mov ax,0xffff; mov ds,ax; mov byte [0x2010], 1 -> 0x102000: past the comm region and the test device
        hv.loadCell(ref, List.of(resetVectorImage(0xb8, 0xff, 0xff, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x20, 0x01, 0xf4)));
        hv.startCell(ref);
        await(() -> hv.cells().get(1).state() == CellState.FAILED, "the cell to fail");
        assertThat(text(hv.console())).contains("FATAL: Invalid MMIO/RAM write, addr: 0x0000000000102000 size: 1");
    }

    @Test
    void refusalsNameWhatIsWrong() throws Exception {
        CellConfig tiny = tinyDemo();
        hv.createCell(tiny);
        assertThatThrownBy(() -> hv.createCell(tiny)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        assertThatThrownBy(() -> hv.createCell(tiny.withName("other"))).isInstanceOfSatisfying(
                HypervisorException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EBUSY);
                    assertThat(e.getMessage()).contains("CPU 2", "held by cell \"tiny-demo\"");
                });
        assertThatThrownBy(() -> hv.startCell(CellRef.ofId(7))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        assertThatThrownBy(() -> hv.destroyCell(CellRef.ofId(0))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        // image leaving the 1 MiB loadable RAM into the comm region
        assertThatThrownBy(() -> hv.loadCell(CellRef.ofId(1),
                List.of(new LoadImage("big.bin", new byte[0x20000], 0xf0000)))).isInstanceOfSatisfying(
                HypervisorException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                    assertThat(e.getMessage()).contains("big.bin", "leaves memory region 0",
                            "overlaps the comm region (region 1 at 0x100000)");
                });
        assertThatThrownBy(() -> hv.loadCell(CellRef.ofId(1),
                List.of(new LoadImage("x.bin", new byte[16], 0x100000)))).hasMessageContaining("comm region");
        // strict partitioning on a host smaller than the config
        hv.disable(Caller.FORCING);
        hv = KvmHypervisor.enable(ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class),
                Partitioning.STRICT, state);
        int hostCpus = Runtime.getRuntime().availableProcessors();
        if (hostCpus <= 2) {
            assertThatThrownBy(() -> hv.createCell(tiny)).isInstanceOfSatisfying(HypervisorException.class, e -> {
                assertThat(e.errno()).isEqualTo(Errno.EBUSY);
                assertThat(e.getMessage()).contains("does not exist on this host", "--partitioning relaxed");
            });
        }
    }

    /** tiny-demo, but answering the comm-region protocol itself (not passive), with a reply timeout. */
    static CellConfig talkingTinyDemo(long msgReplyTimeout) throws Exception {
        CellConfig t = tinyDemo();
        return t.withFlags(t.flags() & ~CellConfig.PASSIVE_COMMREG).withMsgReplyTimeout(msgReplyTimeout);
    }

    static CellConfig apicDemo() throws Exception {
        return ConfigFiles.read(CONFIGS.resolve("apic-demo.yaml"), CellConfig.class);
    }

    /** A 64 KiB image for 0xf0000: {@code code} at its start, a far jump there at the reset vector. */
    static LoadImage codeAtImageStart(int... code) {
        byte[] image = new byte[0x10000];
        for (int i = 0; i < code.length; i++) {
            image[i] = (byte) code[i];
        }
        int[] jump = {0xea, 0x00, 0x00, 0x00, 0xf0}; // jmp 0xf000:0x0000
        for (int i = 0; i < jump.length; i++) {
            image[0xfff0 + i] = (byte) jump[i];
        }
        return new LoadImage("test image", image, IMAGE_BASE);
    }

    // Real mode, DS = 0xffff: the comm region (0x100000) is at DS:0x10; cell_state at 0x18,
    // msg_to_cell at 0x1c, reply_from_cell at 0x20.
    /** Sets its state to running/locked, then spins without ever answering a message. */
    static final int[] LOCK_AND_SPIN = {0xb8, 0xff, 0xff, 0x8e, 0xd8,
        0x66, 0xc7, 0x06, 0x18, 0x00, 0x01, 0x00, 0x00, 0x00, 0xeb, 0xfe};
    /** Answers every message with REQUEST_DENIED: clears msg_to_cell, then writes the reply. */
    static final int[] DENY_EVERYTHING = {0xb8, 0xff, 0xff, 0x8e, 0xd8,
        0x66, 0x83, 0x3e, 0x1c, 0x00, 0x00, 0x74, 0xf8,
        0x66, 0xc7, 0x06, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x66, 0xc7, 0x06, 0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0xeb, 0xe4};

    @Test
    void aLockedCellBlocksCreateAndDestroyOfOthersUntilItsReplyTimesOut() throws Exception {
        hv.createCell(talkingTinyDemo(2000)); // 2000 polls of 50 us: 0.1 s
        CellRef ref = CellRef.ofId(1);
        hv.loadCell(ref, List.of(codeAtImageStart(LOCK_AND_SPIN)));
        hv.startCell(ref);
        await(() -> hv.cells().get(1).state() == CellState.RUNNING_LOCKED, "the cell to lock");
        assertThatThrownBy(() -> hv.createCell(apicDemo())).isInstanceOfSatisfying(HypervisorException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EPERM);
            assertThat(e.getMessage()).contains("\"tiny-demo\" is running/locked");
        });
        // it never answers: the shutdown request times out, the cell is failed, and that counts as approval
        hv.loadCell(ref, List.of());
        assertThat(text(hv.console())).contains("Timeout expired while waiting for reply from target cell");
        assertThat(hv.cell(ref).state()).isEqualTo(CellState.SHUT_DOWN);
        assertThat(hv.createCell(apicDemo()).id()).isEqualTo(2);
    }

    @Test
    void whatADestroyedCellHeldAloneIsScrubbedRootSharedMemoryAndTheUnsharedRestOfARegionIncluded() throws Exception {
        // cell a: its RAM, plus 2 pages ROOTSHARED at 0x3f200000; cell b maps the second of those pages
        long shared = 0x3f200000L;
        CellConfig t = tinyDemo();
        List<MemoryRegion> ra = new java.util.ArrayList<>(t.memoryRegions());
        ra.add(new MemoryRegion(shared, 0x200000, 0x2000,
                MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.LOADABLE | MemoryRegion.ROOTSHARED));
        hv.createCell(t.withName("a").withMemoryRegions(ra));
        CellConfig b = apicDemo();
        List<MemoryRegion> rb = new java.util.ArrayList<>(b.memoryRegions());
        rb.add(new MemoryRegion(shared + 0x1000, 0x300000, 0x1000,
                MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.ROOTSHARED));
        hv.createCell(b.withMemoryRegions(rb));
        byte[] secret = new byte[0x2000];
        java.util.Arrays.fill(secret, (byte) 0x5a);
        hv.loadCell(CellRef.parse("a"), List.of(new LoadImage("secret", secret, 0x200000)));
        java.nio.file.Path file = ((KvmHypervisor) hv).memoryFile();
        assertThat(bytesAt(file, shared, 0x2000)).as("loaded").containsOnly((byte) 0x5a);

        hv.destroyCell(CellRef.parse("a"));
        assertThat(bytesAt(file, shared, 0x1000)).as("the page no one maps any more").containsOnly((byte) 0);
        assertThat(bytesAt(file, shared + 0x1000, 0x1000)).as("the page apic-demo still maps").containsOnly((byte) 0x5a);
    }

    private static byte[] bytesAt(java.nio.file.Path file, long offset, int length) throws Exception {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(length);
            while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) > 0) {
                // read on
            }
            return buf.array();
        }
    }

    @Test
    void aForcedDestroyOrDisableOverridesALockThatIsNeverLifted() throws Exception {
        hv.createCell(apicDemo()); // id 1, created while nothing is locked
        hv.createCell(talkingTinyDemo(0)); // id 2: answers nothing, ever
        CellRef locked = CellRef.ofId(2);
        hv.loadCell(locked, List.of(codeAtImageStart(LOCK_AND_SPIN)));
        hv.startCell(locked);
        await(() -> hv.cells().get(2).state() == CellState.RUNNING_LOCKED, "the cell to lock");
        assertThatThrownBy(() -> hv.destroyCell(CellRef.ofId(1))).hasMessageContaining("is running/locked");
        hv.destroyCell(CellRef.ofId(1), Caller.FORCING);
        assertThat(hv.cells()).extracting(c -> c.id()).containsExactly(0, 2);
        long pid = hv.cell(locked).pid();
        hv.disable(Caller.FORCING);
        hv = null; // disabled: nothing left for the teardown
        await(() -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "the locked cell's process to end");
    }

    /** A caller the test controls: it can withdraw, and records what it was told it waits for. */
    static final class TestCaller implements Caller {
        final java.util.List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile boolean withdrawn;

        @Override
        public boolean force() {
            return false;
        }

        @Override
        public boolean withdrawn() {
            return withdrawn;
        }

        @Override
        public void waiting(String what) {
            told.add(what);
        }
    }

    /** cli; jmp $: never answers, never exits. */
    static final int[] MUTE = {0xfa, 0xeb, 0xfe};

    /** A running cell that never answers (not passive, msg_reply_timeout 0). */
    CellRef startMuteCell() throws Exception {
        hv.createCell(talkingTinyDemo(0));
        CellRef mute = CellRef.ofId(1);
        hv.loadCell(mute, List.of(codeAtImageStart(MUTE)));
        hv.startCell(mute);
        return mute;
    }

    /** Runs {@code op} on another thread; completes with what it threw, or null. */
    static java.util.concurrent.CompletableFuture<Throwable> inBackground(ThrowingOp op) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                op.run();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
    }

    /**
     * A cell that never answers (not passive, msg_reply_timeout 0, spinning
     * with interrupts off) holds up operations on itself only: the shutdown
     * waits and says so, everything else goes on, the caller can withdraw
     * (the cell keeps running) and a forced destroy removes it.
     */
    @Test
    void aMuteCellHoldsUpOnlyItsOwnOperations() throws Exception {
        CellRef mute = startMuteCell();
        TestCaller caller = new TestCaller();
        java.util.concurrent.CompletableFuture<Throwable> shutdown = inBackground(() -> hv.loadCell(mute, List.of(), caller));
        await(() -> !caller.told.isEmpty(), "the shutdown to say what it waits for");
        assertThat(caller.told).containsExactly(
                "waiting for cell \"tiny-demo\" to answer the shutdown request; Ctrl-C gives up");
        // meanwhile: reads, and the whole lifecycle of another cell
        assertThat(hv.cells()).extracting(CellStatus::name).containsExactly("QEMU-VM", "tiny-demo");
        assertThat(hv.statistics(mute).total()).containsKey("vmexits_total");
        hv.cellConsole(mute);
        CellConfig apic = apicDemo();
        CellStatus other = hv.createCell(apic.withFlags(apic.flags() | CellConfig.PASSIVE_COMMREG));
        hv.loadCell(CellRef.ofId(other.id()), List.of(resetVectorImage(SAY_HI)));
        hv.startCell(CellRef.ofId(other.id()));
        ConsoleLog otherConsole = hv.cellConsole(CellRef.ofId(other.id()));
        await(() -> text(otherConsole).contains("Hi"), "the other cell's output");
        hv.destroyCell(CellRef.ofId(other.id()));
        assertThat(shutdown).isNotDone();
        // withdrawn (Ctrl-C): the request ends at once, the cell runs on as it was
        long withdrawnAt = System.nanoTime();
        caller.withdrawn = true;
        Throwable t = shutdown.get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(System.nanoTime() - withdrawnAt).isLessThan(1_000_000_000L);
        assertThat(t).isInstanceOfSatisfying(HypervisorException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EINTR);
            assertThat(e.getMessage()).contains("withdrawn", "its state is as it was");
        });
        assertThat(hv.cell(mute).state()).isEqualTo(CellState.RUNNING);
        // --force: no approval asked
        hv.destroyCell(mute, Caller.FORCING);
        assertThat(hv.cells()).extracting(CellStatus::name).containsExactly("QEMU-VM");
    }

    @Test
    void aForcedOperationTakesOverFromOneWaitingForTheCell() throws Exception {
        CellRef mute = startMuteCell();
        TestCaller patient = new TestCaller();
        java.util.concurrent.CompletableFuture<Throwable> waiting = inBackground(() -> hv.destroyCell(mute, patient));
        await(() -> !patient.told.isEmpty(), "the destroy to wait");
        hv.loadCell(mute, List.of(), Caller.FORCING); // shutdown --force
        assertThat(waiting.get(5, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOfSatisfying(
                HypervisorException.class, e -> assertThat(e.getMessage()).contains("a forced operation took over"));
        assertThat(hv.cell(mute).state()).isEqualTo(CellState.SHUT_DOWN);
    }

    @Test
    void aCellThatDeniesKeepsRunningAndItsOperationsFailWithEperm() throws Exception {
        hv.createCell(talkingTinyDemo(0));
        CellRef ref = CellRef.ofId(1);
        hv.loadCell(ref, List.of(codeAtImageStart(DENY_EVERYTHING)));
        hv.startCell(ref);
        // creating another cell sends it RECONFIG_COMPLETED: its refusal of a notification does not matter
        assertThat(hv.createCell(apicDemo()).id()).isEqualTo(2);
        for (ThrowingOp op : List.<ThrowingOp>of(() -> hv.loadCell(ref, List.of()), () -> hv.startCell(ref),
                () -> hv.destroyCell(ref))) {
            assertThatThrownBy(op::run).isInstanceOfSatisfying(HypervisorException.class, e -> {
                assertThat(e.errno()).isEqualTo(Errno.EPERM);
                assertThat(e.getMessage()).isEqualTo("cell \"tiny-demo\" refused the shutdown request");
            });
        }
        assertThat(hv.cell(ref).state()).isEqualTo(CellState.RUNNING);
        // disable stops at the first refusal
        assertThatThrownBy(() -> hv.disable()).isInstanceOf(HypervisorException.class);
        assertThat(hv.cells()).hasSize(3);
    }

    @Test
    void aForbiddenMsrWriteFailsTheCell() throws Exception {
        hv.createCell(tinyDemo());
        CellRef ref = CellRef.ofId(1);
        // mov ecx,0x1b; xor eax,eax; xor edx,edx; wrmsr: clearing IA32_APIC_BASE, which upstream forbids
        hv.loadCell(ref, List.of(resetVectorImage(0x66, 0xb9, 0x1b, 0x00, 0x00, 0x00, 0x66, 0x31, 0xc0, 0x66, 0x31,
                0xd2, 0x0f, 0x30, 0xf4)));
        hv.startCell(ref);
        await(() -> hv.cells().get(1).state() == CellState.FAILED, "the cell to fail");
        assertThat(text(hv.console())).contains("FATAL: Unhandled MSR write: 1b", "Parking CPU 2");
        assertThat(hv.statistics(ref).total().get("vmexits_msr_other")).isEqualTo(1);
    }

    /**
     * Strict partitioning on this host: a cell on host CPU 1 takes that CPU
     * from every other host task (a process started meanwhile may only run
     * on CPU 0) and gives it back when destroyed. Where the host has no
     * cpuset hierarchy the cell is only pinned, and the test says so.
     */
    @Test
    void strictPartitioningKeepsHostTasksOffACellsCpu() throws Exception {
        int hostCpus = Runtime.getRuntime().availableProcessors();
        assumeTrue(hostCpus >= 2, "needs a host with 2 CPUs");
        CpusetIsolation probe = CpusetIsolation.detect();
        if (!probe.available()) {
            System.err.println("!!!!! CPUSET TEST SKIPPED: " + probe.describe() + " !!!!!");
            assumeTrue(false, probe.describe());
        }
        hv.disable(Caller.FORCING);
        hv = KvmHypervisor.enable(ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class),
                Partitioning.STRICT, state);
        assertThat(hv.notices()).anyMatch(n -> n.startsWith("CPU isolation: cgroup"));
        CellConfig t = tinyDemo();
        int cpu = hostCpus - 1;
        CellConfig onLastCpu = t.withName("isolated").withCpus(io.jailhouse.config.Bitmap.of(t.cpus().sizeBytes(), cpu));
        hv.createCell(onLastCpu);
        try {
            assertThat(allowedCpusOfANewProcess()).isEqualTo(hostCpus == 2 ? "0" : "0-" + (cpu - 1));
            assertThat(text(hv.console())).contains("cell \"isolated\"");
            hv.loadCell(CellRef.ofId(1), List.of(resetVectorImage(SAY_HI)));
            hv.startCell(CellRef.ofId(1));
            ConsoleLog console = hv.cellConsole(CellRef.ofId(1));
            await(() -> text(console).contains("Hi"), "the isolated cell's output");
        } finally {
            hv.destroyCell(CellRef.ofId(1));
        }
        assertThat(allowedCpusOfANewProcess()).isEqualTo("0-" + cpu);
    }

    private static String allowedCpusOfANewProcess() throws Exception {
        Process p = new ProcessBuilder("grep", "Cpus_allowed_list", "/proc/self/status").start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor();
        return out.replaceAll(".*:\\s*", "");
    }

    @Test
    void memoryConflictsBetweenCellsAreRefused() throws Exception {
        hv.createCell(tinyDemo());
        CellConfig t = tinyDemo();
        // CPU 3 is free, but the RAM at 0x3ee00000 is tiny-demo's
        CellConfig sameRam = t.withName("same-ram").withCpus(io.jailhouse.config.Bitmap.of(t.cpus().sizeBytes(), 3));
        assertThatThrownBy(() -> hv.createCell(sameRam)).isInstanceOfSatisfying(HypervisorException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EBUSY);
            assertThat(e.getMessage()).startsWith("Overlapping memory regions between cells:")
                    .contains("0x3ee00000", "same-ram", "tiny-demo");
        });
        assertThat(hv.cells()).hasSize(2);
    }

    @Test
    void memoryAndCountersOfADestroyedCellDoNotReachTheNextOne() throws Exception {
        hv.createCell(tinyDemo());
        CellRef ref = CellRef.ofId(1);
        LoadImage image = resetVectorImage(SAY_HI);
        java.util.Arrays.fill(image.data(), 0, 0xfff0, (byte) 0xaa);
        hv.loadCell(ref, List.of(image));
        hv.startCell(ref);
        ConsoleLog console = hv.cellConsole(ref);
        await(() -> text(console).contains("Hi"), "the cell's output");
        assertThat(hv.statistics(ref).total().get("vmexits_total")).isPositive();
        ReservedMemory memory = ((KvmHypervisor) hv).reservedMemory();
        long imagePhys = 0x3ee00000L + 0xf0000;
        assertThat((byte) memory.readInt(imagePhys)).isEqualTo((byte) 0xaa);
        hv.destroyCell(ref);
        for (long off = 0; off < 0x10000; off += 0x1000) {
            assertThat(memory.readInt(imagePhys + off) | memory.readInt(imagePhys + off + 4))
                    .as("reserved memory at 0x%x after destroy", imagePhys + off).isZero();
        }
        hv.createCell(tinyDemo());
        assertThat(hv.statistics(CellRef.ofId(1)).total().values()).containsOnly(0L);
    }

    /**
     * Listing never waits for management, so it may meet a cell that destroy
     * is unmapping: that must be an absent cell, never a crash of the JVM
     * (before, Cell.status read the comm page after munmap: SIGSEGV).
     */
    @Test
    void listingWhileCellsWithFortyMiBOfRamAreDestroyedNeverCrashes() throws Exception {
        CellConfig big = tinyDemo().withMemoryRegions(List.of(
                new io.jailhouse.config.MemoryRegion(0x3c000000L, 0x200000, 40L << 20, io.jailhouse.config.MemoryRegion.READ
                        | io.jailhouse.config.MemoryRegion.WRITE | io.jailhouse.config.MemoryRegion.EXECUTE
                        | io.jailhouse.config.MemoryRegion.LOADABLE),
                tinyDemo().memoryRegions().get(1)));
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong lists = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread poller = Thread.ofPlatform().start(() -> {
            while (!stop.get()) {
                try {
                    for (CellStatus s : hv.cells()) {
                        if (s.id() != 0) {
                            hv.cell(CellRef.ofId(s.id()));
                        }
                    }
                } catch (HypervisorException e) {
                    if (e.errno() != io.jailhouse.sys.Errno.ENOENT) {
                        failure.compareAndSet(null, e);
                    }
                } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                }
                lists.incrementAndGet();
            }
        });
        try {
            byte[] ram = new byte[40 << 20];
            java.util.Arrays.fill(ram, (byte) 0x5a);
            for (int round = 0; round < 10; round++) {
                hv.createCell(big);
                CellRef ref = CellRef.ofName("tiny-demo");
                hv.loadCell(ref, List.of(new LoadImage("40 MiB", ram, 0x200000)));
                hv.destroyCell(ref);
            }
        } finally {
            stop.set(true);
            poller.join();
        }
        assertThat(failure.get()).as("what listing met").isNull();
        assertThat(lists.get()).as("listing went on throughout").isGreaterThan(10);
        assertThat(hv.cells()).extracting(CellStatus::name).containsExactly("QEMU-VM");
    }

    @FunctionalInterface
    interface ThrowingOp {
        void run() throws Exception;
    }

    @Test
    void startWithoutImageAtResetAddressWarns() throws Exception {
        hv.createCell(tinyDemo());
        hv.loadCell(CellRef.ofId(1), List.of(new LoadImage("tiny.bin", SAY_HI.length == 0 ? new byte[0]
                : new byte[0x1000], 0)));
        List<String> warnings = hv.startCell(CellRef.ofId(1));
        assertThat(warnings).singleElement().asString().contains("reset address 0xffff0", "0x0-0xfff",
                "-a 0xf0000");
    }
}
