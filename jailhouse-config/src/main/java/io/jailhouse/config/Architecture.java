package io.jailhouse.config;

/** The architecture byte of a configuration file (spec 1.1). */
public enum Architecture {
    X86(0, "x86"),
    ARM(1, "arm"),
    ARM64(2, "arm64");

    private final int code;
    private final String label;

    Architecture(int code, String label) {
        this.code = code;
        this.label = label;
    }

    public int code() {
        return code;
    }

    public String label() {
        return label;
    }

    /** The architecture with this code, or null for an unknown one. */
    public static Architecture ofCode(int code) {
        for (Architecture a : values()) {
            if (a.code == code) {
                return a;
            }
        }
        return null;
    }

    public static Architecture ofLabel(String label) {
        for (Architecture a : values()) {
            if (a.label.equalsIgnoreCase(label)) {
                return a;
            }
        }
        return null;
    }
}
