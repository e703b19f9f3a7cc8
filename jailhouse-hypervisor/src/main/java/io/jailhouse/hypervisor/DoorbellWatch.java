package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The thread that takes the doorbells of this cell's unwired vectors: it
 * reads their slot eventfds and hands each doorbell to the device, whose
 * rules (INT_CONTROL, one-shot, masks) decide what happens. Wired vectors
 * are the kernel's (irqfd) and are not watched.
 */
final class DoorbellWatch implements AutoCloseable {
    private record Entry(IvshmemDevice device, int vector) {
    }

    private final Map<Integer, Entry> watched = new LinkedHashMap<>();
    private final int wakeFd;
    private final Thread thread;
    private volatile boolean closed;
    private boolean changed = true;

    DoorbellWatch(String cellName) throws NativeException {
        this.wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        this.thread = Thread.ofPlatform().daemon().name("doorbells-" + cellName).unstarted(this::run);
        thread.start();
    }

    /** Watches {@code fd} for {@code vector} of {@code device}. */
    synchronized void watch(int fd, IvshmemDevice device, int vector) {
        watched.put(fd, new Entry(device, vector));
        changed = true;
        wake();
    }

    /** Stops watching {@code fd}; a doorbell the thread took already is still handed over. */
    synchronized void unwatch(int fd) {
        if (watched.remove(fd) != null) {
            changed = true;
            wake();
        }
    }

    synchronized int watchedCount() {
        return watched.size();
    }

    private void wake() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            Libc.write(wakeFd, one);
        }
    }

    private void run() {
        List<Integer> fds = new ArrayList<>();
        List<Entry> entries = new ArrayList<>();
        Arena pollArena = Arena.ofConfined();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment counter = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment poll = null;
            while (!closed) {
                synchronized (this) {
                    if (changed) {
                        fds = new ArrayList<>(watched.keySet());
                        entries = new ArrayList<>(watched.values());
                        changed = false;
                        poll = null;
                    }
                }
                if (poll == null) {
                    pollArena.close(); // the set changed: the old entries go with their arena
                    pollArena = Arena.ofConfined();
                    poll = pollArena.allocate(Libc.POLLFD_BYTES * (fds.size() + 1), 8);
                    Libc.setPollFd(poll, 0, wakeFd, Libc.POLLIN);
                    for (int i = 0; i < fds.size(); i++) {
                        Libc.setPollFd(poll, i + 1, fds.get(i), Libc.POLLIN);
                    }
                }
                int n = Libc.poll(poll, fds.size() + 1, -1);
                if (n <= 0) {
                    continue; // EINTR
                }
                if ((Libc.pollEvents(poll, 0) & Libc.POLLIN) != 0) {
                    Libc.read(wakeFd, counter);
                }
                for (int i = 0; i < fds.size(); i++) {
                    if ((Libc.pollEvents(poll, i + 1) & Libc.POLLIN) != 0 && Libc.read(fds.get(i), counter) == 8) {
                        Entry e = entries.get(i);
                        e.device().trigger(e.vector());
                    }
                }
            }
        } finally {
            pollArena.close();
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
            // closing at teardown
        }
    }
}
