package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.host.Mount;

import io.jailhouse.config.Bitmap;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Keeps the host's tasks off the CPUs of the cells, with cgroup cpusets: our
 * stand-in for upstream taking a cell's CPUs away from Linux (offlining them)
 * while the cell exists.
 *
 * <p>Layout, under the top of the cpuset hierarchy:
 * <pre>
 * jailhouse/                     all online CPUs
 *   root/                        online CPUs minus every isolated cell's: the host
 *   cell-NAME/                   the cell's CPUs
 *     cpuN/                      CPU N only: the vCPU thread pinned to host CPU N
 * </pre>
 * One group per vCPU makes the kernel itself hold each vCPU thread on its CPU:
 * before Linux 6.2, moving a thread into a cpuset replaced its affinity with the
 * cpuset's CPUs, so a shared cell group would have undone the 1:1 pinning.
 *
 * <p><b>cgroup v1</b>: every task of the top cpuset is moved into {@code root}
 * (tasks the kernel will not move, kernel threads bound to a CPU, are left and
 * counted); new processes inherit {@code root}; {@code root}'s CPUs shrink when a
 * cell is isolated and widen when it is released.
 *
 * <p><b>cgroup v2</b>: tasks are not moved; each cell group is made a (remote)
 * cpuset partition ({@code cpuset.cpus.partition} = {@code root}, Linux 6.7's
 * {@code cpuset.cpus.exclusive} on the way down), which takes its CPUs away from
 * every other cgroup of the system at once, systemd's slices included. A v2
 * cgroup holds either whole processes or, if {@code threaded}, single threads of
 * processes of its threaded domain; so {@code jailhouse} becomes a threaded
 * domain, its children are threaded, and the daemon's process moves from its own
 * cgroup into {@code root} (and back on {@link #close()}). Processes started
 * by the daemon inherit {@code root}; nobody else's cgroup is touched.
 *
 * <p>Every path is taken under a host root directory ({@code /}, or a fake tree
 * in the tests); every failed cgroup write becomes a {@link HypervisorException}
 * naming the file and the errno; a failed {@link #isolate} undoes what it did.
 * Safe for concurrent use.
 */
public final class CpusetIsolation implements AutoCloseable {
    /** The cpuset hierarchy in use. */
    public enum Hierarchy {
        /** The unified hierarchy, with the cpuset controller and remote partitions. */
        V2,
        /** A cgroup v1 hierarchy with the cpuset controller. */
        V1,
        /** No usable cpuset: cell CPUs are pinned but shared with the host. */
        NONE
    }

    /**
     * What {@link #isolate} did for a cell, for the caller to print.
     *
     * @param group the cell's cpuset group (as the host names it), or null if nothing was isolated
     * @param hostTasksMoved host tasks moved into the {@code root} group by this call (v1; 0 on v2,
     *        where the partition keeps every host task off without moving it)
     * @param hostTasksSkipped host tasks the kernel would not move (kernel threads bound to a CPU);
     *        they may still run on the cell's CPUs
     * @param notes anything else the user should know (cpusets of others that still overlap, ...)
     */
    public record Isolation(String cellName, BitSet cpus, String group, int hostTasksMoved, int hostTasksSkipped,
            List<String> notes) {
        public Isolation {
            cpus = (BitSet) cpus.clone();
            notes = List.copyOf(notes);
        }

        @Override
        public BitSet cpus() {
            return (BitSet) cpus.clone();
        }

        public boolean isolated() {
            return group != null;
        }

        /** One line: what was done, e.g. for the hypervisor console. */
        public String summary() {
            String cpuList = rangeList(cpus);
            if (group == null) {
                return "Cell \"" + cellName + "\": CPUs " + cpuList + " pinned, not isolated"
                        + (notes.isEmpty() ? "" : ": " + String.join("; ", notes));
            }
            StringBuilder b = new StringBuilder("Cell \"" + cellName + "\": host tasks kept off CPUs " + cpuList
                    + " (cpuset " + group + ")");
            if (hostTasksMoved > 0 || hostTasksSkipped > 0) {
                b.append("; ").append(hostTasksMoved).append(hostTasksMoved == 1 ? " host task" : " host tasks")
                        .append(" moved");
            }
            if (hostTasksSkipped > 0) {
                b.append(", ").append(hostTasksSkipped).append(" left in place (kernel threads bound to a CPU)");
            }
            for (String n : notes) {
                b.append("; ").append(n);
            }
            return b.toString();
        }
    }

    static final String GROUP = "jailhouse";
    static final String ROOT_GROUP = "root";
    static final String MOUNTINFO = "/proc/self/mountinfo";
    static final String SELF_CGROUP = "/proc/self/cgroup";
    static final String ONLINE_CPUS = "/sys/devices/system/cpu/online";
    /** Present at the top of a v2 hierarchy from Linux 6.7 on, with remote partitions. */
    static final String V2_PARTITIONS_MARK = "cpuset.cpus.isolated";

    /** Passes over a task list while new tasks keep appearing in it (fork during the move). */
    private static final int SWEEP_PASSES = 10;
    /** A cgroup whose last task just exited stays busy a moment. */
    private static final int RMDIR_ATTEMPTS = 50;
    private static final long RMDIR_PAUSE_MILLIS = 10;

    private final Hierarchy hierarchy;
    private final Path hostRoot;
    /** The host's name for the top of the hierarchy, for users. */
    private final String mountPoint;
    /** The top of the hierarchy under {@link #hostRoot}; null for NONE. */
    private final Path top;
    private final String reason;
    /** v1 control file prefix: {@code cpuset.}, or empty if mounted with {@code noprefix}. */
    private final String prefix;
    private final CgroupFiles files;
    private final long daemonPid;

    /** The isolated cells, by name. */
    private final Map<String, IsolatedCell> cells = new LinkedHashMap<>();
    private boolean groupsCreated;
    /** v2: the cgroup the daemon came from (relative to the top), where {@link #close()} returns it. */
    private String daemonHome;
    /** v2: we enabled cpuset in the top's cgroup.subtree_control, and disable it again on close. */
    private boolean topCpusetEnabled;
    /** The owner lock (see {@link #claim}) while this supervisor holds it; null otherwise. */
    private FileChannel ownerLock;
    /** Another running supervisor holds the owner lock: its cpusets are left alone, none are made here. */
    private String ownedElsewhere;

    /**
     * Who owns the {@code jailhouse} cpusets: the supervisor holding a lock
     * on this file (under the host root). The kernel drops the lock when its
     * holder dies, however it dies, so cpusets with no holder are leftovers.
     */
    static final String OWNER_LOCK = "/run/lock/jailhouse-cpusets";

    private record IsolatedCell(String name, BitSet cpus, Path dir, SortedMap<Integer, Integer> threadOfCpu) {
    }

    /** An undo step of a failing {@link #isolate}. */
    private interface Undo {
        void run() throws HypervisorException;
    }

    CpusetIsolation(Hierarchy hierarchy, Path hostRoot, String mountPoint, String prefix, String reason,
            CgroupFiles files, long daemonPid) {
        this.hierarchy = hierarchy;
        this.hostRoot = hostRoot;
        this.mountPoint = mountPoint;
        this.top = mountPoint == null ? null : resolve(hostRoot, mountPoint);
        this.prefix = prefix;
        this.reason = reason;
        this.files = files;
        this.daemonPid = daemonPid;
    }

    /**
     * Takes ownership of the {@code jailhouse} cpusets, at enable, whatever
     * the partitioning: a supervisor that died (kill -9) leaves its groups,
     * which keep the host's tasks off CPUs no cell uses any more. If no
     * running supervisor holds the owner lock, those groups are an earlier
     * supervisor's: their tasks go back to the host and the groups go. If
     * another one holds it, its groups are left alone and {@link #isolate}
     * refuses (EBUSY). The lock is held until {@link #close}.
     *
     * @return what was found and done, for the hypervisor console (empty: nothing)
     */
    public synchronized List<String> claim() {
        if (!available() || ownerLock != null || ownedElsewhere != null) {
            return List.of();
        }
        Path lockFile = resolve(hostRoot, OWNER_LOCK);
        try {
            Files.createDirectories(lockFile.getParent());
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // a supervisor in this very process holds it
            }
            if (lock == null) {
                channel.close();
                ownedElsewhere = "another running supervisor owns the " + hostName(group()) + " cpusets (it holds "
                        + OWNER_LOCK + ")";
                return List.of(ownedElsewhere + ": left as they are");
            }
            ownerLock = channel;
        } catch (IOException e) {
            return Files.exists(group()) ? List.of("cannot tell whether the " + hostName(group())
                    + " cpusets are an earlier supervisor's (" + OWNER_LOCK + ": " + describe(e) + "): left as they are")
                    : List.of();
        }
        if (!Files.exists(group()) || groupsCreated) {
            return List.of();
        }
        try {
            tearDown(null);
            return List.of("removed the " + hostName(group()) + " cpusets a supervisor that is gone left;"
                    + " their tasks are the host's again");
        } catch (HypervisorException e) {
            return List.of("the " + hostName(group()) + " cpusets a supervisor that is gone left could not all be"
                    + " removed: " + e.getMessage());
        }
    }

    private synchronized void releaseOwnership() {
        if (ownerLock != null) {
            try {
                ownerLock.close(); // drops the lock
            } catch (IOException e) {
                // closed or not, the lock goes with the descriptor
            }
            ownerLock = null;
        }
    }

    /** The cpusets of the machine this runs on. */
    public static CpusetIsolation detect() {
        return detect(Path.of("/"));
    }

    /**
     * Finds a usable cpuset hierarchy in {@code /proc/self/mountinfo}: cgroup v2
     * with the cpuset controller and remote partitions (preferred), else a cgroup
     * v1 cpuset hierarchy; else none, with the reason. Changes nothing.
     *
     * @param hostRoot the directory standing for the host's {@code /}: {@code /}
     *        itself, or a fake tree; mount points are taken under it
     */
    public static CpusetIsolation detect(Path hostRoot) {
        return detect(hostRoot, CgroupFiles.KERNEL, ProcessHandle.current().pid());
    }

    static CpusetIsolation detect(Path hostRoot, CgroupFiles files, long daemonPid) {
        Path root = hostRoot.toAbsolutePath().normalize();
        List<Mount> mounts;
        try {
            mounts = mounts(root);
        } catch (IOException e) {
            return none(root, files, daemonPid, "cannot read " + resolve(root, MOUNTINFO) + ": " + describe(e));
        }
        List<String> v2Seen = new ArrayList<>();
        for (Mount m : mounts) {
            if (!m.type().equals("cgroup2")) {
                continue;
            }
            Path dir = resolve(root, m.mountPoint());
            String controllers;
            try {
                controllers = files.read(dir.resolve("cgroup.controllers")).trim();
            } catch (IOException e) {
                v2Seen.add("cgroup v2 at " + m.mountPoint() + " unreadable: " + describe(e));
                continue;
            }
            if (!List.of(controllers.split("\\s+")).contains("cpuset")) {
                v2Seen.add("cgroup v2 at " + m.mountPoint() + " without cpuset");
            } else if (!Files.exists(dir.resolve(V2_PARTITIONS_MARK))) {
                v2Seen.add("cgroup v2 cpuset at " + m.mountPoint() + " without remote partitions (Linux 6.7)");
            } else {
                return new CpusetIsolation(Hierarchy.V2, root, m.mountPoint(), "cpuset.", null, files, daemonPid);
            }
        }
        List<String> v1Seen = new ArrayList<>();
        for (Mount m : mounts) {
            if (!m.type().equals("cgroup") || !List.of(m.superOptions().split(",")).contains("cpuset")) {
                continue;
            }
            Path dir = resolve(root, m.mountPoint());
            String prefix = Files.exists(dir.resolve("cpuset.cpus")) ? "cpuset."
                    : Files.exists(dir.resolve("cpus")) ? "" : null;
            if (prefix == null || !Files.exists(dir.resolve("tasks"))) {
                v1Seen.add("cgroup v1 cpuset at " + m.mountPoint() + " without cpuset.cpus or tasks");
                continue;
            }
            return new CpusetIsolation(Hierarchy.V1, root, m.mountPoint(), prefix, null, files, daemonPid);
        }
        if (v2Seen.isEmpty()) {
            v2Seen.add("no cgroup v2");
        }
        if (v1Seen.isEmpty()) {
            v1Seen.add("no v1 cpuset hierarchy");
        }
        return none(root, files, daemonPid, String.join(", ", v2Seen) + ", " + String.join(", ", v1Seen));
    }

    private static CpusetIsolation none(Path root, CgroupFiles files, long pid, String reason) {
        return new CpusetIsolation(Hierarchy.NONE, root, null, null, reason, files, pid);
    }

    private static List<Mount> mounts(Path root) throws IOException {
        try {
            return Mount.parseMountInfo(Files.readString(resolve(root, MOUNTINFO), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static Path resolve(Path root, String hostPath) {
        return root.resolve(hostPath.startsWith("/") ? hostPath.substring(1) : hostPath);
    }

    public boolean available() {
        return hierarchy != Hierarchy.NONE;
    }

    public Hierarchy hierarchy() {
        return hierarchy;
    }

    /** Where the hierarchy is mounted, as the host names it; null if none. */
    public String mountPoint() {
        return mountPoint;
    }

    /** One line for users: what strict partitioning does about host tasks here. */
    public String describe() {
        return switch (hierarchy) {
            case V2 -> "cgroup v2 cpuset at " + mountPoint
                    + ": cell CPUs become exclusive cpuset partitions, host tasks are kept off them";
            case V1 -> "cgroup v1 cpuset at " + mountPoint + ": host tasks are kept off cell CPUs";
            case NONE -> "no cpuset controller (" + reason + "): cell CPUs are pinned but shared with host tasks";
        };
    }

    /** The CPUs of every isolated cell. */
    public synchronized BitSet isolatedCpus() {
        BitSet all = new BitSet();
        cells.values().forEach(c -> all.or(c.cpus()));
        return all;
    }

    private Path group() {
        return top.resolve(GROUP);
    }

    private Path rootGroup() {
        return group().resolve(ROOT_GROUP);
    }

    /** The cell's group: {@code cell-} and the name, with what is not [A-Za-z0-9_.-] as %XX. */
    static String groupName(String cellName) {
        StringBuilder b = new StringBuilder("cell-");
        for (byte c : cellName.getBytes(StandardCharsets.UTF_8)) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '.' || c == '-') {
                b.append((char) c);
            } else {
                b.append('%').append(String.format("%02X", c & 0xff));
            }
        }
        return b.toString();
    }

    private String cpusFile() {
        return prefix + "cpus";
    }

    private String memsFile() {
        return prefix + "mems";
    }

    /** Where single threads are listed and moved: v1 {@code tasks}, v2 {@code cgroup.threads}. */
    private String threadsFile() {
        return hierarchy == Hierarchy.V1 ? "tasks" : "cgroup.threads";
    }

    /** The host's name for a path under the host root. */
    private String hostName(Path p) {
        return "/" + hostRoot.relativize(p);
    }

    /**
     * Keeps the host's tasks off a cell's CPUs, after the cell's vCPU threads
     * have started and pinned themselves: creates the {@code jailhouse} groups
     * if this is the first cell (moving the host's tasks into {@code root} on
     * v1), moves each vCPU thread into its CPU's group, then shrinks
     * {@code root}. On failure undoes everything it did and throws.
     * Without a cpuset hierarchy it changes nothing and says so.
     *
     * @param threadOfCpu for each host CPU of the cell, the id of the vCPU
     *        thread pinned to it ({@code gettid()})
     * @throws HypervisorException EBUSY if a CPU is another isolated cell's or the
     *         host would keep none, EINVAL for CPUs not online, EEXIST if the cell
     *         is isolated already, and the errno of a failing cgroup operation
     */
    public synchronized Isolation isolate(String cellName, Map<Integer, Integer> threadOfCpu)
            throws HypervisorException {
        Objects.requireNonNull(cellName, "cellName");
        SortedMap<Integer, Integer> threads = new TreeMap<>(threadOfCpu);
        BitSet cpus = new BitSet();
        Set<Integer> tids = new HashSet<>();
        for (Map.Entry<Integer, Integer> e : threads.entrySet()) {
            if (e.getKey() < 0 || e.getValue() <= 0) {
                throw new IllegalArgumentException("CPU " + e.getKey() + " thread " + e.getValue() + " of cell \""
                        + cellName + "\"");
            }
            if (!tids.add(e.getValue())) {
                throw new IllegalArgumentException("thread " + e.getValue() + " given for two CPUs of cell \""
                        + cellName + "\"");
            }
            cpus.set(e.getKey());
        }
        if (cpus.isEmpty()) {
            throw new IllegalArgumentException("cell \"" + cellName + "\" has no vCPU thread to isolate");
        }
        if (!available()) {
            return new Isolation(cellName, cpus, null, 0, 0, List.of("no cpuset controller (" + reason + ")"));
        }
        if (ownedElsewhere != null) {
            throw new HypervisorException(Errno.EBUSY, ownedElsewhere);
        }
        if (cells.containsKey(cellName)) {
            throw new HypervisorException(Errno.EEXIST, "cell \"" + cellName + "\" is isolated already");
        }
        BitSet online = onlineCpus();
        BitSet offline = (BitSet) cpus.clone();
        offline.andNot(online);
        if (!offline.isEmpty()) {
            throw new HypervisorException(Errno.EINVAL, "CPUs " + rangeList(offline) + " of cell \"" + cellName
                    + "\" are not online (online: " + rangeList(online) + ")");
        }
        for (IsolatedCell other : cells.values()) {
            if (other.cpus().intersects(cpus)) {
                BitSet both = (BitSet) other.cpus().clone();
                both.and(cpus);
                throw new HypervisorException(Errno.EBUSY, "CPUs " + rangeList(both) + " of cell \"" + cellName
                        + "\" are isolated for cell \"" + other.name() + "\"");
            }
        }
        BitSet hostCpus = hostCpus(online, cpus);
        if (hostCpus.isEmpty()) {
            throw new HypervisorException(Errno.EBUSY, "isolating CPUs " + rangeList(cpus) + " for cell \""
                    + cellName + "\" would leave the host no CPU");
        }

        Deque<Undo> undo = new ArrayDeque<>();
        try {
            List<String> notes = new ArrayList<>();
            int[] swept = {0, 0};
            setUpGroups(online, undo, notes);
            if (hierarchy == Hierarchy.V1) {
                swept = sweepTopIntoRoot();
            }
            Path cellDir = group().resolve(groupName(cellName));
            if (hierarchy == Hierarchy.V1) {
                cellGroupsV1(cellName, cpus, threads, cellDir, undo);
            } else {
                cellGroupsV2(cellName, cpus, threads, cellDir, undo);
            }
            // The vCPU threads have left root: shrinking it cannot touch their affinity.
            BitSet before = hostCpus(online, new BitSet());
            writeCpus(rootGroup(), hostCpus);
            undo.push(() -> writeCpus(rootGroup(), before));
            if (hierarchy == Hierarchy.V2) {
                partition(cellName, cpus, cellDir, undo);
            }
            cells.put(cellName, new IsolatedCell(cellName, (BitSet) cpus.clone(), cellDir, threads));
            if (hierarchy == Hierarchy.V1) {
                notes.addAll(othersOverlapping(cpus));
            }
            return new Isolation(cellName, cpus, hostName(cellDir), swept[0], swept[1], notes);
        } catch (HypervisorException | RuntimeException e) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                } catch (HypervisorException | RuntimeException u) {
                    e.addSuppressed(u);
                }
            }
            throw e;
        }
    }

    /** Online CPUs minus every isolated cell's and {@code more}. */
    private BitSet hostCpus(BitSet online, BitSet more) {
        BitSet host = (BitSet) online.clone();
        host.andNot(isolatedCpus());
        host.andNot(more);
        return host;
    }

    /** Creates {@code jailhouse} and {@code root} (and on v2 moves the daemon in) unless done already. */
    private void setUpGroups(BitSet online, Deque<Undo> undo, List<String> notes) throws HypervisorException {
        if (groupsCreated) {
            return;
        }
        if (Files.exists(group())) {
            // A daemon that died with cells isolated: give its tasks back to the host first.
            tearDown(null);
            notes.add("removed the " + hostName(group()) + " cpusets an earlier daemon left");
        }
        undo.push(() -> {
            groupsCreated = false;
            tearDown(daemonHome);
            daemonHome = null;
        });
        groupsCreated = true;
        if (hierarchy == Hierarchy.V2) {
            String control = read(top.resolve("cgroup.subtree_control"));
            if (!List.of(control.trim().split("\\s+")).contains("cpuset")) {
                write(top.resolve("cgroup.subtree_control"), "+cpuset");
                topCpusetEnabled = true;
            }
        }
        mkdir(group());
        if (hierarchy == Hierarchy.V1) {
            copyMems(top, group());
        } else {
            write(group().resolve("cgroup.subtree_control"), "+cpuset");
        }
        writeCpus(group(), online);
        mkdir(rootGroup());
        if (hierarchy == Hierarchy.V1) {
            copyMems(group(), rootGroup());
        } else {
            write(rootGroup().resolve("cgroup.type"), "threaded");
        }
        writeCpus(rootGroup(), online);
        if (hierarchy == Hierarchy.V2) {
            daemonHome = daemonCgroup();
            try {
                files.write(rootGroup().resolve("cgroup.procs"), daemonPid + "\n");
            } catch (NativeException e) {
                throw new HypervisorException(errno(e), "cannot move the daemon (process " + daemonPid + ") into "
                        + rootGroup().resolve("cgroup.procs") + ": " + Errno.describe(e.errnoValue()), e);
            }
        }
    }

    /** v2: the daemon's cgroup, relative to the top, from {@code /proc/self/cgroup}'s {@code 0::} line. */
    private String daemonCgroup() throws HypervisorException {
        Path file = resolve(hostRoot, SELF_CGROUP);
        String text = read(file);
        for (String line : text.split("\n")) {
            if (line.startsWith("0::")) {
                String p = line.substring(3).trim();
                return p.startsWith("/") ? p.substring(1) : p;
            }
        }
        throw new HypervisorException(Errno.EINVAL, file + " has no cgroup v2 line (0::PATH)");
    }

    /**
     * v1: moves every task of the top cpuset into {@code root}, pass after pass
     * while forks add new ones; the kernel refuses kernel threads bound to a CPU
     * (EINVAL) and tasks it cannot place (ENOSPC, EBUSY): those are left and counted.
     *
     * @return {moved, skipped}
     */
    private int[] sweepTopIntoRoot() throws HypervisorException {
        Path from = top.resolve("tasks");
        Path to = rootGroup().resolve("tasks");
        Set<Integer> skipped = new HashSet<>();
        int moved = 0;
        for (int pass = 0; pass < SWEEP_PASSES; pass++) {
            boolean progress = false;
            for (int tid : readIds(from)) {
                if (skipped.contains(tid)) {
                    continue;
                }
                try {
                    files.write(to, tid + "\n");
                    moved++;
                    progress = true;
                } catch (NativeException e) {
                    if (e.is(Errno.ESRCH)) {
                        continue; // exited meanwhile
                    }
                    if (e.is(Errno.EINVAL) || e.is(Errno.ENOSPC) || e.is(Errno.EBUSY)) {
                        skipped.add(tid);
                        continue;
                    }
                    throw new HypervisorException(errno(e), "cannot move host task " + tid + " from " + from
                            + " to " + to + ": " + Errno.describe(e.errnoValue()), e);
                }
            }
            if (!progress) {
                break;
            }
        }
        skipped.retainAll(new HashSet<>(readIds(from)));
        return new int[] {moved, skipped.size()};
    }

    private void cellGroupsV1(String cellName, BitSet cpus, SortedMap<Integer, Integer> threads, Path cellDir,
            Deque<Undo> undo) throws HypervisorException {
        mkdir(cellDir);
        undo.push(() -> rmdir(cellDir));
        copyMems(group(), cellDir);
        writeCpus(cellDir, cpus);
        for (Map.Entry<Integer, Integer> e : threads.entrySet()) {
            Path leaf = cellDir.resolve("cpu" + e.getKey());
            mkdir(leaf);
            undo.push(() -> rmdir(leaf));
            copyMems(cellDir, leaf);
            writeCpus(leaf, single(e.getKey()));
            moveVcpu(cellName, e.getKey(), e.getValue(), leaf, undo);
        }
    }

    private void cellGroupsV2(String cellName, BitSet cpus, SortedMap<Integer, Integer> threads, Path cellDir,
            Deque<Undo> undo) throws HypervisorException {
        Path exclusive = group().resolve("cpuset.cpus.exclusive");
        BitSet before = isolatedCpus();
        BitSet after = (BitSet) before.clone();
        after.or(cpus);
        write(exclusive, rangeList(after));
        undo.push(() -> write(exclusive, rangeList(before)));
        mkdir(cellDir);
        undo.push(() -> rmdir(cellDir));
        write(cellDir.resolve("cgroup.type"), "threaded");
        writeCpus(cellDir, cpus);
        write(cellDir.resolve("cpuset.cpus.exclusive"), rangeList(cpus));
        write(cellDir.resolve("cgroup.subtree_control"), "+cpuset");
        for (Map.Entry<Integer, Integer> e : threads.entrySet()) {
            Path leaf = cellDir.resolve("cpu" + e.getKey());
            mkdir(leaf);
            undo.push(() -> rmdir(leaf));
            write(leaf.resolve("cgroup.type"), "threaded");
            writeCpus(leaf, single(e.getKey()));
            moveVcpu(cellName, e.getKey(), e.getValue(), leaf, undo);
        }
    }

    /**
     * v2: makes the cell's group a partition, which takes its CPUs from every
     * other cgroup. Done last, when {@code root}'s cpuset.cpus no longer lists
     * them: some kernels refuse a partition whose CPUs a sibling's cpuset.cpus
     * lists, or invalidate it when a sibling's cpuset.cpus takes them later.
     */
    private void partition(String cellName, BitSet cpus, Path cellDir, Deque<Undo> undo) throws HypervisorException {
        Path partition = cellDir.resolve("cpuset.cpus.partition");
        write(partition, "root");
        undo.push(() -> write(partition, "member"));
        String state = read(partition).trim();
        if (!state.equals("root")) {
            throw new HypervisorException(Errno.EBUSY, "the kernel did not make CPUs " + rangeList(cpus)
                    + " a cpuset partition for cell \"" + cellName + "\": " + partition + " reads \"" + state + "\"");
        }
    }

    private void moveVcpu(String cellName, int cpu, int tid, Path leaf, Deque<Undo> undo) throws HypervisorException {
        Path file = leaf.resolve(threadsFile());
        try {
            files.write(file, tid + "\n");
        } catch (NativeException e) {
            throw new HypervisorException(errno(e), "cannot move vCPU thread " + tid + " (CPU " + cpu + " of cell \""
                    + cellName + "\") into " + file + ": " + Errno.describe(e.errnoValue()), e);
        }
        undo.push(() -> moveThreadsBack(leaf));
    }

    /** Moves what is left in a group's thread list into {@code root}; threads that ended are gone already. */
    private void moveThreadsBack(Path leaf) throws HypervisorException {
        Path to = rootGroup().resolve(threadsFile());
        for (int tid : readIds(leaf.resolve(threadsFile()))) {
            try {
                files.write(to, tid + "\n");
            } catch (NativeException e) {
                if (!e.is(Errno.ESRCH)) {
                    throw new HypervisorException(errno(e), "cannot move thread " + tid + " back into " + to + ": "
                            + Errno.describe(e.errnoValue()), e);
                }
            }
        }
    }

    /** v1: cpusets of others (containers, ...) that hold tasks and share CPUs with the cell. */
    private List<String> othersOverlapping(BitSet cpus) {
        List<String> out = new ArrayList<>();
        List<Path> dirs;
        try (Stream<Path> s = Files.walk(top)) {
            dirs = s.filter(Files::isDirectory).filter(d -> !d.equals(top) && !d.startsWith(group())).sorted().toList();
        } catch (IOException | RuntimeException e) {
            return out;
        }
        for (Path d : dirs) {
            try {
                BitSet theirs = parseCpus(read(d.resolve(cpusFile())), d.resolve(cpusFile()));
                int tasks = readIds(d.resolve("tasks")).size();
                if (tasks > 0 && theirs.intersects(cpus)) {
                    BitSet both = (BitSet) theirs.clone();
                    both.and(cpus);
                    out.add(tasks + (tasks == 1 ? " task" : " tasks") + " in cpuset " + hostName(d)
                            + " may still run on CPUs " + rangeList(both));
                }
            } catch (HypervisorException e) {
                // Not a cpuset we can read: not ours to report on.
            }
        }
        return out;
    }

    /**
     * Gives a cell's CPUs back to the host after its vCPU threads ended: moves
     * any thread still in the cell's groups into {@code root}, removes the
     * groups, widens {@code root}. A cell never isolated is ignored. If a group
     * cannot be removed the CPUs are given back anyway, the group is left to
     * {@link #close()}, and the failure is thrown.
     */
    public synchronized void release(String cellName) throws HypervisorException {
        IsolatedCell cell = cells.get(cellName);
        if (cell == null) {
            return;
        }
        List<HypervisorException> problems = new ArrayList<>();
        List<Path> leaves = cell.threadOfCpu().keySet().stream().map(c -> cell.dir().resolve("cpu" + c)).toList();
        for (Path leaf : leaves) {
            attempt(problems, () -> moveThreadsBack(leaf));
        }
        if (hierarchy == Hierarchy.V2) {
            attempt(problems, () -> write(cell.dir().resolve("cpuset.cpus.partition"), "member"));
        }
        for (Path leaf : leaves) {
            attempt(problems, () -> rmdir(leaf));
        }
        attempt(problems, () -> rmdir(cell.dir()));
        cells.remove(cellName);
        if (hierarchy == Hierarchy.V2) {
            attempt(problems, () -> write(group().resolve("cpuset.cpus.exclusive"), rangeList(isolatedCpus())));
        }
        attempt(problems, () -> writeCpus(rootGroup(), hostCpus(onlineCpus(), new BitSet())));
        throwFirst(problems);
    }

    /**
     * Restores the host as it was, when the hypervisor stops: releases the
     * cells left, moves every task of the {@code jailhouse} groups back (v1: to
     * the top cpuset; v2: the daemon's processes to the daemon's own cgroup) and
     * removes the groups. Does nothing if nothing was isolated.
     */
    @Override
    public synchronized void close() throws HypervisorException {
        try {
            restoreHost();
        } finally {
            releaseOwnership();
        }
    }

    private void restoreHost() throws HypervisorException {
        if (!available() || !groupsCreated) {
            return;
        }
        List<HypervisorException> problems = new ArrayList<>();
        for (String name : List.copyOf(cells.keySet())) {
            attempt(problems, () -> release(name));
        }
        cells.clear();
        attempt(problems, () -> tearDown(daemonHome));
        groupsCreated = false;
        daemonHome = null;
        throwFirst(problems);
    }

    /**
     * Moves every task out of the {@code jailhouse} tree and removes it,
     * deepest groups first: v1 into the top cpuset; v2 the processes into
     * {@code home} (relative to the top; the top if null or refused).
     */
    private void tearDown(String home) throws HypervisorException {
        Path g = group();
        if (!Files.exists(g)) {
            restoreTopControllers();
            return;
        }
        List<Path> groups;
        try (Stream<Path> s = Files.walk(g)) {
            groups = s.filter(Files::isDirectory).sorted(Comparator.comparingInt(Path::getNameCount).reversed()
                    .thenComparing(Comparator.naturalOrder())).toList();
        } catch (IOException e) {
            throw new HypervisorException(errno(e), "cannot list " + g + ": " + describe(e), e);
        }
        List<HypervisorException> problems = new ArrayList<>();
        for (int pass = 0; pass < SWEEP_PASSES; pass++) {
            int moved = hierarchy == Hierarchy.V1 ? emptyV1(groups, problems) : emptyV2(groups, home, problems);
            if (moved == 0) {
                break;
            }
        }
        for (Path d : groups) {
            attempt(problems, () -> rmdir(d));
        }
        restoreTopControllers();
        throwFirst(problems);
    }

    /** @return the tasks moved to the top cpuset */
    private int emptyV1(List<Path> groups, List<HypervisorException> problems) {
        Path to = top.resolve("tasks");
        int moved = 0;
        for (Path d : groups) {
            List<Integer> tids;
            try {
                tids = readIds(d.resolve("tasks"));
            } catch (HypervisorException e) {
                problems.add(e);
                continue;
            }
            for (int tid : tids) {
                try {
                    files.write(to, tid + "\n");
                    moved++;
                } catch (NativeException e) {
                    if (!e.is(Errno.ESRCH)) {
                        problems.add(new HypervisorException(errno(e), "cannot move task " + tid + " of "
                                + d.resolve("tasks") + " back to " + to + ": " + Errno.describe(e.errnoValue()), e));
                    }
                }
            }
        }
        return moved;
    }

    /** @return the processes moved out of the tree */
    private int emptyV2(List<Path> groups, String home, List<HypervisorException> problems) {
        // cgroup.procs is readable in the threaded domain (listing the whole subtree) and in domain
        // groups; threaded groups refuse reads of it.
        Set<Integer> pids = new java.util.TreeSet<>();
        for (Path d : groups) {
            try {
                pids.addAll(readIds(d.resolve("cgroup.procs")));
            } catch (HypervisorException e) {
                // a threaded group: its processes are listed by the domain
            }
        }
        int moved = 0;
        for (int pid : pids) {
            Path to = top.resolve(home == null ? "" : home).resolve("cgroup.procs");
            try {
                files.write(to, pid + "\n");
                moved++;
                continue;
            } catch (NativeException e) {
                if (e.is(Errno.ESRCH)) {
                    continue;
                }
                if (home == null) {
                    problems.add(new HypervisorException(errno(e), "cannot move process " + pid + " back to " + to
                            + ": " + Errno.describe(e.errnoValue()), e));
                    continue;
                }
            }
            // The daemon's own cgroup is gone or takes no processes now: the top always does.
            Path fallback = top.resolve("cgroup.procs");
            try {
                files.write(fallback, pid + "\n");
                moved++;
            } catch (NativeException e) {
                if (!e.is(Errno.ESRCH)) {
                    problems.add(new HypervisorException(errno(e), "cannot move process " + pid + " back to "
                            + fallback + ": " + Errno.describe(e.errnoValue()), e));
                }
            }
        }
        return moved;
    }

    /** v2: disables cpuset in the top's subtree_control again if we enabled it (others may use it now). */
    private void restoreTopControllers() {
        if (!topCpusetEnabled) {
            return;
        }
        topCpusetEnabled = false;
        try {
            files.write(top.resolve("cgroup.subtree_control"), "-cpuset\n");
        } catch (NativeException e) {
            // EBUSY: another cgroup enabled cpuset for its children meanwhile; it stays.
        }
    }

    // ---- cgroup file operations, each failure a HypervisorException naming the file and the errno

    private BitSet onlineCpus() throws HypervisorException {
        Path file = resolve(hostRoot, ONLINE_CPUS);
        BitSet cpus = parseCpus(read(file), file);
        if (cpus.isEmpty()) {
            throw new HypervisorException(Errno.EINVAL, file + " lists no CPU");
        }
        return cpus;
    }

    private static BitSet parseCpus(String text, Path file) throws HypervisorException {
        BitSet cpus = new BitSet();
        try {
            for (int c : Bitmap.parseRangeList(text.trim())) {
                cpus.set(c);
            }
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(Errno.EINVAL, file + ": " + e.getMessage());
        }
        return cpus;
    }

    private void writeCpus(Path group, BitSet cpus) throws HypervisorException {
        write(group.resolve(cpusFile()), rangeList(cpus));
    }

    private void copyMems(Path from, Path to) throws HypervisorException {
        write(to.resolve(memsFile()), read(from.resolve(memsFile())).trim());
    }

    private String read(Path file) throws HypervisorException {
        try {
            return files.read(file);
        } catch (IOException e) {
            throw new HypervisorException(errno(e), "cannot read " + file + ": " + describe(e), e);
        }
    }

    private List<Integer> readIds(Path file) throws HypervisorException {
        List<Integer> ids = new ArrayList<>();
        for (String s : read(file).split("\\s+")) {
            if (!s.isEmpty()) {
                try {
                    ids.add(Integer.parseInt(s));
                } catch (NumberFormatException e) {
                    throw new HypervisorException(Errno.EINVAL, file + ": '" + s + "' is not a task id");
                }
            }
        }
        return ids;
    }

    private void write(Path file, String value) throws HypervisorException {
        try {
            files.write(file, value + "\n");
        } catch (NativeException e) {
            throw new HypervisorException(errno(e), "cannot write \"" + value + "\" to " + file + ": "
                    + Errno.describe(e.errnoValue()), e);
        }
    }

    private void mkdir(Path dir) throws HypervisorException {
        try {
            files.mkdir(dir);
        } catch (IOException e) {
            throw new HypervisorException(errno(e), "cannot create cgroup " + dir + ": " + describe(e), e);
        }
    }

    /** Removes a cgroup, waiting a little for tasks that are exiting; one already gone is fine. */
    private void rmdir(Path dir) throws HypervisorException {
        for (int attempt = 1;; attempt++) {
            try {
                files.rmdir(dir);
                return;
            } catch (NoSuchFileException e) {
                return;
            } catch (IOException e) {
                if (errno(e) != Errno.EBUSY || attempt >= RMDIR_ATTEMPTS) {
                    throw new HypervisorException(errno(e), "cannot remove cgroup " + dir + ": " + describe(e), e);
                }
            }
            try {
                Thread.sleep(RMDIR_PAUSE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HypervisorException(Errno.EINTR, "interrupted while removing cgroup " + dir, e);
            }
        }
    }

    private static void attempt(List<HypervisorException> problems, Undo step) {
        try {
            step.run();
        } catch (HypervisorException e) {
            problems.add(e);
        }
    }

    private static void throwFirst(List<HypervisorException> problems) throws HypervisorException {
        if (problems.isEmpty()) {
            return;
        }
        HypervisorException first = problems.getFirst();
        problems.stream().skip(1).forEach(first::addSuppressed);
        throw first;
    }

    /** The errno of a failed file operation: the native one, or from NIO's exception type or reason text. */
    static Errno errno(IOException e) {
        if (e instanceof NativeException n) {
            return n.errno() == null ? Errno.EIO : n.errno();
        }
        if (e instanceof NoSuchFileException) {
            return Errno.ENOENT;
        }
        if (e instanceof AccessDeniedException) {
            return Errno.EACCES;
        }
        if (e instanceof FileAlreadyExistsException) {
            return Errno.EEXIST;
        }
        if (e instanceof DirectoryNotEmptyException) {
            return Errno.ENOTEMPTY;
        }
        String text = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        if (text != null) {
            for (Errno x : Errno.values()) {
                if (text.equalsIgnoreCase(x.description())) {
                    return x;
                }
            }
        }
        return Errno.EIO;
    }

    /** {@code EBUSY (Device or resource busy)}, or the exception's own words if no errno fits. */
    static String describe(IOException e) {
        if (e instanceof NativeException n) {
            return Errno.describe(n.errnoValue());
        }
        Errno x = errno(e);
        if (x != Errno.EIO) {
            return x.name() + " (" + x.description() + ")";
        }
        String text = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        return text == null ? e.getClass().getSimpleName() : text;
    }

    private static BitSet single(int cpu) {
        BitSet b = new BitSet();
        b.set(cpu);
        return b;
    }

    /** {@code 1-3,5}, as cpuset files take and show CPU lists. */
    static String rangeList(BitSet bits) {
        StringBuilder b = new StringBuilder();
        for (int i = bits.nextSetBit(0); i >= 0;) {
            int end = bits.nextClearBit(i) - 1;
            if (!b.isEmpty()) {
                b.append(',');
            }
            b.append(i);
            if (end > i) {
                b.append('-').append(end);
            }
            i = bits.nextSetBit(end + 1);
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return describe();
    }

    /** For tests: the isolated cells' names, in isolation order. */
    synchronized List<String> isolatedCells() {
        return Collections.unmodifiableList(new ArrayList<>(cells.keySet()));
    }
}
