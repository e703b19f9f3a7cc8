package io.jailhouse.daemon;

import io.jailhouse.boundary.SharedByteRing;
import io.jailhouse.protocol.ConsoleChunk;

/**
 * A console kept in memory another process shares ({@link SharedByteRing}),
 * as readers see it: a cell's UART log, which its process writes, or the
 * log part of the {@link HypervisorConsole}, which that class writes.
 */
final class SharedConsoleLog implements ConsoleLog {
    private final SharedByteRing ring;

    SharedConsoleLog(SharedByteRing ring) {
        this.ring = ring;
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
