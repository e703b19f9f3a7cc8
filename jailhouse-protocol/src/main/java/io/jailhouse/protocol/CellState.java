package io.jailhouse.protocol;

/**
 * A cell's state as its comm region holds it (spec section 2), with the text
 * upstream's sysfs shows for it (and so {@code jailhouse cell list}).
 */
public enum CellState {
    RUNNING(0, "running"),
    RUNNING_LOCKED(1, "running/locked"),
    SHUT_DOWN(2, "shut down"),
    FAILED(3, "failed"),
    FAILED_COMM_REV(4, "Comm ABI mismatch");

    private final int code;
    private final String text;

    CellState(int code, String text) {
        this.code = code;
        this.text = text;
    }

    /** The value in the comm region's {@code cell_state} field. */
    public int code() {
        return code;
    }

    /** What {@code cell list} prints. */
    public String text() {
        return text;
    }

    /** The state for a comm-region value, or null for a value no state has (sysfs then says "invalid"). */
    public static CellState ofCode(int code) {
        for (CellState s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }
}
