package io.jailhouse.config;

import java.util.List;

/**
 * A configuration as read from a file, with what reading it left aside.
 *
 * @param source the file's name as given
 * @param trailingBytes bytes after the configuration in a binary or compiled
 *        C file; ignored, as upstream's driver ignores them
 */
public record ConfigFile(String source, JailhouseConfig config, long trailingBytes) {
    /** What a user should know about the file beyond its content: one line each. */
    public List<String> notes() {
        if (trailingBytes == 0) {
            return List.of();
        }
        return List.of(source + ": " + trailingBytes + " byte" + (trailingBytes == 1 ? "" : "s")
                + " after the configuration (which ends at byte " + config.encodedSize()
                + ") are ignored, as upstream's driver ignores them");
    }
}
