package io.jailhouse.daemon;

import io.jailhouse.boundary.SharedByteRing;
import io.jailhouse.protocol.ConsoleChunk;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * The hypervisor console: upstream's log of {@value #CAPACITY} bytes, kept
 * in a file of the run directory so its history outlives this supervisor,
 * and beside it the FATAL lines it took in. However much one cell writes,
 * another cell's FATAL report stays within reach: a reader that missed
 * bytes, or reads from the oldest byte held, gets the FATAL lines among the
 * bytes it can no longer read (with their cells) before the bytes
 * themselves ({@link ConsoleChunk#kept}).
 *
 * <p>Only the hypervisor's own words are taken for FATAL lines: the
 * supervisor's and those a cell process reports. A guest's debug-console
 * bytes go into the log and nowhere else, so a guest cannot forge one.
 *
 * <p>Layout: the log ring, then the kept ring of {@value #RECORDS} records
 * of {@value #RECORD} bytes, each {@code "POSITION LINE\n"} padded with
 * zeros, POSITION being where the line starts in the log. Records are
 * whole, so the kept ring's oldest byte always starts one. Writers are
 * serialized here.
 */
final class HypervisorConsole implements ConsoleLog {
    /** Upstream's hypervisor console holds 2048 bytes. */
    static final int CAPACITY = 2048;
    static final int RECORD = 256;
    static final int RECORDS = 32;
    private static final byte[] FATAL = "FATAL:".getBytes(StandardCharsets.ISO_8859_1);

    private final SharedByteRing log;
    /** The log as readers see it. */
    private final SharedConsoleLog reader;
    private final SharedByteRing kept;
    /** Hears each FATAL line a cell process reported, with the cell's name. */
    private final java.util.function.BiConsumer<String, String> cellFatal;

    /** Bytes of the console file. */
    static long fileBytes() {
        return SharedByteRing.bytesFor(CAPACITY) + SharedByteRing.bytesFor(RECORD * RECORDS);
    }

    /**
     * @param memory the console file's mapping, {@link #fileBytes} long
     * @param keepHistory go on with what an earlier supervisor left (a ring that is unreadable starts empty)
     */
    HypervisorConsole(MemorySegment memory, boolean keepHistory) {
        this(memory, keepHistory, (cell, line) -> { });
    }

    /** @param cellFatal hears each FATAL line a cell process reports (cell name, line), under this console's lock */
    HypervisorConsole(MemorySegment memory, boolean keepHistory,
            java.util.function.BiConsumer<String, String> cellFatal) {
        this.cellFatal = cellFatal;
        long logBytes = SharedByteRing.bytesFor(CAPACITY);
        this.log = ring(memory.asSlice(0, logBytes), keepHistory);
        this.reader = new SharedConsoleLog(log);
        this.kept = ring(memory.asSlice(logBytes, SharedByteRing.bytesFor(RECORD * RECORDS)), keepHistory);
    }

    private static SharedByteRing ring(MemorySegment memory, boolean keep) {
        if (keep) {
            try {
                return SharedByteRing.open(memory);
            } catch (IllegalArgumentException e) {
                // unreadable: start again
            }
        }
        return SharedByteRing.format(memory);
    }

    /** The supervisor's own lines; each FATAL line among them is kept. */
    synchronized void write(String text) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        writeLines(b, 0, b.length, null);
    }

    /**
     * Whole lines a cell process reported (the hypervisor's words about the
     * cell); each FATAL line among them is kept with the cell's name.
     */
    synchronized void writeReport(byte[] b, int offset, int length, String cell) {
        writeLines(b, offset, length, cell);
    }

    /** Bytes a guest wrote on the debug console: into the log, never taken for a FATAL line. */
    synchronized void writeGuest(byte[] b, int offset, int length) {
        log.write(b, offset, length);
    }

    private void writeLines(byte[] b, int offset, int length, String cell) {
        long start = log.tail();
        log.write(b, offset, length);
        int end = offset + length;
        for (int line = offset; line < end; ) {
            int eol = line;
            while (eol < end && b[eol] != '\n') {
                eol++;
            }
            if (startsWithFatal(b, line, eol)) {
                String text = new String(b, line, eol - line, StandardCharsets.ISO_8859_1);
                keep(start + (line - offset), text, cell);
                if (cell != null) {
                    cellFatal.accept(cell, text);
                }
            }
            line = eol + 1;
        }
    }

    private static boolean startsWithFatal(byte[] b, int from, int to) {
        if (to - from < FATAL.length) {
            return false;
        }
        for (int i = 0; i < FATAL.length; i++) {
            if (b[from + i] != FATAL[i]) {
                return false;
            }
        }
        return true;
    }

    private void keep(long position, String line, String cell) {
        String text = cell == null || line.contains("\"" + cell + "\"") ? line : line + " (cell \"" + cell + "\")";
        byte[] head = (position + " ").getBytes(StandardCharsets.ISO_8859_1);
        byte[] body = text.getBytes(StandardCharsets.ISO_8859_1);
        byte[] record = new byte[RECORD];
        int n = Math.min(body.length, RECORD - 1 - head.length); // a longer line is cut; the log has it whole
        System.arraycopy(head, 0, record, 0, head.length);
        System.arraycopy(body, 0, record, head.length, n);
        record[head.length + n] = '\n';
        kept.write(record, 0, RECORD);
    }

    /** The kept FATAL lines that started in the log at positions {@code from} (inclusive) to {@code to}. */
    private synchronized byte[] keptBetween(long from, long to) {
        if (to <= from) {
            return new byte[0];
        }
        byte[] all = kept.read(0, RECORD * RECORDS).data();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int r = 0; r + RECORD <= all.length; r += RECORD) {
            int space = r;
            long position = 0;
            while (space < r + RECORD && all[space] >= '0' && all[space] <= '9' && space - r < 19) {
                position = position * 10 + (all[space] - '0');
                space++;
            }
            if (space == r || space >= r + RECORD || all[space] != ' ') {
                continue; // not a record (a supervisor that died while writing it)
            }
            int eol = space + 1;
            while (eol < r + RECORD && all[eol] != '\n') {
                eol++;
            }
            if (eol < r + RECORD && position >= from && position < to) {
                out.write(all, space + 1, eol - space);
            }
        }
        return out.toByteArray();
    }

    @Override
    public long tail() {
        return reader.tail();
    }

    @Override
    public long head() {
        return reader.head();
    }

    @Override
    public ConsoleChunk read(long position, int max) {
        return withKept(Math.max(position, 0), reader.read(position, max));
    }

    /** From the oldest byte held, with every FATAL line the log no longer holds. */
    @Override
    public ConsoleChunk readHeld(int max) {
        long head = reader.head();
        ConsoleChunk c = reader.read(head, max);
        return new ConsoleChunk(c.data(), c.missed(), c.next(), keptBetween(0, head + c.missed()));
    }

    @Override
    public ConsoleChunk await(long position, int max, long timeoutMillis) throws InterruptedException {
        return withKept(Math.max(position, 0), reader.await(position, max, timeoutMillis));
    }

    private ConsoleChunk withKept(long from, ConsoleChunk c) {
        return c.missed() == 0 ? c
                : new ConsoleChunk(c.data(), c.missed(), c.next(), keptBetween(from, from + c.missed()));
    }
}
