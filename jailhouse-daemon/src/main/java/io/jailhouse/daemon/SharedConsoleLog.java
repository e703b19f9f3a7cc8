package io.jailhouse.daemon;

import io.jailhouse.boundary.SharedByteRing;
import io.jailhouse.protocol.ConsoleChunk;
import java.nio.charset.StandardCharsets;

/**
 * A console kept in memory another process shares ({@link SharedByteRing}):
 * a cell's UART log, which its process writes, or the hypervisor console in
 * the run directory, which outlives this supervisor. Writes from this
 * process are serialized here.
 */
final class SharedConsoleLog implements ConsoleLog {
    private final SharedByteRing ring;

    SharedConsoleLog(SharedByteRing ring) {
        this.ring = ring;
    }

    SharedByteRing ring() {
        return ring;
    }

    synchronized void write(byte[] data, int offset, int length) {
        ring.write(data, offset, length);
    }

    void write(String text) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        write(b, 0, b.length);
    }

    @Override
    public long tail() {
        return ring.tail();
    }

    @Override
    public long head() {
        return ring.head();
    }

    @Override
    public ConsoleChunk read(long position, int max) {
        return chunk(ring.read(position, max));
    }

    @Override
    public ConsoleChunk await(long position, int max, long timeoutMillis) throws InterruptedException {
        return chunk(ring.await(position, max, timeoutMillis));
    }

    private static ConsoleChunk chunk(SharedByteRing.Chunk c) {
        return new ConsoleChunk(c.data(), c.missed(), c.next());
    }
}
