package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.LoadImage;

/**
 * PCI in cells: pci-demo enumerating its emulated HDA controller and
 * taking its MSI, ivshmem-demo finding its ivshmem device, and two
 * ivshmem-demo cells ringing each other's doorbells over one link.
 */
class PciCellTest extends KvmCellTestBase {
    @Test
    void pciDemoFindsTheEmulatedHdaAndReceivesItsMsi() throws Exception {
        hv.createCell(bundledCell("pci-demo"));
        load("pci-demo", "pci-demo", null); // as the walkthrough: -a 0xf0000, no command line
        String out = awaitConsole("pci-demo", "HDA MSI received (STATESTS: 0001)");
        assertThat(out).contains("Found 8086:2668 at 00:1b.0", "HDBAR at ");
        assertThat(hv.cell(CellRef.parse("pci-demo")).state()).isEqualTo(CellState.RUNNING);
        // reload and restart, as the walkthrough's step 9
        load("pci-demo", "pci-demo", null);
        ConsoleLog c = hv.cellConsole(CellRef.parse("pci-demo"));
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (c.read(0, 1 << 20).text().split("HDA MSI received", -1).length < 3) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @Test
    void ivshmemDemoFindsItsDevice() throws Exception {
        hv.createCell(bundledCell("ivshmem-demo"));
        load("ivshmem-demo", "ivshmem-demo", "count=2 period=200");
        String out = awaitConsole("ivshmem-demo", "IVSHMEM: done");
        assertThat(out).contains("IVSHMEM: Found device at 01:0e.0", "IVSHMEM: ID is 1", "IVSHMEM: max. peers is 3",
                "IVSHMEM: initialized device");
        assertThat(hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text())
                .contains("Adding virtual PCI device 01:0e.0 to cell \"ivshmem-demo\"");
    }

    @Test
    void twoCellsRingEachOthersDoorbellsAndSeeEachOthersStateAndOutput() throws Exception {
        hv.createCell(bundledCell("ivshmem-demo"));
        hv.createCell(bundledCell("ivshmem-demo-2")); // the second peer of the link

        assertThat(hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text())
                .contains("Shared memory connection established");
        // each rings the vector equal to the other's ID, which the other counts and publishes:
        // R/W section slot ID = count, own output section word 0 = 10 x count
        load("ivshmem-demo", "ivshmem-demo", "count=4 period=300 vector=2");
        load("ivshmem-demo-2", "ivshmem-demo", "count=4 period=300 target=1 vector=1");
        // once both are sending, their doorbells are wired in the kernel: no MMIO exit per doorbell
        awaitConsole("ivshmem-demo", "IVSHMEM: sending IRQ");
        awaitConsole("ivshmem-demo-2", "IVSHMEM: sending IRQ");
        long mmio1 = mmioExits("ivshmem-demo");
        long mmio2 = mmioExits("ivshmem-demo-2");
        String a = awaitConsole("ivshmem-demo", "IVSHMEM: done");
        String b = awaitConsole("ivshmem-demo-2", "IVSHMEM: done");
        assertThat(a).contains("IVSHMEM: ID is 1", "IVSHMEM: got interrupt 1 (#3)", "state[2] = 3");
        assertThat(b).contains("IVSHMEM: ID is 2", "IVSHMEM: got interrupt 2 (#3)", "state[1] = 2");
        // what the other published, as each reads it in the shared memory (output sections at 0x0/0x2000/0x4000)
        assertThat(a).containsPattern("rw\\[2\\] = [1-4]\\b").containsPattern("in@0x4000 = [1-4]0\\b");
        assertThat(b).containsPattern("rw\\[1\\] = [1-4]\\b").containsPattern("in@0x2000 = [1-4]0\\b");
        // 4 doorbells each, at most one of them before the sample
        assertThat(mmioExits("ivshmem-demo") - mmio1).as("MMIO exits of peer 1 while ringing").isLessThanOrEqualTo(1);
        assertThat(mmioExits("ivshmem-demo-2") - mmio2).as("MMIO exits of peer 2 while ringing").isLessThanOrEqualTo(1);
    }

    /**
     * A guest that toggles INT_CONTROL thousands of times spends the cell's
     * wiring budget: the console says so (once), the ioctls stop, and its
     * doorbells still arrive, through the hypervisor's path.
     */
    @Test
    void aGuestReprogrammingItsInterruptsInALoopIsDeferredAndItsDoorbellsStillArrive() throws Exception {
        hv.createCell(bundledCell("ivshmem-demo"));
        hv.createCell(bundledCell("ivshmem-demo-2"));
        Path bin = Path.of("..", "inmates", "tests", "x86", "ivshmem-pingpong.bin");
        for (String[] c : new String[][] {{"ivshmem-demo-2", "role=pong target=1 toggles=3000"},
            {"ivshmem-demo", "role=ping target=2 rounds=50"}}) {
            hv.loadCell(CellRef.parse(c[0]), List.of(new LoadImage(bin.toString(), Files.readAllBytes(bin), 0xf0000),
                    new LoadImage("string", (c[1] + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
            hv.startCell(CellRef.parse(c[0]));
        }
        assertThat(awaitConsole("ivshmem-demo-2", "pingpong: peer 2 ready")).contains("INT_CONTROL toggled 3000 times");
        assertThat(awaitConsole("ivshmem-demo", "pingpong: done")).contains("pingpong: 50 rounds");
        String said = hv.console().readHeld(1 << 16).text();
        // 6000 changes of INT_CONTROL: a line per vector when its wiring is deferred, again only after the
        // budget let one wiring through (one a second at most), never a line per change
        long told = said.lines().filter(l -> l.contains("re-programmed more than 16 times a second")).count();
        assertThat(told).isBetween(1L, 20L);
    }

    void awaitFailed(String cell) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (hv.cell(CellRef.parse(cell)).state() != CellState.FAILED) {
            assertThat(System.nanoTime()).as("%s to fail; hypervisor:%n%s", cell,
                    hv.console().read(0, 4096).text()).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    String hypervisorConsole() {
        return hv.console().read(0, ConsoleRing.HYPERVISOR_CAPACITY).text();
    }

    /** The shared memory is only as writable as the config says: another peer's output section, the state table. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"0x3f0fa000", "0x3f0f0000"})
    void writesToReadOnlySharedMemoryFailTheCell(String address) throws Exception {
        hv.createCell(bundledCell("ivshmem-demo"));
        Path bin = Path.of("..", "inmates", "tests", "x86", "ro-write.bin");
        hv.loadCell(CellRef.parse("ivshmem-demo"), List.of(new LoadImage(bin.toString(), Files.readAllBytes(bin), 0xf0000),
                new LoadImage("string", ("addr=" + address + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
        hv.startCell(CellRef.parse("ivshmem-demo"));
        awaitFailed("ivshmem-demo");
        assertThat(hypervisorConsole()).contains(String.format(
                "FATAL: Invalid MMIO/RAM write, addr: 0x%016x size: 4", Long.decode(address)));
        assertThat(awaitConsole("ivshmem-demo", "ro-write: read 0x")).doesNotContain("survived");
    }

    /**
     * Real-mode code at the reset vector: {@code mov eax, ADDRESS; mov dx, 0xcf8; out dx, eax;
     * mov dx, 0xcfc; mov ax, 0x1234; out dx, ax; hlt}: a config write of 2 bytes at register 0.
     */
    static LoadImage configWrite(int address) {
        return KvmHypervisorTest.codeAtImageStart(0x66, 0xb8, address & 0xff, address >> 8 & 0xff,
                address >> 16 & 0xff, address >>> 24, 0xba, 0xf8, 0x0c, 0x66, 0xef, 0xba, 0xfc, 0x0c, 0xb8, 0x34, 0x12,
                0xef, 0xf4);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "0x80017000 | FATAL: Invalid PCI config write, device 01:0e.0, reg: 0x0, size: 2",
        "0x80020000 | FATAL: Invalid PCI config write, device 02:00.0, reg: 0x0, size: 2"})
    void forbiddenConfigWritesFailTheCell(String latch, String fatal) throws Exception {
        hv.createCell(bundledCell("ivshmem-demo"));
        hv.loadCell(CellRef.parse("ivshmem-demo"), List.of(configWrite((int) (long) Long.decode(latch))));
        hv.startCell(CellRef.parse("ivshmem-demo"));
        awaitFailed("ivshmem-demo");
        assertThat(hypervisorConsole()).contains(fatal, "Parking CPU 1 (Cell: \"ivshmem-demo\")");
    }

}
