package io.jailhouse.protocol;

import java.util.List;

/**
 * The control protocol between the {@code jailhouse} command and the daemon
 * (docs/protocol.md): each message is one SOCK_SEQPACKET packet holding a
 * JSON object (or, past 32 KiB, a memfd holding it), with descriptors by
 * SCM_RIGHTS; a request names its protocol version and op, a reply says
 * {@code ok} or carries an errno name and a message. Images travel as
 * descriptors, never in the JSON.
 */
public final class ControlProtocol {
    public static final int VERSION = 2;
    /**
     * The largest request the daemon reads: a cell config (at most 64 KiB,
     * the rule in ConfigCheck) in base64 with room to spare, so that one
     * larger still gets that rule's finding rather than this limit. Images
     * come as descriptors and count nothing here.
     */
    public static final int MAX_REQUEST_BYTES = 256 << 10;
    /** The largest reply a client reads: a console read of {@link #MAX_CONSOLE_READ} in base64 and its kept lines. */
    public static final int MAX_REPLY_BYTES = 4 << 20;
    /** Descriptors in one message: a load's images, an ivshmem attachment's eventfds. */
    public static final int MAX_FDS = 250;
    /** A console read returns at most this much, whatever the client asks for. */
    public static final int MAX_CONSOLE_READ = 1 << 20;
    public static final int DEFAULT_CONSOLE_READ = 64 << 10;
    /** A waiting console read comes back after this long at most, so that clients notice a daemon going away. */
    public static final long MAX_CONSOLE_WAIT_MILLIS = 10_000;
    /** An events read returns at most this many events. */
    public static final int MAX_EVENTS_READ = 256;

    public static final String PING = "ping";
    public static final String STATUS = "status";
    public static final String CELL_CREATE = "cell.create";
    public static final String CELL_LOAD = "cell.load";
    public static final String CELL_START = "cell.start";
    public static final String CELL_SHUTDOWN = "cell.shutdown";
    public static final String CELL_DESTROY = "cell.destroy";
    public static final String CELL_LIST = "cell.list";
    public static final String CELL_STATS = "cell.stats";
    public static final String CONSOLE_READ = "console.read";
    public static final String CELL_CONSOLE_READ = "cell.console.read";
    public static final String DISABLE = "disable";
    public static final String IVSHMEM_LIST = "ivshmem.list";
    public static final String IVSHMEM_ATTACH = "ivshmem.attach";
    public static final String IVSHMEM_DETACH = "ivshmem.detach";
    public static final String EVENTS_READ = "events.read";

    public static final List<String> OPS = List.of(PING, STATUS, CELL_CREATE, CELL_LOAD, CELL_START, CELL_SHUTDOWN,
            CELL_DESTROY, CELL_LIST, CELL_STATS, CONSOLE_READ, CELL_CONSOLE_READ, DISABLE, IVSHMEM_LIST,
            IVSHMEM_ATTACH, IVSHMEM_DETACH, EVENTS_READ);

    private ControlProtocol() {
    }
}
