package io.jailhouse.cli.hardware;

/**
 * The result of checking one feature.
 *
 * @param indented shown under the feature before it (a KVM capability under /dev/kvm)
 * @param detail what was found, or why it is missing; may be empty
 */
public record Finding(String feature, Need need, Outcome outcome, String detail, boolean indented) {
    /** Whether the feature is there. */
    public enum Outcome {
        PRESENT,
        ABSENT,
        /** Could not be checked (no permission, a prerequisite missing). */
        UNKNOWN
    }

    public static Finding present(String feature, Need need, String detail) {
        return new Finding(feature, need, Outcome.PRESENT, detail, false);
    }

    public static Finding absent(String feature, Need need, String detail) {
        return new Finding(feature, need, Outcome.ABSENT, detail, false);
    }

    public static Finding unknown(String feature, Need need, String detail) {
        return new Finding(feature, need, Outcome.UNKNOWN, detail, false);
    }

    public Finding indent() {
        return new Finding(feature, need, outcome, detail, true);
    }

    /** The availability column, in upstream's words where upstream has them. */
    public String availability() {
        return switch (outcome) {
            case PRESENT -> "ok";
            case ABSENT -> switch (need) {
                case REQUIRED -> "MISSING";
                case STRICT -> "missing (relaxed only)";
                case ISOLATION -> "missing (pinning only)";
                case OPTIONAL -> "missing (optional)";
                case INFORMATIONAL -> "no";
            };
            case UNKNOWN -> switch (need) {
                case REQUIRED -> "SKIPPED";
                case STRICT, ISOLATION, OPTIONAL, INFORMATIONAL -> "skipped";
            };
        };
    }

    public boolean fails() {
        return need == Need.REQUIRED && outcome == Outcome.ABSENT;
    }

    public boolean essentialSkipped() {
        return need == Need.REQUIRED && outcome == Outcome.UNKNOWN;
    }

    public boolean limitsToRelaxed() {
        return need == Need.STRICT && outcome == Outcome.ABSENT;
    }

    /** Strict partitioning can pin cell CPUs but not keep host tasks off them. */
    public boolean limitsToPinning() {
        return need == Need.ISOLATION && outcome == Outcome.ABSENT;
    }
}
