package io.jailhouse.cli.hardware;

import io.jailhouse.config.host.Mount;

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
        try {
            return Mount.parseMountInfo(root.readText(MOUNTINFO));
        } catch (IllegalArgumentException e) {
            throw new HostDataException(root.describe(MOUNTINFO), e.getMessage());
        }
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
