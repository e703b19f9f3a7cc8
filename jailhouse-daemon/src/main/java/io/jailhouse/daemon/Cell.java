package io.jailhouse.daemon;

import io.jailhouse.boundary.CellPages;
import io.jailhouse.boundary.CellRequest;
import io.jailhouse.boundary.CommRegion;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.CellConfig;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A non-root cell as the supervisor keeps it: its config, the pages it
 * shares with its process (comm page, CPU states and counters, console)
 * and that process. The supervisor speaks the comm-region protocol here
 * (spec 2) and reads status, statistics and console from the pages
 * without asking the process; lifecycle operations go to the process over
 * its channel. A cell whose process died stays, FAILED, with its
 * resources, until it is destroyed or loaded again (a new process).
 */
final class Cell {
    private final KvmHypervisor hypervisor;
    private final int id;
    private final CellConfig config;
    private final CellPages pages;
    /** The pages' memfd, handed to every process this cell gets. */
    private final int pagesFd;
    private final CommRegion comm;
    /** The request that builds this cell's process (descriptors aside). */
    private final CellRequest.Create plan;
    /** The running process; null once it is gone. */
    private volatile CellProcess process;
    /** Each CPU's thread in the current process (for cpusets). */
    private volatile int[] threadIds = new int[0];
    /** Set when destroy begins; a reader that still holds the cell then meets unmapped pages as exceptions. */
    private volatile boolean destroyed;

    Cell(KvmHypervisor hypervisor, int id, CellConfig config, CellPages pages, int pagesFd, CellRequest.Create plan) {
        this.hypervisor = hypervisor;
        this.id = id;
        this.config = config;
        this.pages = pages;
        this.pagesFd = pagesFd;
        this.comm = new CommRegion(pages.commPage());
        this.plan = plan;
    }

    int id() {
        return id;
    }

    String name() {
        return config.name();
    }

    CellConfig config() {
        return config;
    }

    CellPages pages() {
        return pages;
    }

    int pagesFd() {
        return pagesFd;
    }

    CellRequest.Create plan() {
        return plan;
    }

    CellProcess process() {
        return process;
    }

    void attach(CellProcess p, int[] tids) {
        this.threadIds = tids.clone();
        this.process = p;
    }

    int[] threadIds() {
        return threadIds.clone();
    }

    /**
     * The process ended by itself (crash, kill, OOM): the cell is FAILED,
     * its CPUs too, and it keeps what it holds until destroyed.
     *
     * @return the process that ended, or null if it was let go already
     */
    CellProcess processEnded() {
        CellProcess p = process;
        process = null;
        if (p != null && !destroyed) {
            comm.setState(CommRegion.STATE_FAILED);
            for (int i = 0; i < pages.cpuCount(); i++) {
                pages.setCpuStatus(i, CellPages.CPU_FAILED);
            }
        }
        return p;
    }

    /** Lets go of the process (destroy, or the supervisor leaving it running). */
    CellProcess detachProcess() {
        CellProcess p = process;
        process = null;
        return p;
    }

    boolean destroyed() {
        return destroyed;
    }

    void markDestroyed() {
        destroyed = true;
    }

    /** A request to the cell's process. */
    io.jailhouse.boundary.CellReply call(CellRequest request) throws HypervisorException {
        CellProcess p = requireProcess();
        return p.call(name(), request);
    }

    CellProcess requireProcess() throws HypervisorException {
        CellProcess p = process;
        if (p == null) {
            throw new HypervisorException(Errno.EIO, "cell \"" + name() + "\" has no process (it failed when its"
                    + " process ended): load it again, or destroy it");
        }
        return p;
    }

    /** The state in the comm page, or null for a value no state has. */
    CellState state() {
        return CellState.ofCode(comm.state());
    }

    CellStatus status() {
        List<Integer> cpus = new ArrayList<>();
        List<Integer> failed = new ArrayList<>();
        for (int i = 0; i < pages.cpuCount(); i++) {
            cpus.add(pages.cpuNumber(i));
            if (pages.cpuStatus(i) == CellPages.CPU_FAILED) {
                failed.add(pages.cpuNumber(i));
            }
        }
        CellProcess p = process;
        return new CellStatus(id, name(), state(), cpus, failed, p == null ? 0 : p.pid());
    }

    /** The cell's counters: its sums and each CPU's, read from the pages. */
    CellStatistics statistics() {
        long[] sum = new long[CellStatistics.NAMES.size()];
        Map<Integer, Map<String, Long>> perCpu = new LinkedHashMap<>();
        for (int i = 0; i < pages.cpuCount(); i++) {
            Map<String, Long> m = new LinkedHashMap<>();
            for (int k = 0; k < sum.length; k++) {
                long v = pages.counter(i, k);
                sum[k] += v;
                m.put(CellStatistics.NAMES.get(k), v);
            }
            perCpu.put(pages.cpuNumber(i), m);
        }
        Map<String, Long> total = new LinkedHashMap<>();
        for (int k = 0; k < sum.length; k++) {
            total.put(CellStatistics.NAMES.get(k), sum[k]);
        }
        return new CellStatistics(id, name(), total, perCpu);
    }

    /** Load and start: the inmate starts over with the configuration as it is, so pending notices are moot. */
    void forgetReconfigurations() {
        reconfigPending.set(false);
    }

    /** Parks the CPUs and FAILs the cell: its reply timed out (spec 2). */
    private void failUnanswered() throws HypervisorException {
        CellProcess p = process;
        if (p != null) {
            p.call(name(), new CellRequest.Park(true));
        }
        comm.setState(CommRegion.STATE_FAILED);
    }

    /** Unmaps the pages and closes their memfd (destroy); a reader still holding them gets an exception. */
    void releasePages() {
        pages.close();
        try {
            Libc.close(pagesFd);
        } catch (NativeException ignored) {
            // closing at destroy
        }
    }

    /** How long one poll of the comm region waits: {@code msg_reply_timeout} counts these. */
    static final long POLL_NANOS = 50_000;

    /**
     * Serializes the lifecycle operations on this cell, and the waits for
     * its answers, which can take as long as the cell likes; operations on
     * other cells never take it.
     */
    private final ReentrantLock operations = new ReentrantLock();
    /** What the operation holding {@link #operations} waits for ("the shutdown request"), or null. */
    private volatile String awaiting;
    /** Set by a forcing operation: the wait for an answer under way gives up. */
    private volatile boolean abortWait;

    /**
     * Takes the cell for one operation: waits for the operation under way on
     * it, telling the caller after a while, giving up when the caller
     * withdraws. A forcing caller makes the operation under way give up its
     * wait for the cell's answer.
     *
     * @throws HypervisorException EINTR when the caller withdrew or the
     *         hypervisor closes, ENOENT when the cell was destroyed meanwhile
     */
    void acquire(Caller caller) throws HypervisorException {
        long start = System.nanoTime();
        boolean told = false;
        while (true) {
            if (caller.force() && operations.isLocked()) {
                abortWait = true;
            }
            try {
                if (operations.tryLock(10, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    abortWait = false;
                    if (destroyed) {
                        operations.unlock();
                        throw new HypervisorException(Errno.ENOENT, "cell \"" + name() + "\" was destroyed");
                    }
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HypervisorException(Errno.EINTR, "interrupted while waiting for cell \"" + name() + "\"");
            }
            if (destroyed) {
                throw new HypervisorException(Errno.ENOENT, "cell \"" + name() + "\" was destroyed");
            }
            if (caller.withdrawn()) {
                throw new HypervisorException(Errno.EINTR, "withdrawn while another operation on cell \"" + name()
                        + "\" was under way; nothing changed");
            }
            if (hypervisor.closing()) {
                throw new HypervisorException(Errno.EINTR, "the hypervisor is shutting down");
            }
            if (!told && System.nanoTime() - start > Caller.PATIENCE_NANOS) {
                String what = awaiting;
                caller.waiting("waiting for cell \"" + name() + "\"" + (what != null
                        ? ", which has not answered " + what + " yet" : ": another operation on it is under way")
                        + "; Ctrl-C gives up");
                told = true;
            }
        }
    }

    /** Ends the operation {@link #acquire} began. */
    void release() {
        operations.unlock();
    }

    /**
     * Sends a message through the comm region and waits for the answer, as
     * upstream's hypervisor does (spec 2): a passive cell, or one that is shut
     * down or failed, counts as approving at once; a reply of APPROVED (for a
     * request) or RECEIVED (for information) is success, any other reply a
     * refusal; after {@code msg_reply_timeout} polls without an answer the cell
     * is stopped and FAILED, which counts as approval. Called with the cell
     * taken ({@link #acquire}).
     *
     * @param what the message, for the caller ("the shutdown request")
     * @return true when approved (or received), false when the cell refused
     * @throws HypervisorException EINTR when the caller withdrew, a forcing
     *         operation took over, or the hypervisor closes: the message is
     *         taken back and the cell's state is as it was
     */
    boolean exchange(int message, boolean request, String what, Caller caller) throws HypervisorException {
        if (config.hasFlag(CellConfig.PASSIVE_COMMREG) || process() == null) {
            return true; // passive, or its process is gone: nobody to ask
        }
        comm.send(message);
        awaiting = what;
        try {
            long timeout = config.msgReplyTimeout();
            long polls = 0;
            long start = System.nanoTime();
            boolean told = false;
            while (true) {
                int state = comm.state();
                if (state == CommRegion.STATE_SHUT_DOWN || state == CommRegion.STATE_FAILED) {
                    return true;
                }
                int reply = comm.reply();
                if (reply != CommRegion.REPLY_NONE) {
                    return request ? reply == CommRegion.REPLY_REQUEST_APPROVED : reply == CommRegion.REPLY_RECEIVED;
                }
                if (timeout > 0 && ++polls >= timeout) {
                    hypervisor.print("Timeout expired while waiting for reply from target cell\n");
                    failUnanswered();
                    return true;
                }
                String gaveUp = hypervisor.closing() ? "the hypervisor is shutting down"
                        : caller.withdrawn() ? "withdrawn" : abortWait ? "a forced operation took over" : null;
                if (gaveUp != null) {
                    comm.clearMessage(); // taken back: the cell's state stays as it was
                    throw new HypervisorException(Errno.EINTR, gaveUp + "; cell \"" + name() + "\" had not answered "
                            + what + " and its state is as it was");
                }
                if (!told && System.nanoTime() - start > Caller.PATIENCE_NANOS) {
                    caller.waiting("waiting for cell \"" + name() + "\" to answer " + what + "; Ctrl-C gives up");
                    told = true;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(POLL_NANOS);
            }
        } finally {
            awaiting = null;
        }
    }

    /** Asks the cell to shut down (before start, load, shutdown, destroy); false when it refuses. */
    boolean approvesShutdown(Caller caller) throws HypervisorException {
        return exchange(CommRegion.MSG_SHUTDOWN_REQUEST, true, "the shutdown request", caller);
    }

    /** A reconfiguration happened since the notifier last told the cell. */
    private final java.util.concurrent.atomic.AtomicBoolean reconfigPending = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicBoolean notifying = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Tells the cell the configuration changed (RECONFIG_COMPLETED); its
     * answer does not matter (spec 2), so the notice goes on a thread of its
     * own, which takes the cell like any operation: a cell that never answers
     * holds up its own operations only, and a forced one takes over. Notices
     * that pile up while one waits are told as one.
     */
    void announceReconfiguration() {
        if (!awaitsNotices()) {
            return; // upstream's exchange returns at once for these: nothing is sent
        }
        reconfigPending.set(true);
        if (notifying.compareAndSet(false, true)) {
            Thread.ofVirtual().name("reconfig-notice-" + name()).start(this::tellReconfigurations);
        }
    }

    /** Whether the cell is told of reconfigurations: running, and not passive. */
    private boolean awaitsNotices() {
        int state = comm.state();
        return !config.hasFlag(CellConfig.PASSIVE_COMMREG) && state != CommRegion.STATE_SHUT_DOWN
                && state != CommRegion.STATE_FAILED;
    }

    private void tellReconfigurations() {
        try {
            while (reconfigPending.getAndSet(false) && !destroyed && !hypervisor.closing()) {
                try {
                    acquire(Caller.PATIENT);
                } catch (HypervisorException e) {
                    return; // destroyed or closing: nobody to tell
                }
                try {
                    if (awaitsNotices()) {
                        exchange(CommRegion.MSG_RECONFIG_COMPLETED, false, "the reconfiguration notice", Caller.PATIENT);
                    }
                } catch (HypervisorException e) {
                    // a forced operation took over, or the hypervisor closes: the notice is moot
                } finally {
                    release();
                }
            }
        } finally {
            notifying.set(false);
            if (reconfigPending.get() && !destroyed && !hypervisor.closing()) {
                announceReconfiguration(); // set after the loop looked: tell it too
            }
        }
    }

}
