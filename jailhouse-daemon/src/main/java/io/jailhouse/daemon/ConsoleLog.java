package io.jailhouse.daemon;

import io.jailhouse.protocol.ConsoleChunk;

/**
 * A console as readers see it (the hypervisor console, a cell's UART log):
 * bytes by position, a count of bytes ever written, old bytes overwritten,
 * each reader with its own position so it can tell how much it missed.
 */
public interface ConsoleLog {
    /** The position after the last byte written. */
    long tail();

    /** The oldest position still held. */
    long head();

    /** Reads from {@code position} (0 = everything still held) up to {@code max} bytes, without waiting. */
    ConsoleChunk read(long position, int max);

    /**
     * Reads from the oldest byte held. The hypervisor console adds the FATAL
     * lines it no longer holds ({@link ConsoleChunk#kept}).
     */
    default ConsoleChunk readHeld(int max) {
        return read(head(), max);
    }

    /** As {@link #read}, but waits up to {@code timeoutMillis} for a byte past {@code position}. */
    ConsoleChunk await(long position, int max, long timeoutMillis) throws InterruptedException;
}
