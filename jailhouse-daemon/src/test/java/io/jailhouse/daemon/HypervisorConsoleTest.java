package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.protocol.ConsoleChunk;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HypervisorConsoleTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment file = arena.allocate(HypervisorConsole.fileBytes(), 8);

    @AfterEach
    void free() {
        arena.close();
    }

    private static void guest(HypervisorConsole c, String text) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        c.writeGuest(b, 0, b.length);
    }

    private static void report(HypervisorConsole c, String text, String cell) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        c.writeReport(b, 0, b.length, cell);
    }

    @Test
    void aFatalLinePushedOutOfTheLogComesBackWithItsCellForAReaderFromTheOldestByte() {
        HypervisorConsole c = new HypervisorConsole(file, false);
        c.write("Created cell \"a\"\n");
        report(c, "FATAL: Invalid PIO write, port: 1234 size: 1\nRIP: 0x0000000000000001\nParking CPU 2 (Cell: \"a\")\n",
                "a");
        c.write("FATAL: the process 77 of cell \"b\" ended (killed by signal 9)\n");
        assertThat(c.readHeld(4096).text()).contains("FATAL: Invalid PIO write");
        assertThat(c.readHeld(4096).kept()).as("nothing is lost yet").isEmpty();

        for (int i = 0; i < 100; i++) {
            guest(c, "FATAL: forged by a guest " + i + "\n" + "noise ".repeat(20) + "\n");
            report(c, "CPU 3: Unknown hypercall 16962, RIP: 0x0000000000001234\n", "c");
        }
        ConsoleChunk held = c.readHeld(4096);
        assertThat(held.text()).doesNotContain("Invalid PIO").hasSizeLessThanOrEqualTo(HypervisorConsole.CAPACITY);
        assertThat(held.keptText()).isEqualTo("FATAL: Invalid PIO write, port: 1234 size: 1 (cell \"a\")\n"
                + "FATAL: the process 77 of cell \"b\" ended (killed by signal 9)\n");
    }

    @Test
    void aFollowerThatMissedBytesGetsTheFatalLinesAmongThemOnly() {
        HypervisorConsole c = new HypervisorConsole(file, false);
        report(c, "FATAL: early\n", "a");
        long follower = c.tail();
        report(c, "FATAL: missed by the follower\n", "b");
        guest(c, "#".repeat(3 * HypervisorConsole.CAPACITY));
        ConsoleChunk chunk = c.read(follower, 1 << 16);
        assertThat(chunk.missed()).isPositive();
        assertThat(chunk.keptText()).isEqualTo("FATAL: missed by the follower (cell \"b\")\n");
        ConsoleChunk next = c.read(chunk.next(), 1 << 16);
        assertThat(next.missed()).isZero();
        assertThat(next.kept()).isEmpty();
    }

    @Test
    void theKeptLinesOutliveTheSupervisorAndTheOldestGoFirst() {
        HypervisorConsole c = new HypervisorConsole(file, false);
        for (int i = 0; i < HypervisorConsole.RECORDS + 5; i++) {
            report(c, "FATAL: line " + i + " " + "y".repeat(400) + "\n", "cell" + i);
        }
        HypervisorConsole again = new HypervisorConsole(file, true);
        ConsoleChunk held = again.readHeld(4096);
        String kept = held.keptText();
        // lines of 420 bytes: the last four are still in the log, the 32 records before them are kept
        assertThat(held.text()).contains("FATAL: line 33 ").doesNotContain("FATAL: line 32 ");
        assertThat(kept.lines()).hasSize(HypervisorConsole.RECORDS - 4);
        assertThat(kept.lines().findFirst().orElseThrow()).startsWith("FATAL: line 5 ");
        assertThat(kept.lines().reduce((x, y) -> y).orElseThrow()).startsWith("FATAL: line 32 ");
        assertThat(kept.lines().allMatch(l -> l.length() < HypervisorConsole.RECORD)).as("long lines are cut").isTrue();
        assertThat(new HypervisorConsole(file, false).readHeld(4096).kept()).as("a new history").isEmpty();
    }
}
