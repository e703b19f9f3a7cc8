package io.jailhouse.daemon;

import io.jailhouse.config.Bitmap;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A host tree in a temporary directory whose cgroup files are plain files, and
 * a kernel answering writes to them by the rules {@link CpusetIsolation} relies
 * on (a small model of cgroup v1 cpusets and of v2 with threaded cgroups and
 * partitions): task lists move tasks and refuse kernel threads, cpus files
 * check their parents and children, rmdir refuses populated groups. After
 * every change the plain files show the model's state, so tests read them.
 */
final class FakeCgroupKernel implements CgroupFiles {
    enum Version {
        V1,
        V2
    }

    /** A thread: its process, whether the kernel lets it change cgroups, where it is. */
    static final class Task {
        final int tid;
        final int tgid;
        final boolean movable;
        Path group;
        /** Where it may run; set the way kernels before 6.2 do: to its cpuset's CPUs on every move and change. */
        BitSet affinity;

        Task(int tid, int tgid, boolean movable, Path group) {
            this.tid = tid;
            this.tgid = tgid;
            this.movable = movable;
            this.group = group;
        }
    }

    static final class Group {
        final Path dir;
        final Group parent;
        BitSet cpus = new BitSet();
        String mems = "";
        boolean threaded;
        boolean cpusetFiles;
        boolean cpusetInSubtree;
        BitSet exclusive = new BitSet();
        String partition = "member";

        Group(Path dir, Group parent) {
            this.dir = dir;
            this.parent = parent;
        }
    }

    final Path hostRoot;
    final Version version;
    final Path top;
    final BitSet online;
    final Map<Path, Group> groups = new LinkedHashMap<>();
    final Map<Integer, Task> tasks = new TreeMap<>();
    private final Map<Path, Errno> failures = new HashMap<>();
    private final Map<Integer, Integer> forkOnMove = new HashMap<>();
    private String partitionRefusal;
    int writes;

    private FakeCgroupKernel(Path hostRoot, Version version, String mountPoint, String onlineCpus) {
        this.hostRoot = hostRoot.toAbsolutePath().normalize();
        this.version = version;
        this.top = this.hostRoot.resolve(mountPoint.substring(1));
        this.online = parse(onlineCpus);
        hostFile("/sys/devices/system/cpu/online", onlineCpus + "\n");
        Group t = new Group(top, null);
        t.cpus = (BitSet) online.clone();
        t.mems = "0";
        t.cpusetFiles = true;
        groups.put(top, t);
        mkdirs(top);
    }

    /** This machine's layout: v2 at /sys/fs/cgroup/unified without cpuset, v1 cpuset at /sys/fs/cgroup/cpuset. */
    static FakeCgroupKernel v1(Path hostRoot, String onlineCpus) {
        FakeCgroupKernel k = new FakeCgroupKernel(hostRoot, Version.V1, "/sys/fs/cgroup/cpuset", onlineCpus);
        k.hostFile("/proc/self/mountinfo", """
                22 1 253:1 / / rw,relatime - ext4 /dev/vda rw
                31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
                34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
                35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
                41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                """);
        k.hostFile("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
        k.sync();
        return k;
    }

    /** A systemd-style v2 host at /sys/fs/cgroup with the cpuset controller and remote partitions. */
    static FakeCgroupKernel v2(Path hostRoot, String onlineCpus) {
        FakeCgroupKernel k = new FakeCgroupKernel(hostRoot, Version.V2, "/sys/fs/cgroup", onlineCpus);
        k.hostFile("/proc/self/mountinfo", """
                22 1 253:1 / / rw,relatime - ext4 /dev/vda rw
                30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
                """);
        k.sync();
        return k;
    }

    // ---- setting the scene

    FakeCgroupKernel hostFile(String hostPath, String text) {
        try {
            Path p = hostRoot.resolve(hostPath.substring(1));
            Files.createDirectories(p.getParent());
            Files.writeString(p, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** A group made by someone else (systemd, a container engine), relative to the top. */
    FakeCgroupKernel group(String relative, String cpus) {
        Path dir = top.resolve(relative);
        Group parent = groups.get(dir.getParent());
        Group g = new Group(dir, parent);
        g.cpus = parse(cpus);
        g.mems = "0";
        g.cpusetFiles = version == Version.V1 || parent.cpusetInSubtree;
        groups.put(dir, g);
        mkdirs(dir);
        sync();
        return this;
    }

    /** v2: the top enables cpuset for its children already (as systemd's AllowedCPUs= needs). */
    FakeCgroupKernel topCpusetEnabled() {
        groups.get(top).cpusetInSubtree = true;
        groups.values().stream().filter(g -> g.parent != null && g.parent.dir.equals(top)).forEach(g -> g.cpusetFiles = true);
        sync();
        return this;
    }

    /** A process with these threads (the first is the process id) in a group relative to the top. */
    FakeCgroupKernel process(String relative, int... tids) {
        for (int tid : tids) {
            tasks.put(tid, new Task(tid, tids[0], true, top.resolve(relative)));
        }
        sync();
        return this;
    }

    /** A kernel thread bound to a CPU: in the top group, refused anywhere else (EINVAL). */
    FakeCgroupKernel kernelThread(int tid) {
        tasks.put(tid, new Task(tid, tid, false, top));
        sync();
        return this;
    }

    /** When {@code tid} is moved, a task {@code child} appears in the top group (forked by one not yet moved). */
    FakeCgroupKernel forkWhenMoved(int tid, int child) {
        forkOnMove.put(tid, child);
        return this;
    }

    /** v2: /proc/self/cgroup of the daemon. */
    FakeCgroupKernel selfCgroup(String path) {
        return hostFile("/proc/self/cgroup", "0::" + path + "\n");
    }

    /** Every write to the file (relative to the top) fails with {@code errno} until cleared. */
    FakeCgroupKernel failWrites(String relative, Errno errno) {
        failures.put(top.resolve(relative), errno);
        return this;
    }

    /** v2: the kernel leaves every new partition invalid for this reason. */
    FakeCgroupKernel refusePartitions(String reason) {
        partitionRefusal = reason;
        return this;
    }

    void clearFailures() {
        failures.clear();
    }

    void exit(int tid) {
        tasks.remove(tid);
        sync();
    }

    // ---- questions of the tests

    /** The group a task is in, relative to the top ("" for the top). */
    String groupOf(int tid) {
        return top.relativize(tasks.get(tid).group).toString();
    }

    List<Integer> tidsIn(String relative) {
        Path dir = top.resolve(relative);
        return tasks.values().stream().filter(t -> t.group.equals(dir)).map(t -> t.tid).toList();
    }

    /** The CPUs a task may run on (kernels before 6.2 forget a thread's own pinning when its cpuset changes). */
    BitSet affinity(int tid) {
        Task t = tasks.get(tid);
        return t.affinity == null ? effective(groups.get(t.group)) : t.affinity;
    }

    boolean exists(String relative) {
        return groups.containsKey(top.resolve(relative));
    }

    /** The CPUs tasks of a group may run on. */
    BitSet effectiveCpus(String relative) {
        return effective(groups.get(top.resolve(relative)));
    }

    private BitSet effective(Group g) {
        if (g.parent == null) {
            BitSet e = (BitSet) online.clone();
            if (version == Version.V2) {
                groups.values().stream().filter(this::validPartition).forEach(p -> e.andNot(p.exclusive));
            }
            return e;
        }
        if (version == Version.V2 && validPartition(g)) {
            return (BitSet) g.exclusive.clone();
        }
        BitSet parent = effective(g.parent);
        if (g.cpus.isEmpty() && version == Version.V2) {
            return parent;
        }
        BitSet e = (BitSet) g.cpus.clone();
        e.and(parent);
        return e.isEmpty() && version == Version.V2 ? parent : e;
    }

    private boolean validPartition(Group g) {
        return g.partition.equals("root");
    }

    // ---- CgroupFiles

    @Override
    public String read(Path file) throws IOException {
        Group g = groups.get(file.getParent());
        if (version == Version.V2 && g != null && g.threaded && file.getFileName().toString().equals("cgroup.procs")) {
            throw new FileSystemException(file.toString(), null, "Operation not supported");
        }
        return Files.readString(file);
    }

    @Override
    public void write(Path file, String value) throws NativeException {
        writes++;
        if (!Files.isRegularFile(file)) {
            throw new NativeException("open(" + file + ")", Errno.ENOENT.value());
        }
        Errno failure = failures.get(file);
        if (failure != null) {
            throw fail(file, failure);
        }
        Group g = groups.get(file.getParent());
        String v = value.strip();
        if (g == null) {
            throw fail(file, Errno.EACCES);
        }
        switch (file.getFileName().toString()) {
            case "tasks", "cgroup.threads" -> moveThread(file, g, v);
            case "cgroup.procs" -> moveProcess(file, g, v);
            case "cpuset.cpus", "cpus" -> setCpus(file, g, v);
            case "cpuset.mems", "mems" -> g.mems = v;
            case "cgroup.type" -> setType(file, g, v);
            case "cgroup.subtree_control" -> setSubtreeControl(file, g, v);
            case "cpuset.cpus.exclusive" -> setExclusive(file, g, v);
            case "cpuset.cpus.partition" -> setPartition(file, g, v);
            default -> throw fail(file, Errno.EACCES);
        }
        sync();
    }

    private static NativeException fail(Path file, Errno e) {
        return new NativeException("write(" + file + ")", e.value());
    }

    private int id(Path file, String v) throws NativeException {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw fail(file, Errno.EINVAL); // one id per write, as the kernel takes them
        }
    }

    private void checkRoom(Path file, Group g) throws NativeException {
        if (version == Version.V1 && (g.cpus.isEmpty() || g.mems.isEmpty())) {
            throw fail(file, Errno.ENOSPC);
        }
        if (version == Version.V2 && g.parent != null && !g.threaded && g.cpusetInSubtree) {
            throw fail(file, Errno.EBUSY); // no internal processes
        }
    }

    private Path domainOf(Group g) {
        while (g.threaded) {
            g = g.parent;
        }
        return g.dir;
    }

    private void moveThread(Path file, Group g, String v) throws NativeException {
        Task t = tasks.get(id(file, v));
        if (t == null) {
            throw fail(file, Errno.ESRCH);
        }
        if (!t.movable) {
            throw fail(file, Errno.EINVAL);
        }
        checkRoom(file, g);
        if (version == Version.V2 && !domainOf(groups.get(t.group)).equals(domainOf(g))) {
            throw fail(file, Errno.EOPNOTSUPP); // threads move only inside their threaded domain
        }
        move(t, g);
    }

    private void moveProcess(Path file, Group g, String v) throws NativeException {
        int pid = id(file, v);
        List<Task> threads = tasks.values().stream().filter(t -> t.tgid == pid).toList();
        if (threads.isEmpty()) {
            throw fail(file, Errno.ESRCH);
        }
        if (threads.stream().anyMatch(t -> !t.movable)) {
            throw fail(file, Errno.EINVAL);
        }
        checkRoom(file, g);
        for (Task t : threads) {
            move(t, g);
        }
    }

    private void move(Task t, Group g) {
        t.group = g.dir;
        t.affinity = effective(g);
        Integer child = forkOnMove.remove(t.tid);
        if (child != null) {
            tasks.put(child, new Task(child, child, true, top));
        }
    }

    private void setCpus(Path file, Group g, String v) throws NativeException {
        BitSet cpus;
        try {
            cpus = parse(v);
        } catch (IllegalArgumentException e) {
            throw fail(file, Errno.EINVAL);
        }
        BitSet beyond = (BitSet) cpus.clone();
        beyond.andNot(online);
        if (!beyond.isEmpty()) {
            throw fail(file, Errno.ERANGE);
        }
        if (version == Version.V1) {
            if (!isSubset(cpus, g.parent.cpus)) {
                throw fail(file, Errno.EINVAL);
            }
            for (Group c : children(g)) {
                if (!isSubset(c.cpus, cpus)) {
                    throw fail(file, Errno.EBUSY);
                }
            }
            if (cpus.isEmpty() && !tidsIn(top.relativize(g.dir).toString()).isEmpty()) {
                throw fail(file, Errno.ENOSPC);
            }
        } else {
            // Older v2 kernels: a sibling partition whose CPUs this group now claims becomes invalid.
            for (Group s : children(g.parent)) {
                if (s != g && validPartition(s) && s.exclusive.intersects(cpus)) {
                    s.partition = "root invalid (Cpu list in cpuset.cpus not exclusive)";
                }
            }
        }
        g.cpus = cpus;
        tasks.values().forEach(t -> t.affinity = effective(groups.get(t.group)));
    }

    private void setType(Path file, Group g, String v) throws NativeException {
        if (!v.equals("threaded") || g.parent == null) {
            throw fail(file, Errno.EINVAL);
        }
        g.threaded = true;
    }

    private void setSubtreeControl(Path file, Group g, String v) throws NativeException {
        for (String op : v.split("\\s+")) {
            if (op.equals("+cpuset")) {
                if (!g.cpusetFiles && g.parent != null) {
                    throw fail(file, Errno.ENOENT); // not available here
                }
                g.cpusetInSubtree = true;
                children(g).forEach(c -> c.cpusetFiles = true);
            } else if (op.equals("-cpuset")) {
                if (children(g).stream().anyMatch(c -> c.cpusetInSubtree)) {
                    throw fail(file, Errno.EBUSY);
                }
                g.cpusetInSubtree = false;
                children(g).forEach(c -> c.cpusetFiles = false);
            } else {
                throw fail(file, Errno.EINVAL);
            }
        }
    }

    private void setExclusive(Path file, Group g, String v) throws NativeException {
        BitSet x = parse(v);
        for (Group s : children(g.parent)) {
            if (s != g && s.exclusive.intersects(x)) {
                throw fail(file, Errno.EINVAL); // the exclusivity rule
            }
        }
        if (g.parent.parent != null && !isSubset(x, g.parent.exclusive)) {
            throw fail(file, Errno.EINVAL);
        }
        for (Group c : children(g)) {
            if (!isSubset(c.exclusive, x)) {
                throw fail(file, Errno.EBUSY);
            }
        }
        g.exclusive = x;
    }

    private void setPartition(Path file, Group g, String v) throws NativeException {
        switch (v) {
            case "member" -> g.partition = "member";
            case "root" -> g.partition = partitionState(g);
            default -> throw fail(file, Errno.EINVAL);
        }
    }

    private String partitionState(Group g) {
        if (partitionRefusal != null) {
            return "root invalid (" + partitionRefusal + ")";
        }
        if (g.exclusive.isEmpty()) {
            return "root invalid (cpuset.cpus and cpuset.cpus.exclusive are empty)";
        }
        for (Group a = g.parent; a.parent != null; a = a.parent) {
            if (!isSubset(g.exclusive, a.exclusive)) {
                return "root invalid (Invalid cpu list in cpuset.cpus.exclusive)";
            }
        }
        for (Group s : children(g.parent)) {
            if (s != g && s.cpus.intersects(g.exclusive)) {
                return "root invalid (Cpu list in cpuset.cpus not exclusive)";
            }
        }
        return "root";
    }

    @Override
    public void mkdir(Path dir) throws IOException {
        if (Files.exists(dir)) {
            throw new FileAlreadyExistsException(dir.toString());
        }
        Group parent = groups.get(dir.getParent());
        if (parent == null) {
            throw new NoSuchFileException(dir.toString());
        }
        Group g = new Group(dir, parent);
        g.cpusetFiles = version == Version.V1 || parent.cpusetInSubtree;
        groups.put(dir, g);
        mkdirs(dir);
        sync();
    }

    @Override
    public void rmdir(Path dir) throws IOException {
        Group g = groups.get(dir);
        if (g == null) {
            throw new NoSuchFileException(dir.toString());
        }
        if (!children(g).isEmpty() || tasks.values().stream().anyMatch(t -> t.group.equals(dir))) {
            throw new FileSystemException(dir.toString(), null, "Device or resource busy");
        }
        groups.remove(dir);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
        sync();
    }

    // ---- the plain files

    private List<Group> children(Group g) {
        return groups.values().stream().filter(c -> c.parent == g).toList();
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Rewrites every group's control files from the model. */
    void sync() {
        try {
            for (Group g : groups.values()) {
                Map<String, String> f = new LinkedHashMap<>();
                List<Task> in = tasks.values().stream().filter(t -> t.group.equals(g.dir)).toList();
                String tids = lines(in.stream().map(t -> t.tid).toList());
                String pids = lines(in.stream().map(t -> t.tgid).distinct().sorted().toList());
                if (version == Version.V1) {
                    f.put("tasks", tids);
                    f.put("cgroup.procs", pids);
                    f.put("cpuset.cpus", CpusetIsolation.rangeList(g.cpus) + "\n");
                    f.put("cpuset.mems", g.mems + "\n");
                    f.put("cpuset.effective_cpus", CpusetIsolation.rangeList(effective(g)) + "\n");
                } else {
                    f.put("cgroup.threads", tids);
                    if (!g.threaded && g.parent != null) {
                        // A (threaded) domain lists every process of its subtree.
                        f.put("cgroup.procs", lines(tasks.values().stream().filter(t -> t.group.startsWith(g.dir)
                                && domainOf(groups.get(t.group)).equals(g.dir)).map(t -> t.tgid).distinct().sorted()
                                .toList()));
                    } else {
                        f.put("cgroup.procs", pids);
                    }
                    f.put("cgroup.subtree_control", g.cpusetInSubtree ? "cpuset\n" : "\n");
                    if (g.parent == null) {
                        f.put("cgroup.controllers", "cpuset cpu io memory pids\n");
                        f.put("cpuset.cpus.effective", CpusetIsolation.rangeList(effective(g)) + "\n");
                        f.put("cpuset.cpus.isolated", "\n");
                    } else {
                        f.put("cgroup.controllers", g.parent.cpusetInSubtree ? "cpuset\n" : "\n");
                        f.put("cgroup.type", g.threaded ? "threaded\n"
                                : children(g).stream().anyMatch(c -> c.threaded) ? "domain threaded\n" : "domain\n");
                        if (g.cpusetFiles) {
                            f.put("cpuset.cpus", CpusetIsolation.rangeList(g.cpus) + "\n");
                            f.put("cpuset.mems", g.mems + "\n");
                            f.put("cpuset.cpus.exclusive", CpusetIsolation.rangeList(g.exclusive) + "\n");
                            f.put("cpuset.cpus.partition", g.partition + "\n");
                            f.put("cpuset.cpus.effective", CpusetIsolation.rangeList(effective(g)) + "\n");
                        }
                    }
                }
                try (Stream<Path> s = Files.list(g.dir)) {
                    for (Path old : s.filter(Files::isRegularFile).toList()) {
                        if (!f.containsKey(old.getFileName().toString())) {
                            Files.delete(old);
                        }
                    }
                }
                for (Map.Entry<String, String> e : f.entrySet()) {
                    Files.writeString(g.dir.resolve(e.getKey()), e.getValue());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String lines(List<Integer> ids) {
        return ids.stream().map(i -> i + "\n").collect(Collectors.joining());
    }

    private static boolean isSubset(BitSet a, BitSet b) {
        BitSet x = (BitSet) a.clone();
        x.andNot(b);
        return x.isEmpty();
    }

    static BitSet parse(String list) {
        BitSet b = new BitSet();
        for (int c : Bitmap.parseRangeList(list.strip())) {
            b.set(c);
        }
        return b;
    }

    /** Every group directory under the top, deepest first (for the tests' own checks). */
    List<String> groupDirs() {
        try (Stream<Path> s = Files.walk(top)) {
            return s.filter(Files::isDirectory).filter(d -> !d.equals(top))
                    .sorted(Comparator.comparing(Path::toString)).map(d -> top.relativize(d).toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The tasks by group, for failure messages. */
    @Override
    public String toString() {
        Map<String, List<Integer>> by = new TreeMap<>();
        tasks.values().forEach(t -> by.computeIfAbsent(groupOf(t.tid), k -> new ArrayList<>()).add(t.tid));
        return by.toString();
    }
}
