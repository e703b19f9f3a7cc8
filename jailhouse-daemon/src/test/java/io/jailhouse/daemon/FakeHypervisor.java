package io.jailhouse.daemon;

import io.jailhouse.boundary.DeviceEmulations;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An in-memory hypervisor with upstream's management semantics (ids from the
 * lowest free, EEXIST for a name taken, ENOENT for an unknown cell, EBUSY for
 * a CPU not the root's, images only into loadable writable regions), for
 * testing the daemon and the command without KVM. Tests steer it through the
 * public fields and methods below.
 */
public final class FakeHypervisor implements Hypervisor {
    /** A cell as the fake keeps it. */
    public static final class FakeCell {
        final int id;
        final CellConfig config;
        final TreeSet<Integer> cpus = new TreeSet<>();
        final TreeSet<Integer> failedCpus = new TreeSet<>();
        final ConsoleRing uart = new ConsoleRing(64 << 10);
        final Map<Integer, Map<String, Long>> counters = new TreeMap<>();
        CellState state = CellState.SHUT_DOWN;
        List<LoadImage> images = List.of();
        long consoleDropped;

        FakeCell(int id, CellConfig config) {
            this.id = id;
            this.config = config;
        }

        public String name() {
            return config.name();
        }

        public List<LoadImage> images() {
            return images;
        }

        public CellState state() {
            return state;
        }

        CellStatus status() {
            return new CellStatus(id, config.name(), state, List.copyOf(cpus), List.copyOf(failedCpus));
        }
    }

    private final SystemConfig system;
    private final Partitioning partitioning;
    private final ConsoleRing console = new ConsoleRing(ConsoleRing.HYPERVISOR_CAPACITY);
    private final TreeMap<Integer, FakeCell> cells = new TreeMap<>();
    /** How many more shutdown, load or destroy requests running cells refuse (apic-demo's first refusal). */
    public volatile int refusals;
    /** What the next starts return as warnings. */
    public volatile List<String> startWarnings = List.of();
    /** When set, the next operation throws this (an implementation bug, as the daemon sees it). */
    public volatile RuntimeException nextFailure;
    private int closeCount;

    public FakeHypervisor(SystemConfig system, Partitioning partitioning,
            io.jailhouse.boundary.DeviceEmulations emulations, java.nio.file.Path stateDirectory,
            java.nio.file.Path memoryDirectory) {
        this(system, partitioning);
    }

    public FakeHypervisor(SystemConfig system, Partitioning partitioning) {
        this.system = system;
        this.partitioning = partitioning;
        FakeCell root = new FakeCell(0, system.rootCell());
        root.state = CellState.RUNNING;
        system.rootCell().cpus().bits().forEach(root.cpus::add);
        cells.put(0, root);
        console.write("Initializing Jailhouse hypervisor (fake) on CPU 0\n");
    }

    @Override
    public SystemConfig systemConfig() {
        return system;
    }

    @Override
    public Partitioning partitioning() {
        return partitioning;
    }

    /** The fake's pools: its non-root cells' RAM pages and regions, against the root's memory and 64 slots. */
    @Override
    public synchronized io.jailhouse.protocol.DaemonStatus.PoolUsage poolUsage() {
        long pages = 0;
        long slots = 0;
        for (FakeCell c : cells.values()) {
            if (c.id == 0) {
                continue; // the root cell's memory is the host's, not the pool's
            }
            for (MemoryRegion r : c.config.memoryRegions()) {
                if (r.isRam()) {
                    pages += r.size() / MemoryRegion.PAGE_SIZE;
                    slots++;
                }
            }
        }
        long total = 0;
        for (MemoryRegion r : system.rootCell().memoryRegions()) {
            total += r.size() / MemoryRegion.PAGE_SIZE;
        }
        return new io.jailhouse.protocol.DaemonStatus.PoolUsage(pages, total, slots, 64);
    }

    private void enter() {
        RuntimeException f = nextFailure;
        if (f != null) {
            nextFailure = null;
            throw f;
        }
    }

    @Override
    public synchronized CellStatus createCell(CellConfig config) throws HypervisorException {
        enter();
        for (FakeCell c : cells.values()) {
            if (c.name().equals(config.name())) {
                throw new HypervisorException(Errno.EEXIST, "a cell named \"" + config.name() + "\" exists (id " + c.id + ")");
            }
        }
        FakeCell root = cells.get(0);
        for (int cpu : config.cpus().bits().toArray()) {
            if (cpu == 0) {
                throw new HypervisorException(Errno.EINVAL, "Cannot assign CPU 0 to other cells");
            }
            if (!root.cpus.contains(cpu)) {
                throw new HypervisorException(Errno.EBUSY, "CPU " + cpu + " is not the root cell's");
            }
        }
        int id = 1;
        while (cells.containsKey(id)) {
            id++;
        }
        FakeCell cell = new FakeCell(id, config);
        config.cpus().bits().forEach(cpu -> {
            root.cpus.remove(cpu);
            cell.cpus.add(cpu);
        });
        cells.put(id, cell);
        console.write("Created cell \"" + config.name() + "\"\n");
        events.publish(io.jailhouse.protocol.CellEvent.Type.CREATED, config.name(), id, "");
        return cell.status();
    }

    /** The cell a reference names, or ENOENT as upstream. */
    public synchronized FakeCell find(CellRef ref) throws HypervisorException {
        for (FakeCell c : cells.values()) {
            if (ref.byId() ? c.id == ref.id() : c.name().equals(ref.name())) {
                return c;
            }
        }
        throw new HypervisorException(Errno.ENOENT, "no cell " + (ref.byId() ? "with id " + ref.id() : "named \"" + ref.name() + "\""));
    }

    private FakeCell nonRoot(CellRef ref) throws HypervisorException {
        FakeCell c = find(ref);
        if (c.id == 0) {
            throw new HypervisorException(Errno.EINVAL, "the root cell cannot be managed");
        }
        return c;
    }

    /** What the last lifecycle operation was asked with (force, and whether the caller withdrew). */
    public volatile Caller lastCaller;

    private void approve(FakeCell c, Caller caller) throws HypervisorException {
        lastCaller = caller;
        if (caller.force()) {
            return;
        }
        if (refusals > 0 && (c.state == CellState.RUNNING || c.state == CellState.RUNNING_LOCKED)) {
            refusals--;
            throw new HypervisorException(Errno.EPERM, "cell \"" + c.name() + "\" refused the request");
        }
    }

    @Override
    public synchronized void loadImages(CellRef ref, List<ImageFile> files, Caller caller) throws HypervisorException {
        enter();
        FakeCell c = nonRoot(ref);
        List<LoadImage> images = new java.util.ArrayList<>();
        for (ImageFile f : files) {
            String problem = f.problem();
            if (problem != null) {
                throw new HypervisorException(Errno.EINVAL, problem);
            }
            images.add(new LoadImage(f.source(), bytesOf(f), f.address()));
        }
        for (LoadImage image : images) {
            boolean fits = false;
            for (MemoryRegion r : c.config.memoryRegions()) {
                if (r.has(MemoryRegion.LOADABLE) && r.has(MemoryRegion.WRITE) && image.address() >= r.virtStart()
                        && image.end() <= r.virtStart() + r.size()) {
                    fits = true;
                }
            }
            if (!fits) {
                throw new HypervisorException(Errno.EINVAL, "image " + image.source() + " (" + image.data().length
                        + " bytes at 0x" + Long.toHexString(image.address()) + ") is not inside a loadable region");
            }
        }
        approve(c, caller);
        c.state = CellState.SHUT_DOWN;
        c.failedCpus.clear();
        c.images = List.copyOf(images);
        events.publish(images.isEmpty() ? io.jailhouse.protocol.CellEvent.Type.SHUT_DOWN
                : io.jailhouse.protocol.CellEvent.Type.LOADED, c.name(), c.id, images.size() + " image(s)");
    }

    @Override
    public synchronized List<String> startCell(CellRef ref, Caller caller) throws HypervisorException {
        enter();
        FakeCell c = nonRoot(ref);
        approve(c, caller);
        c.state = CellState.RUNNING;
        console.write("Started cell \"" + c.name() + "\"\n");
        events.publish(io.jailhouse.protocol.CellEvent.Type.STARTED, c.name(), c.id, "");
        return startWarnings;
    }

    @Override
    public synchronized void destroyCell(CellRef ref, Caller caller) throws HypervisorException {
        enter();
        FakeCell c = nonRoot(ref);
        approve(c, caller);
        cells.remove(c.id);
        cells.get(0).cpus.addAll(c.cpus);
        console.write("Closing cell \"" + c.name() + "\"\n");
        events.publish(io.jailhouse.protocol.CellEvent.Type.DESTROYED, c.name(), c.id, "");
    }

    @Override
    public synchronized List<CellStatus> cells() {
        enter();
        return cells.values().stream().map(FakeCell::status).toList();
    }

    @Override
    public synchronized CellStatus cell(CellRef ref) throws HypervisorException {
        return find(ref).status();
    }

    @Override
    public synchronized CellStatistics statistics(CellRef ref) throws HypervisorException {
        enter();
        FakeCell c = find(ref);
        if (c.id == 0) {
            return CellStatistics.ofRoot(c.name());
        }
        Map<String, Long> total = new LinkedHashMap<>();
        Map<Integer, Map<String, Long>> perCpu = new TreeMap<>();
        for (int cpu : c.cpus) {
            Map<String, Long> m = new LinkedHashMap<>();
            for (String name : CellStatistics.NAMES) {
                long v = c.counters.getOrDefault(cpu, Map.of()).getOrDefault(name, 0L);
                m.put(name, v);
                total.merge(name, v, Long::sum);
            }
            perCpu.put(cpu, m);
        }
        return new CellStatistics(c.id, c.name(), total, perCpu);
    }

    @Override
    public synchronized long consoleBytesDropped(CellRef ref) throws HypervisorException {
        return find(ref).consoleDropped;
    }

    /** Sets the console bytes a cell's process dropped. */
    public synchronized void consoleDropped(String cell, long bytes) throws HypervisorException {
        find(CellRef.ofName(cell)).consoleDropped = bytes;
    }

    /** Sets one exit counter of one CPU of a cell. */
    public synchronized void count(String cell, int cpu, String counter, long value) throws HypervisorException {
        find(CellRef.ofName(cell)).counters.computeIfAbsent(cpu, k -> new LinkedHashMap<>()).put(counter, value);
    }

    /** Puts a cell into a state as its inmate or a fatal access would. */
    public synchronized void state(String cell, CellState state, Integer... failedCpus) throws HypervisorException {
        FakeCell c = find(CellRef.ofName(cell));
        c.state = state;
        c.failedCpus.clear();
        c.failedCpus.addAll(List.of(failedCpus));
    }

    private final CellEvents events = new CellEvents();

    @Override
    public CellEvents events() {
        return events;
    }

    @Override
    public ConsoleRing console() {
        return console;
    }

    @Override
    public synchronized ConsoleRing cellConsole(CellRef ref) throws HypervisorException {
        return find(ref).uart;
    }

    @Override
    public synchronized void disable(Caller caller) throws HypervisorException {
        enter();
        for (FakeCell c : new ArrayList<>(cells.values())) {
            if (c.id != 0) {
                destroyCell(CellRef.ofId(c.id), caller);
            }
        }
        console.write("Shutting down hypervisor\n");
    }

    @Override
    public synchronized void close() {
        closeCount++;
    }

    /** ivshmem links with a program attached, by BDF. */
    private final java.util.Set<Integer> attachedIvshmem = new TreeSet<>();

    private io.jailhouse.config.PciDevice rootIvshmem(int bdf) throws HypervisorException {
        for (var d : system.rootCell().pciDevices()) {
            if (d.isIvshmem() && d.bdf() == bdf) {
                return d;
            }
        }
        throw new HypervisorException(Errno.ENOENT, "the root cell has no ivshmem device "
                + io.jailhouse.config.PciDevice.formatBdf(bdf));
    }

    @Override
    public synchronized List<IvshmemLinkStatus> ivshmemLinks() {
        List<IvshmemLinkStatus> out = new ArrayList<>();
        for (var d : system.rootCell().pciDevices()) {
            if (d.isIvshmem()) {
                out.add(new IvshmemLinkStatus(d.bdf(), d.shmemDevId(), d.shmemPeers(), d.numMsixVectors(),
                        d.shmemProtocol(), attachedIvshmem.contains(d.bdf()),
                        List.of(new IvshmemLinkStatus.Peer(d.shmemDevId(), system.rootCell().name(), 0))));
            }
        }
        return out;
    }

    /**
     * An attachment whose descriptors are all standard input (0): the daemon
     * only passes them on, and the client gets copies of something real.
     */
    @Override
    public synchronized IvshmemAttachment attachIvshmem(int bdf) throws HypervisorException {
        var d = rootIvshmem(bdf);
        if (!attachedIvshmem.add(bdf)) {
            throw new HypervisorException(Errno.EBUSY, "a program is attached already");
        }
        var section = new IvshmemAttachment.Section(0, 0x1000);
        int stdin = 0;
        return new IvshmemAttachment(bdf, d.shmemDevId(), d.shmemPeers(), d.numMsixVectors(), d.shmemProtocol(),
                java.nio.file.Path.of("/dev/null"), section, section, List.of(section), stdin, List.of(stdin),
                List.of(List.of(-1), List.of(stdin), List.of(stdin)));
    }

    @Override
    public synchronized void detachIvshmem(int bdf) throws HypervisorException {
        rootIvshmem(bdf);
        if (!attachedIvshmem.remove(bdf)) {
            throw new HypervisorException(Errno.ENOENT, "nothing attached");
        }
    }

    public synchronized boolean ivshmemAttached(int bdf) {
        return attachedIvshmem.contains(bdf);
    }

    public synchronized int closeCount() {
        return closeCount;
    }

    public synchronized List<String> cellNames() {
        return cells.values().stream().map(FakeCell::name).toList();
    }

    /** What the image's descriptor holds (the real hypervisor leaves this to the cell's process). */
    private static byte[] bytesOf(ImageFile f) throws HypervisorException {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = a.allocate(Math.max(1, f.length()));
            long n = f.length() == 0 ? 0 : io.jailhouse.sys.Libc.pread(f.fd(), buf.asSlice(0, f.length()), 0);
            if (n != f.length()) {
                throw new HypervisorException(Errno.EIO, "image " + f.source() + ": read " + n + " of " + f.length());
            }
            return buf.asSlice(0, f.length()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }
}
