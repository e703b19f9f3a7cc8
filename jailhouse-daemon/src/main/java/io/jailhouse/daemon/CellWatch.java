package io.jailhouse.daemon;

import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The thread that notices a cell's process ending: it polls every cell
 * process's pidfd and tells the hypervisor, which fails that cell (and only
 * that cell). A process is taken off the watch before the supervisor ends
 * it on purpose (destroy), and {@link #remove} returns only once the thread
 * polls without it, so its pidfd can be closed safely.
 */
final class CellWatch implements AutoCloseable {
    private final BiConsumer<Cell, CellProcess> ended;
    private final Map<CellProcess, Cell> watched = new LinkedHashMap<>();
    private final int wakeFd;
    private final Thread thread;
    /** Bumped by every change; the thread reports the one it polls with. */
    private long generation;
    private long polling = -1;
    private volatile boolean closed;

    CellWatch(BiConsumer<Cell, CellProcess> ended) {
        this.ended = ended;
        try {
            this.wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        } catch (NativeException e) {
            throw new IllegalStateException("cannot make the cell watch's eventfd: " + e.getMessage(), e);
        }
        this.thread = Thread.ofPlatform().daemon().name("cell-watch").unstarted(this::run);
        thread.start();
    }

    synchronized void add(Cell cell, CellProcess p) {
        watched.put(p, cell);
        generation++;
        wake();
    }

    /** Takes {@code p} off the watch and waits (briefly) until the thread polls without it. */
    synchronized void remove(CellProcess p) {
        if (watched.remove(p) == null) {
            return;
        }
        long wanted = ++generation;
        wake();
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (polling < wanted && !closed && Thread.currentThread() != thread && System.nanoTime() < deadline) {
            try {
                wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void wake() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            Libc.write(wakeFd, one);
        }
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment counter = arena.allocate(ValueLayout.JAVA_LONG);
            while (!closed) {
                List<CellProcess> procs;
                synchronized (this) {
                    procs = new ArrayList<>(watched.keySet());
                    polling = generation;
                    notifyAll();
                }
                try (Arena pollArena = Arena.ofConfined()) {
                    MemorySegment poll = pollArena.allocate(Libc.POLLFD_BYTES * (procs.size() + 1), 8);
                    Libc.setPollFd(poll, 0, wakeFd, Libc.POLLIN);
                    for (int i = 0; i < procs.size(); i++) {
                        Libc.setPollFd(poll, i + 1, procs.get(i).pidfd(), Libc.POLLIN);
                    }
                    if (Libc.poll(poll, procs.size() + 1, -1) <= 0) {
                        continue;
                    }
                    if (Libc.pollEvents(poll, 0) != 0) {
                        Libc.read(wakeFd, counter);
                    }
                    for (int i = 0; i < procs.size(); i++) {
                        if (Libc.pollEvents(poll, i + 1) != 0) {
                            CellProcess p = procs.get(i);
                            Cell cell;
                            synchronized (this) {
                                cell = watched.remove(p);
                                generation++;
                            }
                            if (cell != null) {
                                ended.accept(cell, p);
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        wake();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Libc.close(wakeFd);
        } catch (NativeException ignored) {
            // closing at the end
        }
    }
}
