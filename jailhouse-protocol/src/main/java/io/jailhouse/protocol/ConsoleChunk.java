package io.jailhouse.protocol;

import java.nio.charset.StandardCharsets;

/**
 * What a console read returns (the hypervisor's console or a cell's).
 *
 * @param data the bytes from the reader's position (or from the oldest kept byte)
 * @param missed bytes overwritten before the reader got them
 * @param next the position to read from next time
 * @param kept the hypervisor console's FATAL lines among the bytes no longer
 *     held (those missed, or for a read from the oldest byte, all before
 *     it), each with its cell; they come before {@code data}. Empty for
 *     cell consoles.
 */
public record ConsoleChunk(byte[] data, long missed, long next, byte[] kept) {
    private static final byte[] NONE = new byte[0];

    public ConsoleChunk(byte[] data, long missed, long next) {
        this(data, missed, next, NONE);
    }

    public String keptText() {
        return new String(kept, StandardCharsets.ISO_8859_1);
    }

    public String text() {
        return new String(data, StandardCharsets.ISO_8859_1);
    }
}
