package io.jailhouse.config.host;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/self/mountinfo}: where a file system of which
 * type is mounted, with its super options (for cgroup v1: the controllers).
 */
public record Mount(String mountPoint, String type, String superOptions) {
    /**
     * Parses mountinfo text ({@code ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
     * [OPTIONAL...] - TYPE SOURCE SUPEROPTIONS} per line).
     *
     * @throws IllegalArgumentException naming the first line that is not of that form
     */
    public static List<Mount> parseMountInfo(String text) {
        List<Mount> out = new ArrayList<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String[] f = lines[i].trim().split(" ");
            int dash = -1;
            for (int j = 6; j < f.length; j++) {
                if (f[j].equals("-")) {
                    dash = j;
                    break;
                }
            }
            if (f.length < 7 || dash < 0 || dash + 1 >= f.length) {
                throw new IllegalArgumentException("line " + (i + 1)
                        + ": not 'ID PARENT DEV ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE OPTIONS'");
            }
            out.add(new Mount(unescape(f[4]), f[dash + 1], dash + 3 < f.length ? f[dash + 3] : ""));
        }
        return out;
    }

    /** mountinfo writes blanks and backslashes in paths as octal escapes ({@code \040}). */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
