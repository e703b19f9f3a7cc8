package io.jailhouse.config.host;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What {@code /proc/cpuinfo} says about the processors: how many, whose, and
 * the feature flags all of them have.
 *
 * @param vendor {@code vendor_id} of the first processor, empty if the file has none (not x86)
 * @param flags the flags every processor lists
 */
public record CpuInfo(int processors, String vendor, String modelName, Set<String> flags) {
    public static final String PATH = "/proc/cpuinfo";

    public CpuInfo {
        flags = Set.copyOf(flags);
    }

    public static CpuInfo read(HostRoot root) throws HostDataException {
        return parse(root.readText(PATH), root.describe(PATH));
    }

    public static CpuInfo parse(String text, String source) throws HostDataException {
        int processors = 0;
        String vendor = "";
        String model = "";
        Set<String> common = null;
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new HostDataException(source + " line " + (i + 1), "'" + line.strip() + "' is not 'key : value'");
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "processor" -> processors++;
                case "vendor_id" -> {
                    if (vendor.isEmpty()) {
                        vendor = value;
                    }
                }
                case "model name" -> {
                    if (model.isEmpty()) {
                        model = value;
                    }
                }
                case "flags" -> {
                    Set<String> these = new LinkedHashSet<>(Arrays.asList(value.split("\\s+")));
                    if (common == null) {
                        common = these;
                    } else {
                        common.retainAll(these);
                    }
                }
                default -> {
                    // other keys (stepping, cache size, bugs...) are not used
                }
            }
        }
        if (processors == 0) {
            throw new HostDataException(source, "no 'processor' entries");
        }
        return new CpuInfo(processors, vendor, model, common == null ? new HashSet<>() : common);
    }

    public boolean has(String flag) {
        return flags.contains(flag);
    }

    /** Whether the vendor is one of the x86 makers (other architectures print other vendors, or none). */
    public boolean isX86() {
        return switch (vendor) {
            case "GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls", "Shanghai" -> true;
            default -> false;
        };
    }

    public boolean isIntel() {
        return vendor.equals("GenuineIntel");
    }

    public boolean isAmd() {
        return vendor.equals("AuthenticAMD") || vendor.equals("HygonGenuine");
    }
}
