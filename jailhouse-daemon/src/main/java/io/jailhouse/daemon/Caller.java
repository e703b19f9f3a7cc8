package io.jailhouse.daemon;

/**
 * Whoever asked for a management operation, as far as waiting for a cell
 * goes: a cell's answer (or another operation on the same cell) can take as
 * long as the cell likes, so the caller can be told what is being waited
 * for, can give up (the request is withdrawn and the cell's state stays as
 * it was), or can skip the cell's approval altogether.
 */
public interface Caller {
    /** How long an operation waits before it says what it waits for. */
    long PATIENCE_NANOS = 1_000_000_000L;

    /** Skip the cell's approval (the operator's {@code --force}; not upstream's). */
    boolean force();

    /** Whether the caller gave up (its connection closed: Ctrl-C). */
    boolean withdrawn();

    /** Told once an operation has waited {@link #PATIENCE_NANOS}: what it waits for. */
    void waiting(String what);

    /** A caller that waits as long as it takes, as upstream's management calls do, and is told nothing. */
    Caller PATIENT = new Caller() {
        @Override
        public boolean force() {
            return false;
        }

        @Override
        public boolean withdrawn() {
            return false;
        }

        @Override
        public void waiting(String what) {
        }
    };

    /** As {@link #PATIENT}, but skipping the cells' approval. */
    Caller FORCING = new Caller() {
        @Override
        public boolean force() {
            return true;
        }

        @Override
        public boolean withdrawn() {
            return false;
        }

        @Override
        public void waiting(String what) {
        }
    };
}
