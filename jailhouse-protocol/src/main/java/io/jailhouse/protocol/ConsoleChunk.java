package io.jailhouse.protocol;

import java.nio.charset.StandardCharsets;

/**
 * What a console read returns (the hypervisor's console or a cell's).
 *
 * @param data the bytes from the reader's position (or from the oldest kept byte)
 * @param missed bytes overwritten before the reader got them
 * @param next the position to read from next time
 */
public record ConsoleChunk(byte[] data, long missed, long next) {
    public String text() {
        return new String(data, StandardCharsets.ISO_8859_1);
    }
}
