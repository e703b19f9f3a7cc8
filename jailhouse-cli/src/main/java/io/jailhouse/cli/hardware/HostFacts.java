package io.jailhouse.cli.hardware;

import io.jailhouse.config.Bitmap;
import io.jailhouse.config.host.HostDataException;
import io.jailhouse.config.host.HostRoot;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** Readers for the host files the hardware check looks at besides {@code /proc/cpuinfo}. */
final class HostFacts {
    static final String MOUNTINFO = "/proc/self/mountinfo";
    static final String MEMINFO = "/proc/meminfo";
    static final String ONLINE_CPUS = "/sys/devices/system/cpu/online";

    /** A line of mountinfo: where a file system of which type is mounted, with its super options. */
    record Mount(String mountPoint, String type, String superOptions) {
    }

    private HostFacts() {
    }

    /** The online CPUs' count from sysfs' range list ({@code 0-3,6}). */
    static int onlineCpus(HostRoot root) throws HostDataException {
        String list = root.readValue(ONLINE_CPUS);
        try {
            int n = Bitmap.parseRangeList(list).length;
            if (n == 0) {
                throw new HostDataException(root.describe(ONLINE_CPUS), "lists no CPUs");
            }
            return n;
        } catch (IllegalArgumentException e) {
            throw new HostDataException(root.describe(ONLINE_CPUS), e.getMessage());
        }
    }

    static List<Mount> mounts(HostRoot root) throws HostDataException {
        List<Mount> out = new ArrayList<>();
        String[] lines = root.readText(MOUNTINFO).split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTIONS
            String[] f = lines[i].trim().split(" ");
            int dash = -1;
            for (int j = 6; j < f.length; j++) {
                if (f[j].equals("-")) {
                    dash = j;
                    break;
                }
            }
            if (f.length < 7 || dash < 0 || dash + 1 >= f.length) {
                throw new HostDataException(root.describe(MOUNTINFO) + " line " + (i + 1),
                        "not 'ID PARENT DEV ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE OPTIONS'");
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

    /** A {@code Key: value [kB]} number of /proc/meminfo, if listed. */
    static OptionalLong meminfo(HostRoot root, String key) throws HostDataException {
        for (String line : root.readText(MEMINFO).split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).equals(key)) {
                String v = line.substring(colon + 1).trim().split("\\s+")[0];
                try {
                    return OptionalLong.of(Long.parseLong(v));
                } catch (NumberFormatException e) {
                    throw new HostDataException(root.describe(MEMINFO), key + " is '" + v + "', not a number");
                }
            }
        }
        return OptionalLong.empty();
    }
}
