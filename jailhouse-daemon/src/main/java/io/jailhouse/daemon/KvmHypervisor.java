package io.jailhouse.daemon;

import io.jailhouse.boundary.CellChannel;
import io.jailhouse.boundary.CellPages;
import io.jailhouse.boundary.CellReply;
import io.jailhouse.boundary.CellRequest;
import io.jailhouse.boundary.DeviceEmulations;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.boundary.PciAdmission;
import io.jailhouse.boundary.PciConfigException;
import io.jailhouse.config.Architecture;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigCheck;
import io.jailhouse.config.CpuAssignment;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellEvent;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.DaemonStatus;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.protocol.JailhouseVersion;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmCapability;
import io.jailhouse.sys.KvmDevice;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The hypervisor on Linux KVM, as the supervisor runs it: the root cell is
 * the host, every other cell a KVM VM in a process of its own
 * ({@link CellProcess}). This class admits cells (the config-check rules,
 * CpuAssignment, PciAdmission), holds the reserved memory, the cpusets,
 * the ivshmem links and the cell table, and runs the lifecycle and the
 * comm-region protocol ({@link Cell}); it maps no cell's RAM. The root's
 * ivshmem side is {@link RootIvshmem}, the console thread
 * {@link ConsolePump}, the watch over the cell processes {@link CellWatch}.
 *
 * <p>An operation waits for its cell only ({@link Cell#acquire}); the
 * admission lock guards the set of cells and is never held while waiting
 * for a cell's answer. Listing, statistics and consoles take no lock and
 * ask no process.
 */
public final class KvmHypervisor implements Hypervisor {
    public static final String VERSION = JailhouseVersion.RELEASE;
    /** KVM features the hypervisor cannot do without. */
    static final List<KvmCapability> REQUIRED = List.of(KvmCapability.IRQCHIP, KvmCapability.USER_MEMORY,
            KvmCapability.SET_TSS_ADDR, KvmCapability.MP_STATE, KvmCapability.GET_TSC_KHZ,
            KvmCapability.READONLY_MEM, KvmCapability.IMMEDIATE_EXIT, KvmCapability.EXT_CPUID);
    /** The HYPERVISOR_GET_INFO figures (spec 3) kept in every cell's pages. */
    static final int INFO_MEM_POOL_SIZE = 0;
    static final int INFO_MEM_POOL_USED = 1;
    static final int INFO_REMAP_POOL_SIZE = 2;
    static final int INFO_REMAP_POOL_USED = 3;
    static final int INFO_NUM_CELLS = 4;

    /**
     * How the hypervisor is set up.
     *
     * @param memoryDirectory where the reserved-memory file goes (null: hugetlbfs or /dev/shm)
     * @param stateDirectory where the cells' sockets and logs go (the run directory's {@code cells})
     * @param launch how cell processes are started
     */
    public record Settings(Partitioning partitioning, DeviceEmulations emulations, Path memoryDirectory,
            Path stateDirectory, CellProcess.Launch launch) {
        /** Defaults: no emulations, the reserved memory where it fits, this JVM for the cells. */
        public static Settings of(Partitioning partitioning, Path stateDirectory) {
            return new Settings(partitioning, DeviceEmulations.NONE, null, stateDirectory,
                    CellProcess.Launch.ofThisJvm());
        }

        public Settings withEmulations(DeviceEmulations e) {
            return new Settings(partitioning, e, memoryDirectory, stateDirectory, launch);
        }

        public Settings withMemoryDirectory(Path d) {
            return new Settings(partitioning, emulations, d, stateDirectory, launch);
        }
    }

    private final SystemConfig config;
    private final byte[] systemConfigBytes;
    private final Settings settings;
    private final ReservedMemory memory;
    private final int hostCpus;
    private final int memorySlots;
    private final HypervisorConsole console;
    private final CellEvents events = new CellEvents();
    private final MemoryMapping consoleMapping;
    private final ConcurrentSkipListMap<Integer, Cell> cells = new ConcurrentSkipListMap<>();
    /** A cell process started ahead of need, so that a create does not wait for a JVM to start. */
    private final SpareProcess spare;
    private final ReentrantLock lock = new ReentrantLock();
    private final ConsolePump consolePump;
    private final CellWatch watch;
    private final IvshmemLinks links;
    /** Keeps host tasks off cell CPUs in strict mode; null in relaxed mode, where CPUs are shared anyway. */
    private final CpusetIsolation cpusets;
    private volatile boolean closed;
    /** Set first thing in close(), so a wait for a cell's reply gives up and releases the lock. */
    private volatile boolean closing;
    /** The root cell's peers on its ivshmem links, and the host programs attached to them; set at enable. */
    private RootIvshmem rootIvshmem;
    /** What config check says of the system config: told at enable, refused by nothing. */
    private final List<String> configNotes = new ArrayList<>();

    private KvmHypervisor(SystemConfig config, Settings settings, ReservedMemory memory, int hostCpus,
            int memorySlots, MemoryMapping consoleMapping, CpusetIsolation cpusets, boolean keepConsole) {
        this.config = config;
        this.systemConfigBytes = BinaryConfigCodec.encode(config);
        this.settings = settings;
        this.memory = memory;
        this.hostCpus = hostCpus;
        this.memorySlots = memorySlots;
        this.consoleMapping = consoleMapping;
        this.console = new HypervisorConsole(consoleMapping.segment(), keepConsole, this::cellFatal);
        this.cpusets = cpusets;
        this.links = new IvshmemLinks(memory);
        this.consolePump = new ConsolePump(cells.values(), new ConsolePump.Sink() {
            @Override
            public void report(byte[] data, int offset, int length, String cell) {
                console.writeReport(data, offset, length, cell);
                echo(data, offset, length);
            }

            @Override
            public void guest(byte[] data, int offset, int length) {
                console.writeGuest(data, offset, length);
                echo(data, offset, length);
            }
        });
        this.watch = new CellWatch(this::processEnded);
        this.spare = new SpareProcess(settings.launch(), settings.stateDirectory(), this::print);
    }

    @Override
    public List<String> notices() {
        List<String> notices = new ArrayList<>(configNotes);
        notices.add("Cell memory: 0x" + Long.toHexString(memory.size()) + " bytes of reserved memory in "
                + memory.file() + (memory.pageSize() > MemoryRegion.PAGE_SIZE ? ", pages of 0x"
                        + Long.toHexString(memory.pageSize()) + " bytes: cell regions in it must be aligned to them" : "")
                + ".");
        notices.add(cpusets == null ? "CPU isolation: none (relaxed partitioning shares host CPUs)."
                : "CPU isolation: " + cpusets.describe() + ".");
        if (!settings.emulations().byBdf().isEmpty()) {
            notices.add("PCI devices emulated in every cell that lists them: " + settings.emulations().describe()
                    + ".");
        }
        return notices;
    }

    boolean closing() {
        return closing;
    }

    @Override
    public CellEvents events() {
        return events;
    }

    /** A cell process reported a FATAL line: its cell has failed (a CPU of it, at least). */
    private void cellFatal(String name, String line) {
        try {
            events.publish(CellEvent.Type.FAILED, name, find(CellRef.ofName(name)).id(), line);
        } catch (HypervisorException e) {
            // destroyed meanwhile: its destroyed event says the rest
        }
    }

    /** Enables with default settings and the cells' sockets in {@code stateDirectory}. */
    public static Hypervisor enable(SystemConfig config, Partitioning partitioning, Path stateDirectory)
            throws HypervisorException {
        return enable(config, Settings.of(partitioning, stateDirectory));
    }

    /**
     * Enables the hypervisor on a system config: checks the config and KVM,
     * sets up the reserved-memory backing, the console and the root's
     * ivshmem peers.
     */
    public static Hypervisor enable(SystemConfig config, Settings settings) throws HypervisorException {
        if (config.architecture() != Architecture.X86) {
            throw new HypervisorException(Errno.EINVAL, "system config \"" + config.rootCell().name()
                    + "\" is for " + config.architecture() + "; this hypervisor runs x86 cells");
        }
        if (config.rootCell().cpus().isEmpty()) {
            throw new HypervisorException(Errno.EINVAL, "invalid system config: the root cell has no CPU");
        }
        // Upstream's driver enables a system config whatever config check says of it (its own AMD board
        // configs have findings); what this hypervisor needs of it is checked where it is used.
        List<String> findings = new ArrayList<>();
        ConfigCheck.Report report = ConfigCheck.run(new ConfigCheck.Source<>("system config", config), List.of());
        for (Map.Entry<String, List<ConfigCheck.Finding>> e : report.byCheck().entrySet()) {
            for (ConfigCheck.Finding f : e.getValue()) {
                findings.add("Note: " + e.getKey() + ": " + f.render() + ".");
            }
        }
        int api;
        int slots;
        try (KvmDevice kvm = openKvm()) {
            api = kvm.apiVersion();
            if (api != KvmDevice.API_VERSION) {
                throw new HypervisorException(Errno.ENODEV, "KVM API version " + api + ", expected "
                        + KvmDevice.API_VERSION);
            }
            List<String> missing = new ArrayList<>();
            for (KvmCapability cap : REQUIRED) {
                if (!kvm.has(cap)) {
                    missing.add(cap.kernelName());
                }
            }
            if (!missing.isEmpty()) {
                throw new HypervisorException(Errno.ENODEV, "this kernel's KVM lacks " + String.join(", ", missing));
            }
            slots = kvm.checkExtension(KvmCapability.NR_MEMSLOTS);
        } catch (NativeException e) {
            throw new HypervisorException(Errno.ENODEV, e.getMessage(), e);
        }
        ReservedMemory memory = null;
        MemoryMapping consoleMapping = null;
        try {
            Files.createDirectories(settings.stateDirectory());
            SupervisorState prior = SupervisorState.read(settings.stateDirectory());
            List<Integer> left = SupervisorState.cellIds(settings.stateDirectory());
            boolean adopt = prior != null && !left.isEmpty();
            List<String> removedFiles = new ArrayList<>();
            for (Path f : ReservedMemory.removeStale(ReservedMemory.backingDirectories(settings.memoryDirectory()))) {
                removedFiles.add("Removed the reserved-memory file " + f + " of a supervisor that is gone"
                        + " (no process maps it).");
            }
            long extent = ReservedMemory.extentOf(config);
            if (adopt) {
                prior.requireSame(config, settings.partitioning(), left);
                memory = Files.exists(prior.memoryFile()) ? ReservedMemory.reopen(prior.memoryFile(), extent)
                        : ReservedMemory.create(extent, settings.memoryDirectory(),
                                ReservedMemory.FILE_PREFIX + Libc.getpid());
            } else {
                memory = ReservedMemory.create(extent, settings.memoryDirectory(),
                        ReservedMemory.FILE_PREFIX + Libc.getpid());
            }
            consoleMapping = mapConsole(settings.stateDirectory().resolve("console"));
            int hostCpus = Runtime.getRuntime().availableProcessors();
            CpusetIsolation cpusets = settings.partitioning() == Partitioning.STRICT ? CpusetIsolation.detect() : null;
            KvmHypervisor hv = new KvmHypervisor(config, settings, memory, hostCpus, slots, consoleMapping, cpusets,
                    adopt);
            new SupervisorState(SupervisorState.digest(config), config.rootCell().name(), memory.file(),
                    settings.partitioning()).write(settings.stateDirectory());
            hv.print("\nInitializing Jailhouse hypervisor " + VERSION + " on KVM (API " + api + ")\n");
            hv.print("Partitioning: " + (settings.partitioning() == Partitioning.STRICT ? "strict" : "relaxed")
                    + ", " + hostCpus + " host CPUs\n");
            hv.configNotes.addAll(findings);
            for (String notice : hv.notices()) {
                hv.print(notice + "\n");
            }
            removedFiles.forEach(line -> hv.print(line + "\n"));
            for (String note : claimCpusets(cpusets)) {
                hv.print("CPU isolation: " + note + ".\n");
            }
            if (adopt) {
                hv.adopt(left); // before the root joins: the links form from the running cells' slots
            }
            // a refusal releases memory and console below (adopted cells keep running)
            hv.rootIvshmem = RootIvshmem.join(config.rootCell(), memory, hv.links, hv::print);
            hv.print("Activating hypervisor\n");
            hv.consolePump.start();
            hv.spare.replenish();
            return hv;
        } catch (IOException e) {
            closeQuietly(memory, consoleMapping);
            throw new HypervisorException(Errno.ENOMEM, "cannot set up the hypervisor's state in "
                    + settings.stateDirectory() + ": " + e.getMessage(), e);
        } catch (HypervisorException | RuntimeException e) {
            closeQuietly(memory, consoleMapping);
            throw e;
        }
    }

    /**
     * The cpusets at enable: a strict supervisor claims them for itself; a
     * relaxed one only clears what a supervisor that is gone left, which
     * would otherwise keep the host's tasks off CPUs no cell uses.
     */
    private static List<String> claimCpusets(CpusetIsolation cpusets) {
        if (cpusets != null) {
            return cpusets.claim();
        }
        CpusetIsolation sweep = CpusetIsolation.detect();
        try {
            return sweep.claim();
        } finally {
            try {
                sweep.close();
            } catch (HypervisorException e) {
                // it isolated nothing: closing only lets the lock go
            }
        }
    }

    private static KvmDevice openKvm() throws HypervisorException {
        try {
            return KvmDevice.open();
        } catch (NativeException e) {
            throw new HypervisorException(Errno.ENODEV, "cannot open " + KvmDevice.DEFAULT_PATH + ": "
                    + e.getMessage() + " (KVM is needed to run cells)", e);
        }
    }

    /** The hypervisor console's file: a ring in the run directory, so its history outlives this process. */
    private static MemoryMapping mapConsole(Path file) throws NativeException {
        long size = HypervisorConsole.fileBytes();
        int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0600);
        try {
            Libc.ftruncate(fd, size);
            return MemoryMapping.ofFile(fd, 0, size);
        } finally {
            Libc.close(fd);
        }
    }

    private static void closeQuietly(ReservedMemory memory, MemoryMapping console) {
        if (memory != null) {
            if (ReservedMemory.mappedByAnyProcess(memory.file())) {
                memory.release(); // cells of an earlier supervisor map it: theirs to keep
            } else {
                memory.close();
            }
        }
        if (console != null) {
            console.close();
        }
    }

    @Override
    public SystemConfig systemConfig() {
        return config;
    }

    @Override
    public Partitioning partitioning() {
        return settings.partitioning();
    }

    @Override
    public DaemonStatus.PoolUsage poolUsage() {
        long[] f = poolFigures();
        return new DaemonStatus.PoolUsage(f[INFO_MEM_POOL_USED], f[INFO_MEM_POOL_SIZE], f[INFO_REMAP_POOL_USED],
                f[INFO_REMAP_POOL_SIZE]);
    }

    /** The daemon's log (its standard output) gets what the hypervisor console gets. */
    private static void echo(byte[] b, int offset, int length) {
        System.out.write(b, offset, length);
        System.out.flush();
    }

    ReservedMemory reservedMemory() {
        return memory;
    }

    /** Appends to the hypervisor console (and the daemon's log). */
    void print(String text) {
        console.write(text);
        System.out.print(text);
        System.out.flush();
    }

    // ---- admission

    @Override
    public CellStatus createCell(CellConfig cellConfig) throws HypervisorException {
        lock.lock();
        try {
            checkOpen();
            for (Cell c : cells.values()) {
                if (c.name().equals(cellConfig.name())) {
                    throw new HypervisorException(Errno.EEXIST, "a cell named \"" + cellConfig.name()
                            + "\" exists already (id " + c.id() + ")");
                }
            }
            if (cellConfig.name().equals(config.rootCell().name())) {
                throw new HypervisorException(Errno.EEXIST, "\"" + cellConfig.name() + "\" is the root cell's name");
            }
            if (cellConfig.architecture() != Architecture.X86) {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + cellConfig.name() + "\" is for "
                        + cellConfig.architecture() + "; this hypervisor runs x86 cells");
            }
            Cell locker = lockingCell(null);
            if (locker != null) {
                throw new HypervisorException(Errno.EPERM, "cell \"" + locker.name()
                        + "\" is running/locked: no cell can be created until it is shut down");
            }
            checkCpus(cellConfig);
            checkAgainstOthers(cellConfig);
            checkPci(cellConfig);
            checkMemory(cellConfig);
            int id = 1;
            while (cells.containsKey(id)) {
                id++;
            }
            long t0 = System.nanoTime();
            Cell cell = build(id, cellConfig);
            cells.put(id, cell);
            print("Created cell \"" + cell.name() + "\"\n");
            CellStatus created = cell.status();
            events.publish(CellEvent.Type.CREATED, cell.name(), id, (created.pid() == 0 ? ""
                    : "process " + created.pid() + ", ") + (System.nanoTime() - t0) / 1_000_000 + " ms");
            updatePoolFigures("after cell creation");
            notifyReconfiguration();
            return cell.status();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Joins the cell's ivshmem links, sets up its pages, starts its process
     * and has it build the cell, then isolates its CPUs. On failure
     * everything is undone and the process ends.
     */
    private Cell build(int id, CellConfig cellConfig) throws HypervisorException {
        int[] cpus = cellConfig.cpus().bits().toArray();
        int[] hostCpuOf = new int[cpus.length];
        for (int i = 0; i < cpus.length; i++) {
            hostCpuOf[i] = settings.partitioning() == Partitioning.STRICT ? cpus[i] : cpus[i] % hostCpus;
        }
        List<Integer> joined = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        CellPages.Created pages = null;
        try {
            List<CellRequest.IvshmemPlan> plans = new ArrayList<>();
            List<PciDevice> devices = cellConfig.pciDevices();
            for (int i = 0; i < devices.size(); i++) {
                PciDevice d = devices.get(i);
                if (d.isIvshmem()) {
                    lines.addAll(links.join(cellConfig, i));
                    joined.add(i);
                    plans.add(new CellRequest.IvshmemPlan(i, links.link(d.bdf()).allSlots().length));
                }
            }
            try {
                pages = CellPages.create(cellConfig.name(), cpus);
            } catch (NativeException e) {
                throw new HypervisorException(Errno.ENOMEM, "cell \"" + cellConfig.name() + "\": " + e.getMessage(), e);
            }
            CellRequest.Create plan = new CellRequest.Create(id, systemConfigBytes, BinaryConfigCodec.encode(cellConfig),
                    hostCpuOf, settings.emulations().choices(), plans, Libc.geteuid() == 0 ? CellProcess.uidOf(id) : -1);
            Cell cell = new Cell(this, id, cellConfig, pages.pages(), pages.fd(), plan);
            writeInfo(cell);
            startProcess(cell);
            SupervisorState.writePlan(settings.stateDirectory(), plan);
            for (String line : lines) {
                print(line + "\n");
            }
            return cell;
        } catch (HypervisorException | RuntimeException e) {
            for (int i : joined) {
                PciDevice d = cellConfig.pciDevices().get(i);
                links.leave(d.bdf(), d.shmemDevId(), cellConfig.name());
            }
            if (pages != null) {
                pages.pages().close();
                try {
                    Libc.close(pages.fd());
                } catch (NativeException ignored) {
                    // failing already
                }
            }
            throw e;
        }
    }

    /**
     * Starts a process for {@code cell} (at create, or to bring a failed
     * cell back) and has it build the cell; isolates its CPUs.
     */
    private void startProcess(Cell cell) throws HypervisorException {
        CellProcess p = spare.take(cell.id());
        if (p == null) {
            Path dir = settings.stateDirectory();
            p = CellProcess.spawn(settings.launch(), CellProcess.socketOf(dir, cell.id()),
                    CellProcess.logOf(dir, cell.id()), "cell \"" + cell.name() + "\"");
        }
        int[] fds = createFds(cell);
        int[] tids;
        try {
            CellChannel.Received<CellReply> r = p.call(cell.name(), cell.plan(), fds, CellProcess.CALL_MILLIS);
            r.closeFds();
            tids = ((CellReply.Created) r.message()).threadIds();
        } catch (HypervisorException | RuntimeException e) {
            endProcess(p);
            spare.replenish(); // the next create finds one ready, failed or not
            throw e;
        }
        if (cpusets != null) {
            Map<Integer, Integer> threadOfCpu = new TreeMap<>();
            for (int i = 0; i < tids.length; i++) {
                threadOfCpu.put(cell.plan().hostCpus()[i], tids[i]);
            }
            try {
                cpusets.release(cell.name()); // a process before this one
                CpusetIsolation.Isolation done = cpusets.isolate(cell.name(), threadOfCpu);
                print(done.summary() + "\n");
            } catch (HypervisorException e) {
                // upstream fails the create when it cannot take the CPUs from Linux
                destroyProcess(cell.name(), p);
                spare.replenish();
                throw e;
            }
        }
        cell.attach(p, tids);
        watch.add(cell, p);
        spare.replenish();
    }

    /** The descriptors a cell's process gets: pages, reserved memory, each ivshmem device's slots. */
    private int[] createFds(Cell cell) {
        List<Integer> fds = new ArrayList<>(List.of(cell.pagesFd(), memory.fd()));
        for (CellRequest.IvshmemPlan plan : cell.plan().ivshmem()) {
            PciDevice d = cell.config().pciDevices().get(plan.deviceIndex());
            for (int fd : links.link(d.bdf()).allSlots()) {
                fds.add(fd);
            }
        }
        return fds.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A process that could not build its cell ends by itself; this waits for it and lets it go. */
    private static void endProcess(CellProcess p) {
        if (!p.awaitEnd()) {
            try {
                Libc.kill(p.pid(), 9); // it neither built the cell nor ended: nothing of a cell runs there
            } catch (NativeException ignored) {
                // gone meanwhile
            }
        }
        p.close();
    }

    /** Has a process destroy its cell and waits for it to end. */
    private void destroyProcess(String name, CellProcess p) {
        try {
            p.call(name, new CellRequest.Destroy());
        } catch (HypervisorException e) {
            print("Destroying cell \"" + name + "\" in its process " + p.pid() + " failed: " + e.getMessage()
                    + "\n");
        }
        if (!p.awaitEnd()) {
            print("The process " + p.pid() + " of cell \"" + name + "\" did not end; it is killed\n");
            try {
                Libc.kill(p.pid(), 9);
            } catch (NativeException ignored) {
                // gone meanwhile
            }
        }
        p.close();
    }

    /** The CPU rule (CpuAssignment, the one config check uses) in upstream's words, then the host's own. */
    private void checkCpus(CellConfig cellConfig) throws HypervisorException {
        List<Cell> existing = List.copyOf(cells.values());
        List<CellConfig> others = existing.stream().map(Cell::config).toList();
        String cell = "cell \"" + cellConfig.name() + "\"";
        for (CpuAssignment.Conflict k : CpuAssignment.conflicts(config, cellConfig, others)) {
            String cpu = "CPU " + k.cpu() + " of " + cell;
            throw switch (k.kind()) {
                case NO_CPU -> new HypervisorException(Errno.EINVAL, cell + " has no CPU");
                case CPU_0 -> new HypervisorException(Errno.EINVAL, "Cannot assign CPU 0 to other cells (" + cell + ")");
                case NOT_ROOTS -> new HypervisorException(Errno.EBUSY, cpu + " is not a CPU of the root cell \""
                        + config.rootCell().name() + "\"");
                case TAKEN -> new HypervisorException(Errno.EBUSY, cpu + " is held by cell \""
                        + existing.get(k.otherIndex()).name() + "\" (id " + existing.get(k.otherIndex()).id() + ")");
            };
        }
        int count = cellConfig.cpus().bits().toArray().length;
        if (count > CellPages.MAX_CPUS) {
            throw new HypervisorException(Errno.EINVAL, cell + " has " + count + " CPUs; at most "
                    + CellPages.MAX_CPUS);
        }
        for (int c : cellConfig.cpus().bits().toArray()) {
            if (settings.partitioning() == Partitioning.STRICT && c >= hostCpus) {
                throw new HypervisorException(Errno.EBUSY, "CPU " + c + " of " + cell
                        + " does not exist on this host (CPUs 0-" + (hostCpus - 1) + "); strict partitioning"
                        + " gives each cell CPU its own host CPU (enable with --partitioning relaxed to share them)");
            }
        }
    }

    /** Runs the config checks on the cells that exist plus the new one; what is new is refused. */
    private void checkAgainstOthers(CellConfig cellConfig) throws HypervisorException {
        ConfigCheck.Source<SystemConfig> sys = new ConfigCheck.Source<>("system config", config);
        List<ConfigCheck.Source<CellConfig>> existing = new ArrayList<>();
        for (Cell c : cells.values()) {
            existing.add(new ConfigCheck.Source<>("cell " + c.id(), c.config()));
        }
        Set<String> before = new HashSet<>();
        for (List<ConfigCheck.Finding> fs : ConfigCheck.run(sys, existing).byCheck().values()) {
            for (ConfigCheck.Finding f : fs) {
                before.add(f.render());
            }
        }
        List<ConfigCheck.Source<CellConfig>> with = new ArrayList<>(existing);
        with.add(new ConfigCheck.Source<>("new cell", cellConfig));
        for (Map.Entry<String, List<ConfigCheck.Finding>> e : ConfigCheck.run(sys, with).byCheck().entrySet()) {
            for (ConfigCheck.Finding f : e.getValue()) {
                if (!before.contains(f.render())) {
                    throw new HypervisorException(errnoOf(e.getKey()), e.getKey() + ": " + f.render());
                }
            }
        }
    }

    /** Upstream's errno for a refusal of each check: taken resources are busy, an oversized config too big. */
    private static Errno errnoOf(String check) {
        return switch (check) {
            case ConfigCheck.BETWEEN_CELLS, ConfigCheck.CPUS -> Errno.EBUSY;
            case ConfigCheck.SIZE -> Errno.E2BIG;
            default -> Errno.EINVAL;
        };
    }

    /** PCI checks of a new cell: devices it may have, and each ivshmem link with its peers. */
    private void checkPci(CellConfig cellConfig) throws HypervisorException {
        try {
            PciAdmission.checkCell(cellConfig, settings.emulations());
            List<CellConfig> all = new ArrayList<>();
            all.add(config.rootCell());
            for (Cell c : cells.values()) {
                all.add(c.config());
            }
            all.add(cellConfig);
            for (PciDevice d : cellConfig.pciDevices()) {
                if (d.isIvshmem()) {
                    PciAdmission.validateLink(PciAdmission.members(d.bdf(), all));
                }
            }
        } catch (PciConfigException e) {
            throw new HypervisorException(e.busy() ? Errno.EBUSY : Errno.EINVAL, e.getMessage());
        }
    }

    /**
     * What the cell's process maps of the reserved memory: every RAM region
     * (and every region of the root's RAM) must lie in it, page aligned.
     */
    private void checkMemory(CellConfig cellConfig) throws HypervisorException {
        List<MemoryRegion> regions = cellConfig.memoryRegions();
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            if (r.size() == 0 || r.has(MemoryRegion.COMM_REGION) || r.has(MemoryRegion.IO)) {
                continue;
            }
            boolean aligned = ((r.physStart() | r.virtStart() | r.size()) & (MemoryRegion.PAGE_SIZE - 1)) == 0;
            boolean inMemory = memory.contains(r.physStart(), r.size());
            if ((!inMemory || !aligned) && (r.isRam() || isRootRam(r.physStart(), r.size()))) {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + cellConfig.name() + "\", memory region " + i
                        + " (phys 0x" + Long.toHexString(r.physStart()) + ", virt 0x" + Long.toHexString(r.virtStart())
                        + ", size 0x" + Long.toHexString(r.size()) + ")" + (!inMemory
                                ? ": lies outside the reserved memory (0x0-0x" + Long.toHexString(memory.size() - 1)
                                        + ") of the system config's root cell"
                                : ": RAM regions must be page aligned"));
            }
            String pages = mapped(r) ? memory.pageProblem(r.physStart(), r.size()) : null;
            if (pages != null) {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + cellConfig.name() + "\", memory region " + i
                        + " (phys 0x" + Long.toHexString(r.physStart()) + ", size 0x" + Long.toHexString(r.size())
                        + "): " + pages);
            }
        }
    }

    /** Whether a physical range overlaps the root cell's RAM (not device memory). */
    private boolean isRootRam(long phys, long size) {
        for (MemoryRegion r : config.rootCell().memoryRegions()) {
            if (r.isRam() && MemoryRegion.overlaps(r.physStart(), r.size(), phys, size)) {
                return true;
            }
        }
        return false;
    }

    /** Regions a cell's process maps as memory slots: the comm page and what lies in the reserved memory. */
    private int memorySlotsOf(CellConfig c) {
        int n = 0;
        for (MemoryRegion r : c.memoryRegions()) {
            n += r.size() != 0 && (r.has(MemoryRegion.COMM_REGION) || mapped(r)) ? 1 : 0;
        }
        return n;
    }

    /** The pid of the spare cell process that is ready, or -1 (tests). */
    long sparePid() {
        return spare.readyPid();
    }

    /** The reserved-memory file (tests read what a destroyed cell left there). */
    Path memoryFile() {
        return memory.file();
    }

    private boolean mapped(MemoryRegion r) {
        return !r.has(MemoryRegion.IO) && !r.has(MemoryRegion.COMM_REGION)
                && ((r.physStart() | r.virtStart() | r.size()) & (MemoryRegion.PAGE_SIZE - 1)) == 0
                && memory.contains(r.physStart(), r.size());
    }

    /** Pages of reserved memory a cell holds. */
    private long ramPagesOf(CellConfig c) {
        long pages = 0;
        for (MemoryRegion r : c.memoryRegions()) {
            if (r.size() != 0 && mapped(r)) {
                pages += r.size() / MemoryRegion.PAGE_SIZE;
            }
        }
        return pages;
    }

    private long[] poolFigures() {
        long pages = 0;
        long slots = 0;
        for (Cell c : cells.values()) {
            pages += ramPagesOf(c.config());
            slots += memorySlotsOf(c.config());
        }
        return new long[] {memory.size() / MemoryRegion.PAGE_SIZE, pages, memorySlots, slots, cells.size() + 1};
    }

    /** Keeps the HYPERVISOR_GET_INFO figures current in every cell's pages (create and destroy). */
    private void updatePoolFigures(String when) {
        long[] f = poolFigures();
        for (Cell c : cells.values()) {
            writeInfo(c, f);
        }
        print("Page pool usage " + when + ": mem " + f[INFO_MEM_POOL_USED] + "/" + f[INFO_MEM_POOL_SIZE]
                + ", remap " + f[INFO_REMAP_POOL_USED] + "/" + f[INFO_REMAP_POOL_SIZE] + "\n");
    }

    private void writeInfo(Cell cell) {
        long[] f = poolFigures();
        if (!cells.containsKey(cell.id())) { // a cell being created counts already
            f[INFO_MEM_POOL_USED] += ramPagesOf(cell.config());
            f[INFO_REMAP_POOL_USED] += memorySlotsOf(cell.config());
            f[INFO_NUM_CELLS]++;
        }
        writeInfo(cell, f);
    }

    private static void writeInfo(Cell cell, long[] f) {
        for (int i = 0; i < f.length; i++) {
            cell.pages().setInfo(i, f[i]);
        }
    }

    /**
     * RECONFIG_COMPLETED to every non-root cell; their answers do not matter
     * (spec 2), so each cell gets it on a thread of its own: a cell that takes
     * its time holds up only operations on itself.
     */
    private void notifyReconfiguration() {
        for (Cell c : cells.values()) {
            c.announceReconfiguration();
        }
    }

    /** The cell's approval of a shutdown, unless the caller forces. */
    private static void requireApproval(Cell cell, Caller caller) throws HypervisorException {
        if (!caller.force() && !cell.approvesShutdown(caller)) {
            throw new HypervisorException(Errno.EPERM, "cell \"" + cell.name() + "\" refused the shutdown request");
        }
    }

    /** A running/locked cell other than {@code except}, or null. */
    private Cell lockingCell(Cell except) {
        for (Cell c : cells.values()) {
            if (c != except && c.state() == CellState.RUNNING_LOCKED) {
                return c;
            }
        }
        return null;
    }

    /*
     * Lifecycle operations take the cell (Cell.acquire), not the hypervisor:
     * waiting for a cell's answer holds up operations on that cell only. The
     * admission lock is taken briefly, never while waiting, for what changes
     * the set of cells.
     */

    @Override
    public void loadImages(CellRef ref, List<ImageFile> images, Caller caller) throws HypervisorException {
        checkOpen();
        Cell cell = nonRoot(ref);
        for (ImageFile image : images) {
            String problem = image.problem(); // before anything changes
            if (problem != null) {
                throw new HypervisorException(Errno.EINVAL, problem);
            }
        }
        cell.acquire(caller);
        try {
            requireApproval(cell, caller);
            cell.forgetReconfigurations(); // its inmate starts over with the configuration as it is
            if (cell.process() == null) {
                print("Cell \"" + cell.name() + "\" gets a new process\n");
                startProcess(cell);
            }
            List<CellRequest.Image> refs = new ArrayList<>();
            int[] fds = new int[images.size()];
            for (int i = 0; i < images.size(); i++) {
                ImageFile image = images.get(i);
                refs.add(new CellRequest.Image(image.address(), image.length(), image.source()));
                fds[i] = image.fd();
            }
            CellChannel.Received<CellReply> r = cell.requireProcess().call(cell.name(), new CellRequest.Load(refs),
                    fds, CellProcess.CALL_MILLIS);
            r.closeFds();
            if (((CellReply.Loaded) r.message()).becameLoadable()) {
                print("Cell \"" + cell.name() + "\" can be loaded\n");
            }
            if (images.isEmpty()) {
                events.publish(CellEvent.Type.SHUT_DOWN, cell.name(), cell.id(), "");
            } else {
                events.publish(CellEvent.Type.LOADED, cell.name(), cell.id(), describe(images));
            }
        } finally {
            cell.release();
        }
    }

    /** "N image(s): SOURCE at 0xADDRESS (LENGTH bytes), ..." for a load event. */
    private static String describe(List<ImageFile> images) {
        StringBuilder b = new StringBuilder(images.size() + (images.size() == 1 ? " image: " : " images: "));
        for (int i = 0; i < images.size(); i++) {
            ImageFile image = images.get(i);
            b.append(i == 0 ? "" : ", ").append(image.source()).append(" at 0x")
                    .append(Long.toHexString(image.address())).append(" (").append(image.length()).append(" bytes)");
        }
        return b.toString();
    }

    private static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (NativeException ignored) {
            // a descriptor of ours
        }
    }

    @Override
    public List<String> startCell(CellRef ref, Caller caller) throws HypervisorException {
        checkOpen();
        Cell cell = nonRoot(ref);
        cell.acquire(caller);
        try {
            requireApproval(cell, caller);
            cell.forgetReconfigurations();
            if (cell.process() == null) {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + cell.name() + "\" failed when its process"
                        + " ended: load it first (cell load), which gives it a new process");
            }
            print("Started cell \"" + cell.name() + "\"\n");
            List<String> warnings = ((CellReply.Started) cell.call(new CellRequest.Start())).warnings();
            events.publish(CellEvent.Type.STARTED, cell.name(), cell.id(), String.join("; ", warnings));
            return warnings;
        } finally {
            cell.release();
        }
    }

    @Override
    public void destroyCell(CellRef ref, Caller caller) throws HypervisorException {
        checkOpen();
        Cell cell = nonRoot(ref);
        cell.acquire(caller);
        try {
            Cell locker = lockingCell(cell);
            if (locker != null && !caller.force()) { // forcing overrides another cell's lock as its own approval
                throw new HypervisorException(Errno.EPERM, "cell \"" + locker.name()
                        + "\" is running/locked: no cell can be destroyed until it is shut down");
            }
            requireApproval(cell, caller);
            lock.lock();
            try {
                checkOpen();
                destroy(cell);
                updatePoolFigures("after cell destruction");
            } finally {
                lock.unlock();
            }
        } finally {
            cell.release();
        }
        notifyReconfiguration();
    }

    private void destroy(Cell cell) {
        print("Closing cell \"" + cell.name() + "\"\n");
        cells.remove(cell.id()); // first: readers that list cells no longer find it
        cell.markDestroyed();
        CellProcess p = cell.detachProcess();
        if (p != null) {
            watch.remove(p);
            destroyProcess(cell.name(), p);
        }
        consolePump.drain(cell); // its last reports
        consolePump.forget(cell);
        for (PciDevice d : cell.config().pciDevices()) {
            if (d.isIvshmem()) {
                links.leave(d.bdf(), d.shmemDevId(), cell.name());
            }
        }
        try {
            for (long[] range : unheldRanges(cell)) {
                memory.clear(range[0], range[1] - range[0]);
            }
        } catch (NativeException e) {
            print("Clearing memory of cell \"" + cell.name() + "\" failed: " + e.getMessage() + "\n");
        }
        if (cpusets != null) {
            try {
                cpusets.release(cell.name()); // its threads are gone: the CPUs go back to the host
            } catch (HypervisorException e) {
                print("Returning the CPUs of cell \"" + cell.name() + "\" to the host failed: " + e.getMessage() + "\n");
            }
        }
        cell.releasePages();
        events.publish(CellEvent.Type.DESTROYED, cell.name(), cell.id(), "");
        try {
            Files.deleteIfExists(CellProcess.socketOf(settings.stateDirectory(), cell.id()));
            Files.deleteIfExists(settings.stateDirectory().resolve(cell.id() + ".log"));
            SupervisorState.removePlan(settings.stateDirectory(), cell.id());
        } catch (IOException e) {
            // a stale file is replaced by the next cell with this id
        }
    }

    /**
     * What of a destroyed cell's reserved memory nobody else holds, as
     * [start, end) physical ranges: its regions (ROOTSHARED ones too: the
     * root here is the host, which maps reserved memory only through its
     * ivshmem peers), less what any remaining cell maps and the root's
     * ivshmem sections. That is cleared; a region another cell maps in part
     * is cleared everywhere else.
     */
    private List<long[]> unheldRanges(Cell cell) {
        List<long[]> held = new ArrayList<>();
        for (Cell c : cells.values()) {
            if (c != cell) {
                for (MemoryRegion o : c.config().memoryRegions()) {
                    if (o.size() != 0 && mapped(o)) {
                        held.add(new long[] {o.physStart(), o.physStart() + o.size()});
                    }
                }
            }
        }
        for (MemoryRegion s : rootIvshmem.sections()) {
            if (s.size() != 0) {
                held.add(new long[] {s.physStart(), s.physStart() + s.size()});
            }
        }
        held.sort(java.util.Comparator.comparingLong(h -> h[0]));
        List<long[]> out = new ArrayList<>();
        for (MemoryRegion r : cell.config().memoryRegions()) {
            if (r.size() == 0 || !mapped(r)) {
                continue;
            }
            long from = r.physStart();
            long end = r.physStart() + r.size();
            for (long[] h : held) { // sorted by start: walk the region's gaps between held ranges
                if (h[1] <= from || h[0] >= end) {
                    continue;
                }
                if (h[0] > from) {
                    out.add(new long[] {from, h[0]});
                }
                from = Math.max(from, h[1]);
            }
            if (from < end) {
                out.add(new long[] {from, end});
            }
        }
        return out;
    }

    /** The watch saw a cell's process end while nobody was destroying the cell: that cell has failed. */
    private void processEnded(Cell cell, CellProcess p) {
        if (cell.process() != p) {
            return; // destroyed, or a newer process
        }
        consolePump.drain(cell);
        // the reason is on the console before anyone sees the cell failed
        String fatal = "FATAL: the process " + p.pid() + " of cell \"" + cell.name() + "\" ended ("
                + p.exitDescription() + "); the cell has failed and keeps its resources until it is destroyed or"
                + " loaded again";
        print(fatal + "\n");
        events.publish(CellEvent.Type.FAILED, cell.name(), cell.id(), fatal);
        cell.processEnded();
        p.close();
    }

    // ---- adoption: cells an earlier supervisor left running

    /**
     * Takes over the cells an earlier supervisor of this run directory left
     * (it died, or its service manager restarts it): each running cell
     * process is asked who it is and answers with its pages and doorbell
     * slots; a cell whose process is gone comes back FAILED, holding its
     * resources until it is destroyed or loaded again. A process that does
     * not answer stops the adoption; no cell is stopped on the way.
     */
    private void adopt(List<Integer> ids) throws HypervisorException {
        List<Cell> gone = new ArrayList<>();
        try {
            for (int id : ids) {
                CellRequest.Create plan = SupervisorState.readPlan(settings.stateDirectory(), id);
                CellConfig cellConfig = decodeCell(plan);
                if (!java.util.Arrays.equals(plan.systemConfig(), systemConfigBytes)) {
                    throw new HypervisorException(Errno.EBUSY, "cell \"" + cellConfig.name() + "\" (id " + id
                            + ") was created under another system config");
                }
                Path socket = CellProcess.socketOf(settings.stateDirectory(), id);
                CellProcess p;
                try {
                    p = CellProcess.adopt(socket, id);
                } catch (HypervisorException e) {
                    gone.add(failedCell(id, cellConfig, plan)); // nobody listens: its process is gone
                    continue;
                }
                adoptProcess(id, cellConfig, plan, p);
            }
        } catch (HypervisorException | RuntimeException e) {
            for (Cell c : cells.values()) { // let go of what was adopted; it runs on
                CellProcess p = c.detachProcess();
                if (p != null) {
                    watch.remove(p);
                    p.close();
                }
            }
            throw new HypervisorException(e instanceof HypervisorException h ? h.errno() : Errno.EIO,
                    "cannot adopt the cells an earlier supervisor left running (they keep running): "
                            + e.getMessage(), e);
        }
        for (Cell c : gone) {
            for (PciDevice d : c.config().pciDevices()) {
                if (d.isIvshmem()) {
                    links.join(c.config(), c.config().pciDevices().indexOf(d));
                }
            }
            cells.put(c.id(), c);
            String lost = "Cell \"" + c.name() + "\" (id " + c.id() + ") lost its process while no supervisor ran: it"
                    + " has failed and keeps its resources until it is destroyed or loaded again";
            print(lost + "\n");
            events.publish(CellEvent.Type.ADOPTED, c.name(), c.id(), "failed: " + lost);
        }
        updatePoolFigures("after adoption");
    }

    private void adoptProcess(int id, CellConfig cellConfig, CellRequest.Create plan, CellProcess p)
            throws HypervisorException {
        CellChannel.Received<CellReply> r;
        try {
            r = p.call(cellConfig.name(), new CellRequest.Hello(), new int[0], 5_000);
        } catch (HypervisorException e) {
            p.close();
            throw new HypervisorException(Errno.EBUSY, "cell \"" + cellConfig.name() + "\" (process " + p.pid()
                    + ") does not answer: " + e.getMessage());
        }
        int[] fds = r.fds();
        if (!(r.message() instanceof CellReply.Identity who) || who.create().cellId() != id
                || !java.util.Arrays.equals(who.create().cellConfig(), plan.cellConfig()) || fds.length < 1) {
            r.closeFds();
            p.close();
            throw new HypervisorException(Errno.EBUSY, "the process " + p.pid() + " at cell " + id
                    + "'s socket is not that cell");
        }
        CellPages pages;
        try {
            pages = CellPages.open(fds[0]);
        } catch (NativeException | IllegalArgumentException e) {
            r.closeFds();
            p.close();
            throw new HypervisorException(Errno.EBUSY, "cell \"" + cellConfig.name() + "\": its pages: "
                    + e.getMessage());
        }
        int at = 1;
        for (CellRequest.IvshmemPlan plan0 : plan.ivshmem()) {
            links.adopt(cellConfig, plan0.deviceIndex(), java.util.Arrays.copyOfRange(fds, at, at + plan0.slots()));
            at += plan0.slots();
        }
        Cell cell = new Cell(this, id, cellConfig, pages, fds[0], plan);
        cell.attach(p, who.threadIds());
        cells.put(id, cell);
        watch.add(cell, p);
        if (cpusets != null) {
            Map<Integer, Integer> threadOfCpu = new TreeMap<>();
            for (int i = 0; i < who.threadIds().length; i++) {
                threadOfCpu.put(plan.hostCpus()[i], who.threadIds()[i]);
            }
            try {
                print(cpusets.isolate(cellConfig.name(), threadOfCpu).summary() + "\n");
            } catch (HypervisorException e) {
                print("Cell \"" + cellConfig.name() + "\" runs without CPU isolation: " + e.getMessage() + "\n");
            }
        }
        print("Adopted cell \"" + cellConfig.name() + "\" (id " + id + ", process " + p.pid() + ")\n");
        events.publish(CellEvent.Type.ADOPTED, cellConfig.name(), id, "process " + p.pid());
    }

    /** A cell whose process went while no supervisor ran: new pages, FAILED, no process. */
    private Cell failedCell(int id, CellConfig cellConfig, CellRequest.Create plan) throws HypervisorException {
        try {
            CellPages.Created pages = CellPages.create(cellConfig.name(), cellConfig.cpus().bits().toArray());
            Cell cell = new Cell(this, id, cellConfig, pages.pages(), pages.fd(), plan);
            cell.processEnded();
            new io.jailhouse.boundary.CommRegion(pages.pages().commPage()).setState(
                    io.jailhouse.boundary.CommRegion.STATE_FAILED);
            for (int i = 0; i < pages.pages().cpuCount(); i++) {
                pages.pages().setCpuStatus(i, CellPages.CPU_FAILED);
            }
            return cell;
        } catch (NativeException e) {
            throw new HypervisorException(Errno.ENOMEM, "cell \"" + cellConfig.name() + "\": " + e.getMessage(), e);
        }
    }

    private static CellConfig decodeCell(CellRequest.Create plan) throws HypervisorException {
        try {
            return (CellConfig) BinaryConfigCodec.decode(plan.cellConfig(), "cell " + plan.cellId());
        } catch (io.jailhouse.config.ConfigFormatException | ClassCastException e) {
            throw new HypervisorException(Errno.EINVAL, "cell " + plan.cellId() + "'s kept config: " + e.getMessage());
        }
    }

    // ---- reading: no lock, no round trip

    @Override
    public List<CellStatus> cells() {
        List<CellStatus> out = new ArrayList<>();
        out.add(rootStatus());
        for (Cell c : cells.values()) {
            CellStatus s = statusOrGone(c);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * A cell's status, or null when the cell was destroyed while it was being
     * read (listing does not wait for management): its pages are unmapped,
     * which the read meets as an exception, never as a crash.
     */
    private static CellStatus statusOrGone(Cell c) {
        try {
            return c.status();
        } catch (IllegalStateException e) {
            if (!c.destroyed()) {
                throw e;
            }
            return null;
        }
    }

    private CellStatus rootStatus() {
        List<Integer> cpus = new ArrayList<>();
        for (int c : config.rootCell().cpus().bits().toArray()) {
            boolean taken = false;
            for (Cell cell : cells.values()) {
                taken |= cell.config().cpus().isSet(c);
            }
            if (!taken) {
                cpus.add(c);
            }
        }
        return new CellStatus(0, config.rootCell().name(), CellState.RUNNING, cpus, List.of());
    }

    @Override
    public CellStatus cell(CellRef ref) throws HypervisorException {
        if (isRoot(ref)) {
            return rootStatus();
        }
        CellStatus s = statusOrGone(find(ref));
        if (s == null) {
            throw new HypervisorException(Errno.ENOENT, "cell " + ref + " was destroyed");
        }
        return s;
    }

    @Override
    public CellStatistics statistics(CellRef ref) throws HypervisorException {
        if (isRoot(ref)) {
            return CellStatistics.ofRoot(config.rootCell().name());
        }
        Cell cell = find(ref);
        try {
            return cell.statistics();
        } catch (IllegalStateException e) {
            throw new HypervisorException(Errno.ENOENT, "cell " + ref + " was destroyed");
        }
    }

    @Override
    public long consoleBytesDropped(CellRef ref) throws HypervisorException {
        if (isRoot(ref)) {
            return 0;
        }
        try {
            return find(ref).pages().consoleBytesDropped();
        } catch (IllegalStateException e) {
            throw new HypervisorException(Errno.ENOENT, "cell " + ref + " was destroyed");
        }
    }

    /**
     * The hypervisor console. Reading it first moves what cells reported so
     * far, so a reader that saw a cell fail also sees why.
     */
    @Override
    public ConsoleLog console() {
        return new ConsoleLog() {
            @Override
            public long tail() {
                consolePump.drainAll();
                return console.tail();
            }

            @Override
            public long head() {
                return console.head();
            }

            @Override
            public io.jailhouse.protocol.ConsoleChunk read(long position, int max) {
                consolePump.drainAll();
                return console.read(position, max);
            }

            @Override
            public io.jailhouse.protocol.ConsoleChunk readHeld(int max) {
                consolePump.drainAll();
                return console.readHeld(max);
            }

            @Override
            public io.jailhouse.protocol.ConsoleChunk await(long position, int max, long timeoutMillis)
                    throws InterruptedException {
                consolePump.drainAll();
                return console.await(position, max, timeoutMillis);
            }
        };
    }

    @Override
    public ConsoleLog cellConsole(CellRef ref) throws HypervisorException {
        return new SharedConsoleLog(find(ref).pages().console());
    }

    // ---- the root cell's ivshmem peers (RootIvshmem), under the admission lock

    @Override
    public List<IvshmemLinkStatus> ivshmemLinks() {
        lock.lock();
        try {
            return closed ? List.of() : rootIvshmem.status();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public IvshmemAttachment attachIvshmem(int bdf) throws HypervisorException {
        lock.lock();
        try {
            checkOpen();
            return rootIvshmem.attach(bdf, this::print);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void detachIvshmem(int bdf) throws HypervisorException {
        lock.lock();
        try {
            checkOpen();
            rootIvshmem.detach(bdf, this::print);
        } finally {
            lock.unlock();
        }
    }

    // ---- the end

    @Override
    public void disable(Caller caller) throws HypervisorException {
        checkOpen();
        // In id order, stopping at the first refusal (upstream); each waits for its cell only.
        for (Cell cell : List.copyOf(cells.values())) {
            destroyCell(CellRef.ofId(cell.id()), caller);
        }
        print("Shutting down hypervisor\n");
        close();
    }

    /**
     * The supervisor goes away: its own resources are released; cells that
     * still exist keep running in their processes, with their memory,
     * consoles and CPUs, until a supervisor adopts them.
     */
    @Override
    public void close() {
        closing = true;
        int running;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            rootIvshmem.close();
            running = cells.size();
            for (Cell cell : cells.values()) {
                CellProcess p = cell.detachProcess();
                if (p != null) {
                    watch.remove(p);
                    p.close();
                }
                cell.pages().close();
                closeQuietly(cell.pagesFd());
            }
            cells.clear();
        } finally {
            lock.unlock();
        }
        spare.close();
        watch.close();
        consolePump.stop();
        if (running == 0) {
            if (cpusets != null) {
                try {
                    cpusets.close();
                } catch (HypervisorException e) {
                    print("Restoring the host's cpusets failed: " + e.getMessage() + "\n");
                }
            }
            links.close();
            memory.close();
            SupervisorState.remove(settings.stateDirectory());
            try {
                Files.deleteIfExists(settings.stateDirectory().resolve("console"));
            } catch (IOException e) {
                // the next enable starts it afresh anyway
            }
        } else {
            print(running + " cell" + (running == 1 ? " keeps" : "s keep") + " running without a supervisor\n");
            links.close();
            memory.release(); // their memory stays: they map it
        }
        consoleMapping.close();
    }

    private void checkOpen() throws HypervisorException {
        if (closed) {
            throw new HypervisorException(Errno.EINVAL, "the hypervisor is disabled");
        }
    }

    private boolean isRoot(CellRef ref) {
        return ref.byId() ? ref.id() == 0 : ref.name().equals(config.rootCell().name());
    }

    private Cell nonRoot(CellRef ref) throws HypervisorException {
        if (isRoot(ref)) {
            throw new HypervisorException(Errno.EINVAL, "cell " + ref + " is the root cell");
        }
        return find(ref);
    }

    private Cell find(CellRef ref) throws HypervisorException {
        if (ref.byId()) {
            Cell c = cells.get(ref.id());
            if (c == null) {
                throw new HypervisorException(Errno.ENOENT, "no cell with id " + ref.id());
            }
            return c;
        }
        for (Cell c : cells.values()) {
            if (c.name().equals(ref.name())) {
                return c;
            }
        }
        throw new HypervisorException(Errno.ENOENT, "no cell named \"" + ref.name() + "\"");
    }
}
