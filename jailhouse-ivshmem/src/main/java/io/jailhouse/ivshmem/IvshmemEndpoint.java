package io.jailhouse.ivshmem;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.jailhouse.config.PciDevice;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.DaemonUnavailableException;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A host program as the root cell's peer of an ivshmem v2 link: what
 * upstream's root-cell driver gives a Linux program through
 * {@code /dev/uioN}, here from the daemon (docs/ivshmem.md).
 *
 * <p>{@link #attach} asks the daemon for the root's device on the link,
 * receives the register pipe, interrupt eventfds and doorbell eventfds with
 * the reply (SCM_RIGHTS) and maps the shared sections from the reserved-memory file with the
 * root's rights: the state table and the other peers' output sections
 * read-only, the R/W section and the own output section writable. The
 * attachment lasts until {@link #close} or until this process ends; either
 * way the daemon resets the root's device (interrupts off, state 0).
 *
 * <p>Register writes ({@link #setState}, {@link #enableInterrupts},
 * {@link #ring}) behave as the ivshmem register region's: doorbells to
 * absent peers, vectors the target does not have or a target with
 * interrupts off are dropped silently. A doorbell to a cell whose vector
 * can take it in the kernel is an eventfd write that the kernel turns into
 * the cell's MSI (no daemon code on the path). Interrupts arrive per vector on
 * eventfds, signalled by the kernel for doorbells of cells (no daemon code
 * on that path); {@link #awaitInterrupts} waits for them. State changes of
 * the other peers arrive as vector 0, as in a cell.
 *
 * <p>Register writes and the section views may be used from any thread;
 * one thread at a time waits for interrupts.
 */
public final class IvshmemEndpoint implements AutoCloseable {
    /** BAR0 register offsets (spec 6.2). */
    static final int REG_INT_CONTROL = 0x08;
    static final int REG_DOORBELL = 0x0c;
    static final int REG_STATE = 0x10;
    private static final long STATE_WAIT_NANOS = 5_000_000_000L;
    private static final long PAGE = 0x1000;
    private static final ValueLayout.OfInt LE_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle STATE_ENTRY = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final ControlClient client;
    private final IvshmemAttachment attachment;
    private final int registerFd;
    private final int[] interruptFds;
    /** By {@code peer * interruptCount() + vector}; -1 for the own id. */
    private final int[] doorbellFds;
    private final MemorySegment one;
    private final MemorySegment stateTable;
    private final MemorySegment readWrite;
    private final List<MemorySegment> outputs = new ArrayList<>();
    private final Arena arena = Arena.ofShared();
    /** The sections, unmapped when the endpoint closes. */
    private final List<MemoryMapping> mappings = new ArrayList<>();
    private final MemorySegment record;
    private final MemorySegment pollFds;
    private final MemorySegment counter;
    private final AtomicLongArray interruptCounts;
    /** Wakes a thread waiting in {@link #awaitInterrupts} when the endpoint closes. */
    private final int wakeFd;
    private volatile boolean closed;

    private IvshmemEndpoint(ControlClient client, IvshmemAttachment a) throws IOException {
        this.client = client;
        this.attachment = a;
        int n = Math.max(a.vectors(), 1);
        this.interruptFds = new int[n];
        Arrays.fill(interruptFds, -1);
        this.interruptCounts = new AtomicLongArray(n);
        this.doorbellFds = new int[a.maxPeers() * n];
        Arrays.fill(doorbellFds, -1);
        this.one = arena.allocate(JAVA_LONG);
        one.set(JAVA_LONG, 0, 1);
        this.record = arena.allocate(IvshmemAttachment.RECORD_BYTES, 8);
        // interrupts by vector, then the wake-up of close(), then the register pipe (POLLERR once the daemon lets go)
        this.pollFds = arena.allocate((n + 2) * Libc.POLLFD_BYTES, 8);
        this.counter = arena.allocate(JAVA_LONG);
        int wake = -1;
        try {
            wake = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            Libc.setPollFd(pollFds, n, wake, Libc.POLLIN);
            int register = expect(a.registerFd(), "pipe:", "register pipe");
            Libc.setPollFd(pollFds, n + 1, register, (short) 0);
            for (int v = 0; v < n; v++) {
                interruptFds[v] = expect(a.interruptFds().get(v), "anon_inode:[eventfd]",
                        "interrupt eventfd of vector " + v);
                Libc.setPollFd(pollFds, v, interruptFds[v], Libc.POLLIN);
            }
            for (int peer = 0; peer < a.maxPeers(); peer++) {
                for (int v = 0; peer != a.peerId() && v < n; v++) {
                    doorbellFds[peer * n + v] = expect(a.doorbellFds().get(peer).get(v), "anon_inode:[eventfd]",
                            "doorbell eventfd of peer " + peer + " vector " + v);
                }
            }
            this.registerFd = register;
            this.wakeFd = wake;
            int memory = Libc.open(a.memoryFile().toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            try {
                stateTable = map(memory, a.stateTable(), false);
                readWrite = map(memory, a.readWrite(), true);
                for (int peer = 0; peer < a.maxPeers(); peer++) {
                    outputs.add(map(memory, a.outputs().get(peer), peer == a.peerId()));
                }
            } finally {
                Libc.close(memory);
            }
        } catch (IOException | RuntimeException e) {
            closeQuietly(wake);
            closeDescriptors(a); // the same numbers as in the arrays: closed once, here
            mappings.forEach(MemoryMapping::close);
            arena.close();
            if (e instanceof NativeException ne) {
                throw new IOException(describe(ne), ne);
            }
            throw e;
        }
    }

    /** Closes every descriptor that came with the attachment. */
    private static void closeDescriptors(IvshmemAttachment a) {
        closeQuietly(a.registerFd());
        a.interruptFds().forEach(IvshmemEndpoint::closeQuietly);
        a.doorbellFds().forEach(row -> row.forEach(IvshmemEndpoint::closeQuietly));
    }

    /** Checks that the received descriptor {@code fd} is what the reply says it is. */
    private static int expect(int fd, String kind, String what) throws IOException {
        String target;
        try {
            target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            target = "?";
        }
        if (!target.startsWith(kind)) {
            throw new IOException("the daemon's " + what + " is " + target);
        }
        return fd;
    }

    private static String describe(NativeException e) {
        return "attaching to the daemon's ivshmem device failed: " + e.getMessage();
    }

    /**
     * Attaches to the root cell's device of link {@code bdf} through the
     * daemon at {@code socket}.
     *
     * @throws ControlException as the daemon refuses: ENOENT no such device
     *         in the root cell, EBUSY another program is attached, EINVAL
     *         the hypervisor is not enabled
     * @throws DaemonUnavailableException when no daemon answers at {@code socket} (not enabled)
     * @throws IOException when the connection fails or the
     *         descriptors and memory cannot be taken
     */
    public static IvshmemEndpoint attach(Path socket, int bdf)
            throws DaemonUnavailableException, ControlException, IOException {
        ControlClient client = ControlClient.connect(socket);
        try {
            IvshmemAttachment a = client.attachIvshmem(bdf);
            try {
                check(a, bdf);
            } catch (IOException e) {
                closeDescriptors(a);
                throw e;
            }
            return new IvshmemEndpoint(client, a);
        } catch (ControlException | IOException | RuntimeException e) {
            client.close(); // the daemon detaches when the connection goes
            throw e;
        }
    }

    /** The daemon's answer is checked like any outside input before anything is mapped. */
    private static void check(IvshmemAttachment a, int bdf) throws IOException {
        List<String> problems = new ArrayList<>();
        if (a.bdf() != bdf) {
            problems.add("device " + PciDevice.formatBdf(a.bdf()) + " instead of " + PciDevice.formatBdf(bdf));
        }
        if (a.maxPeers() < 1 || a.maxPeers() > 12 || a.peerId() < 0 || a.peerId() >= a.maxPeers()) {
            problems.add("peer " + a.peerId() + " of " + a.maxPeers());
        }
        if (a.vectors() < 0 || a.vectors() > 16 || a.interruptFds().size() != Math.max(a.vectors(), 1)) {
            problems.add(a.interruptFds().size() + " interrupt descriptors for " + a.vectors() + " vectors");
        }
        if (a.registerFd() < 0 || a.interruptFds().stream().anyMatch(fd -> fd == null || fd < 0)) {
            problems.add("descriptor numbers " + a.registerFd() + " and " + a.interruptFds());
        }
        int n = Math.max(a.vectors(), 1);
        boolean rows = a.doorbellFds().size() == a.maxPeers();
        for (int p = 0; rows && p < a.maxPeers(); p++) {
            boolean own = p == a.peerId();
            List<Integer> row = a.doorbellFds().get(p);
            rows = row.size() == n && row.stream().allMatch(fd -> fd != null && (fd >= 0) != own);
        }
        if (!rows) {
            problems.add("doorbell descriptors " + a.doorbellFds() + " for " + a.maxPeers() + " peers, " + n
                    + " vectors");
        }
        if (a.outputs().size() != a.maxPeers()) {
            problems.add(a.outputs().size() + " output sections for " + a.maxPeers() + " peers");
        }
        List<IvshmemAttachment.Section> all = new ArrayList<>(a.outputs());
        all.add(a.stateTable());
        all.add(a.readWrite());
        for (IvshmemAttachment.Section s : all) {
            if (s.offset() < 0 || s.size() < 0 || ((s.offset() | s.size()) & (PAGE - 1)) != 0) {
                problems.add("section at 0x" + Long.toHexString(s.offset()) + " of 0x" + Long.toHexString(s.size())
                        + " bytes is not whole pages");
            }
        }
        if (a.stateTable().size() < 4L * a.maxPeers()) {
            problems.add("state table of " + a.stateTable().size() + " bytes");
        }
        if (!problems.isEmpty()) {
            throw new IOException("malformed ivshmem attachment from the daemon: " + String.join("; ", problems));
        }
    }

    /**
     * Maps a section (read-only at the mmap and the segment level unless
     * {@code writable}): closing the endpoint unmaps it, and a view used
     * afterwards throws instead of touching unmapped memory.
     */
    private MemorySegment map(int fd, IvshmemAttachment.Section s, boolean writable) throws NativeException {
        if (s.size() == 0) {
            return arena.allocate(0);
        }
        MemoryMapping m = MemoryMapping.ofFile(fd, s.offset(), s.size(), writable);
        mappings.add(m);
        return m.segment();
    }

    /** The link's BDF. */
    public int bdf() {
        return attachment.bdf();
    }

    /** The root's peer id on the link. */
    public int id() {
        return attachment.peerId();
    }

    public int maxPeers() {
        return attachment.maxPeers();
    }

    /** {@code num_msix_vectors} of the root's entry (0: INTx only). */
    public int vectors() {
        return attachment.vectors();
    }

    /** The interrupts this endpoint receives: the vectors, or 1 for an INTx-only entry. */
    public int interruptCount() {
        return interruptFds.length;
    }

    /** {@code shmem_protocol}. */
    public int protocol() {
        return attachment.protocol();
    }

    /** The state table: one little-endian u32 per peer, read-only. */
    public MemorySegment stateTable() {
        return stateTable;
    }

    /** Peer {@code peer}'s state, as the state table has it now. */
    public int state(int peer) {
        if (peer < 0 || peer >= maxPeers()) {
            throw new IndexOutOfBoundsException("peer " + peer + " of " + maxPeers());
        }
        return (int) STATE_ENTRY.getVolatile(stateTable, 4L * peer);
    }

    /** The R/W section every peer may write (empty when the link has none). */
    public MemorySegment readWriteSection() {
        return readWrite;
    }

    /** Peer {@code peer}'s output section: writable for this endpoint's own id only. */
    public MemorySegment outputSection(int peer) {
        if (peer < 0 || peer >= maxPeers()) {
            throw new IndexOutOfBoundsException("peer " + peer + " of " + maxPeers());
        }
        return outputs.get(peer);
    }

    /** This endpoint's own output section, which the other peers read. */
    public MemorySegment ownOutputSection() {
        return outputs.get(id());
    }

    /**
     * Writes STATE: the state table shows it, and every other peer gets
     * vector 0 if it changed. Returns once the state table shows it, so that
     * a doorbell rung afterwards cannot overtake it.
     *
     * @throws IOException if the daemon does not apply it within 5 seconds
     */
    public void setState(int state) throws IOException {
        writeRegister(REG_STATE, state);
        long deadline = System.nanoTime() + STATE_WAIT_NANOS;
        for (int spins = 0; state(id()) != state; spins++) {
            if (System.nanoTime() > deadline) {
                throw new IOException(this + ": the daemon did not apply STATE 0x" + Integer.toHexString(state)
                        + " within 5 s");
            }
            if (spins < 1000) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
    }

    /** INT_CONTROL bit 0: whether doorbells and state changes reach {@link #awaitInterrupts}. */
    public void enableInterrupts(boolean on) throws IOException {
        writeRegister(REG_INT_CONTROL, on ? 1 : 0);
    }

    /**
     * Rings {@code vector} of peer {@code peer} (DOORBELL). Dropped as on
     * the device when the peer is absent, has interrupts off, or the vector
     * is not below this endpoint's vector count (1 without MSI-X). Like a
     * posted write it reports nothing, not even that the daemon has let the
     * endpoint go ({@link #awaitInterrupts} and {@link #setState} do).
     */
    public void ring(int peer, int vector) throws IOException {
        if (peer < 0 || peer > 0xffff || vector < 0 || vector > 0xffff) {
            throw new IllegalArgumentException("peer " + peer + " and vector " + vector + " must be 0-65535");
        }
        int n = interruptFds.length;
        int fd = peer < maxPeers() && vector < n ? doorbellFds[peer * n + vector] : -1;
        if (fd < 0) {
            writeRegister(REG_DOORBELL, peer << 16 | vector); // the device model's rules (own id, out of range)
            return;
        }
        long written;
        synchronized (doorbellFds) { // not while close() closes the descriptor
            if (closed) {
                throw new IllegalStateException(this + " is closed");
            }
            // the kernel delivers it while the target can take it in the kernel, else the daemon applies the rules
            written = Libc.write(fd, one);
        }
        if (written != 8) {
            throw new IOException(this + ": doorbell to peer " + peer + " failed (" + Errno.describe((int) -written)
                    + ")");
        }
    }

    private void writeRegister(int offset, int value) throws IOException {
        synchronized (record) {
            if (closed) {
                throw new IllegalStateException("ivshmem endpoint " + PciDevice.formatBdf(bdf()) + " is closed");
            }
            record.set(LE_INT, 0, offset);
            record.set(LE_INT, 4, value);
            long n;
            do {
                n = Libc.write(registerFd, record);
            } while (n == -Errno.EINTR.value());
            if (n != IvshmemAttachment.RECORD_BYTES) {
                throw new IOException("ivshmem " + PciDevice.formatBdf(bdf()) + ": the daemon no longer takes register "
                        + "writes (" + (n < 0 ? Errno.describe((int) -n) : n + " bytes written") + ")");
            }
        }
    }

    /**
     * Waits up to {@code timeout} (zero: just look; negative: forever) for
     * interrupts; returns the vectors that fired as a bit mask (bit v for
     * vector v), 0 on timeout or when {@link #close} ends the wait. Several
     * interrupts of one vector since the last call count as one bit here and
     * add up in {@link #interrupts}.
     */
    public synchronized int awaitInterrupts(Duration timeout) throws IOException {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        int millis = timeout.isNegative() ? -1 : (int) Math.min(Integer.MAX_VALUE, Math.ceilDiv(timeout.toNanos(), 1_000_000L));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int r = Libc.poll(pollFds, interruptFds.length + 2, millis);
            if (r == -Errno.EINTR.value()) {
                if (millis >= 0) {
                    millis = (int) Math.max(0, Math.ceilDiv(deadline - System.nanoTime(), 1_000_000L));
                }
                continue;
            }
            if (r < 0) {
                throw new IOException("waiting for ivshmem interrupts: poll failed: " + Errno.describe(-r));
            }
            if ((Libc.pollEvents(pollFds, interruptFds.length + 1) & (Libc.POLLERR | Libc.POLLHUP)) != 0 && !closed) {
                throw new IOException(this + ": the daemon detached it (disabled, or the daemon ended)");
            }
            int fired = 0;
            for (int v = 0; r > 0 && v < interruptFds.length; v++) {
                if ((Libc.pollEvents(pollFds, v) & Libc.POLLIN) != 0 && Libc.read(interruptFds[v], counter) == 8) {
                    interruptCounts.addAndGet(v, counter.get(JAVA_LONG, 0));
                    fired |= 1 << v;
                }
            }
            return closed ? 0 : fired;
        }
    }

    /** Interrupts of {@code vector} received so far by {@link #awaitInterrupts}. */
    public long interrupts(int vector) {
        return interruptCounts.get(checkVector(vector));
    }

    /**
     * The eventfd of {@code vector}, for a program's own event loop (reading
     * it consumes the interrupts); valid until {@link #close}.
     */
    public int interruptDescriptor(int vector) {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        return interruptFds[checkVector(vector)];
    }

    private int checkVector(int vector) {
        if (vector < 0 || vector >= interruptFds.length) {
            throw new IndexOutOfBoundsException("vector " + vector + " of " + interruptFds.length);
        }
        return vector;
    }

    /**
     * Detaches: the daemon turns the root's interrupts off and sets its state
     * to 0. A thread waiting in {@link #awaitInterrupts} returns 0.
     */
    @Override
    public void close() throws IOException {
        synchronized (record) {
            if (closed) {
                return;
            }
            closed = true;
        }
        counterWake();
        IOException failure = null;
        try {
            client.detachIvshmem(bdf());
        } catch (ControlException | IOException e) {
            failure = new IOException("detaching from ivshmem " + PciDevice.formatBdf(bdf()) + ": " + e.getMessage(), e);
        } finally {
            client.close();
            synchronized (this) { // once no thread waits any more
                synchronized (doorbellFds) { // and none rings
                    closeQuietly(registerFd);
                    closeQuietly(wakeFd);
                    releaseResources();
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void counterWake() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(JAVA_LONG);
            one.set(JAVA_LONG, 0, 1);
            Libc.write(wakeFd, one);
        }
    }

    /** Closes the interrupt eventfds and the arena, which unmaps the sections. */
    private void releaseResources() {
        for (int fd : interruptFds) {
            closeQuietly(fd);
        }
        for (int fd : doorbellFds) {
            closeQuietly(fd);
        }
        mappings.forEach(MemoryMapping::close);
        arena.close();
    }

    private static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                Libc.close(fd);
            } catch (NativeException ignored) {
                // Nothing to do about a descriptor that will not close.
            }
        }
    }

    @Override
    public String toString() {
        return "ivshmem " + PciDevice.formatBdf(bdf()) + " root peer " + id() + " of " + maxPeers();
    }
}
