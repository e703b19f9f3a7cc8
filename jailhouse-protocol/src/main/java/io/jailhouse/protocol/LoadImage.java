package io.jailhouse.protocol;

/**
 * One preload image of {@code jailhouse cell load}: bytes and the cell
 * guest-physical address they go to (a file, or a {@code -s} string with its
 * terminating NUL).
 *
 * @param source what the user named (file name, or {@code string "..."}), for messages
 */
public record LoadImage(String source, byte[] data, long address) {
    public LoadImage {
        if (data == null || source == null) {
            throw new IllegalArgumentException("an image needs a source and data");
        }
    }

    public long end() {
        return address + data.length;
    }
}
