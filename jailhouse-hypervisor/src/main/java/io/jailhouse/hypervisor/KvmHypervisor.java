package io.jailhouse.hypervisor;

import io.jailhouse.config.Architecture;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigCheck;
import io.jailhouse.config.CpuAssignment;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.pci.DeviceEmulations;
import io.jailhouse.hypervisor.pci.EmulatedModel;
import io.jailhouse.hypervisor.pci.IvshmemLink;
import io.jailhouse.hypervisor.pci.PciConfigException;
import io.jailhouse.hypervisor.pci.PciConfigSpace;
import io.jailhouse.sys.CpuidEntry;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmCapability;
import io.jailhouse.sys.KvmDevice;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;

/**
 * The hypervisor on Linux KVM: the root cell is the host, every other cell a
 * KVM VM. It admits cells (the config-check rules, CpuAssignment, PCI and
 * ivshmem), holds the reserved memory and the cell table, and runs the
 * lifecycle; the root's ivshmem side is {@link RootIvshmem}, the console
 * thread {@link ConsolePump}. An operation waits for its cell only
 * ({@link Cell#acquire}); the admission lock guards the set of cells and is
 * never held while waiting. Listing and consoles take no lock.
 */
public final class KvmHypervisor implements Hypervisor {
    public static final String VERSION = "0.12";
    /** KVM features the hypervisor cannot do without. */
    static final List<KvmCapability> REQUIRED = List.of(KvmCapability.IRQCHIP, KvmCapability.USER_MEMORY,
            KvmCapability.SET_TSS_ADDR, KvmCapability.MP_STATE, KvmCapability.GET_TSC_KHZ,
            KvmCapability.READONLY_MEM, KvmCapability.IMMEDIATE_EXIT, KvmCapability.EXT_CPUID);

    private final SystemConfig config;
    private final Partitioning partitioning;
    private final DeviceEmulations emulations;
    private final KvmDevice kvm;
    private final List<CpuidEntry> supportedCpuid;
    private final ReservedMemory memory;
    private final int hostCpus;
    private final ConsoleRing console = new ConsoleRing(ConsoleRing.HYPERVISOR_CAPACITY);
    private final ConcurrentSkipListMap<Integer, Cell> cells = new ConcurrentSkipListMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final ConsolePump consolePump;
    /** Keeps host tasks off cell CPUs in strict mode; null in relaxed mode, where CPUs are shared anyway. */
    private final CpusetIsolation cpusets;
    private volatile boolean closed;
    /** Set first thing in close(), so a wait for a cell's reply gives up and releases the lock. */
    private volatile boolean closing;
    /** Figures for HYPERVISOR_GET_INFO, kept current by create and destroy (read by vCPU threads). */
    private volatile long cellPagesInUse;
    private volatile int slotsInUse;
    private final int memorySlots;
    /** ivshmem links by BDF, shared by the peers' devices. */
    private final Map<Integer, IvshmemLink> ivshmemLinks = new java.util.concurrent.ConcurrentHashMap<>();
    /** The root cell's peers on its ivshmem links, and the host programs attached to them; set at enable. */
    private RootIvshmem rootIvshmem;

    private KvmHypervisor(SystemConfig config, Partitioning partitioning, DeviceEmulations emulations, KvmDevice kvm,
            List<CpuidEntry> cpuid, ReservedMemory memory, int hostCpus, CpusetIsolation cpusets) {
        this.cpusets = cpusets;
        this.config = config;
        this.partitioning = partitioning;
        this.emulations = emulations;
        this.kvm = kvm;
        this.supportedCpuid = cpuid;
        this.memory = memory;
        this.hostCpus = hostCpus;
        this.consolePump = new ConsolePump(cells.values(), console);
        int slots;
        try {
            slots = kvm.checkExtension(KvmCapability.NR_MEMSLOTS);
        } catch (NativeException e) {
            slots = 0;
        }
        this.memorySlots = slots;
    }

    /** What config check says of the system config: told at enable, refused by nothing. */
    private final List<String> configNotes = new ArrayList<>();

    @Override
    public List<String> notices() {
        List<String> notices = new ArrayList<>(configNotes);
        notices.add("Cell memory: 0x" + Long.toHexString(memory.size()) + " bytes of reserved memory in "
                + memory.file() + (memory.file().startsWith("/dev/shm") ? " (no hugetlbfs with enough free pages)" : "")
                + ".");
        notices.add(cpusets == null ? "CPU isolation: none (relaxed partitioning shares host CPUs)."
                : "CPU isolation: " + cpusets.describe() + ".");
        if (!emulations.byBdf().isEmpty()) {
            notices.add("PCI devices emulated in every cell that lists them: " + emulations.describe() + ".");
        }
        return notices;
    }

    /** In-kernel doorbell wiring of all links. */
    private final KernelDoorbells doorbells = new KernelDoorbells();

    /** The link of the ivshmem devices with this BDF, created with the first peer. */
    IvshmemLink ivshmemLink(int bdf) {
        return ivshmemLinks.computeIfAbsent(bdf, b -> new IvshmemLink(b, doorbells));
    }

    KernelDoorbells doorbells() {
        return doorbells;
    }

    void dropIvshmemLinkIfUnused(IvshmemLink link) {
        if (link.peerCount() == 0) {
            ivshmemLinks.remove(link.bdf(), link);
        }
    }


    /**
     * The model that serves a physical device entry of a cell config, or
     * null: PCI devices of type DEVICE exist here only where a model serves
     * them, chosen at enable for their BDF or asked for by the config entry.
     */
    EmulatedModel emulatedModel(PciDevice device) {
        return emulations.modelFor(device);
    }

    /** Whether a physical range overlaps the root cell's RAM (not device memory). */
    boolean isRootRam(long phys, long size) {
        for (MemoryRegion r : config.rootCell().memoryRegions()) {
            if (r.isRam() && MemoryRegion.overlaps(r.physStart(), r.size(), phys, size)) {
                return true;
            }
        }
        return false;
    }

    /** PCI checks of a new cell: devices it may have, and each ivshmem link with its peers. */
    private void checkPci(CellConfig cellConfig) throws HypervisorException {
        try {
            PciConfigSpace.checkCell(cellConfig, emulations);
            List<CellConfig> all = new ArrayList<>();
            all.add(config.rootCell());
            for (Cell c : cells.values()) {
                all.add(c.config());
            }
            all.add(cellConfig);
            for (PciDevice d : cellConfig.pciDevices()) {
                if (d.isIvshmem()) {
                    IvshmemLink.validate(IvshmemLink.members(d.bdf(), all));
                }
            }
        } catch (PciConfigException e) {
            throw new HypervisorException(e.busy() ? Errno.EBUSY : Errno.EINVAL, e.getMessage());
        }
    }

    boolean closing() {
        return closing;
    }

    // ---- the root cell's ivshmem peers (RootIvshmem), under the admission lock

    @Override
    public List<IvshmemLinkStatus> ivshmemLinks() {
        // Under the lock: close() unmaps the state tables, which are read here.
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

    /**
     * HYPERVISOR_GET_INFO (spec 3): the memory pool is the reserved memory
     * (pages in all, pages held by cells); the remap pool is KVM's memory
     * slots (slots per VM, slots in use over all cells); then the number of
     * cells including the root. -1 for an unknown type.
     */
    long info(long type) {
        return switch ((int) Math.min(type, Integer.MAX_VALUE)) {
            case Hypercall.INFO_MEM_POOL_SIZE -> memory.size() / MemoryRegion.PAGE_SIZE;
            case Hypercall.INFO_MEM_POOL_USED -> cellPagesInUse;
            case Hypercall.INFO_REMAP_POOL_SIZE -> memorySlots;
            case Hypercall.INFO_REMAP_POOL_USED -> slotsInUse;
            case Hypercall.INFO_NUM_CELLS -> cells.size() + 1;
            default -> -1;
        };
    }

    /** Whether {@code cpu} is a CPU of the system config (a cell may ask only about its own). */
    boolean cpuExists(long cpu) {
        return cpu >= 0 && cpu < Integer.MAX_VALUE && config.rootCell().cpus().isSet((int) cpu);
    }

    private void updatePoolFigures(String when) {
        long pages = 0;
        int slots = 0;
        for (Cell c : cells.values()) {
            pages += c.ramPages();
            slots += c.memorySlots();
        }
        cellPagesInUse = pages;
        slotsInUse = slots;
        print("Page pool usage " + when + ": mem " + pages + "/" + memory.size() / MemoryRegion.PAGE_SIZE
                + ", remap " + slots + "/" + memorySlots + "\n");
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

    /**
     * Enables the hypervisor on a system config: checks the config and KVM,
     * sets up the reserved-memory backing and the console.
     */
    public static Hypervisor enable(SystemConfig config, Partitioning partitioning) throws HypervisorException {
        return enable(config, partitioning, DeviceEmulations.NONE, null);
    }

    /** As {@link #enable(SystemConfig, Partitioning)}, with device models standing in for PCI devices. */
    public static Hypervisor enable(SystemConfig config, Partitioning partitioning, DeviceEmulations emulations)
            throws HypervisorException {
        return enable(config, partitioning, emulations, null);
    }

    /** As {@link #enable(SystemConfig, Partitioning)}, with the reserved-memory file in {@code memoryDirectory}. */
    public static Hypervisor enable(SystemConfig config, Partitioning partitioning, Path memoryDirectory)
            throws HypervisorException {
        return enable(config, partitioning, DeviceEmulations.NONE, memoryDirectory);
    }

    private static Hypervisor enable(SystemConfig config, Partitioning partitioning, DeviceEmulations emulations,
            Path memoryDirectory) throws HypervisorException {
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
        KvmDevice kvm;
        try {
            kvm = KvmDevice.open();
        } catch (NativeException e) {
            throw new HypervisorException(Errno.ENODEV, "cannot open " + KvmDevice.DEFAULT_PATH + ": "
                    + e.getMessage() + " (KVM is needed to run cells)", e);
        }
        ReservedMemory memory = null;
        try {
            int api = kvm.apiVersion();
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
            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            Libc.installInterruptingSignal(Vcpu.KICK_SIGNAL);
            memory = ReservedMemory.create(ReservedMemory.extentOf(config), memoryDirectory,
                    ReservedMemory.FILE_PREFIX + Libc.getpid());
            int hostCpus = Runtime.getRuntime().availableProcessors();
            CpusetIsolation cpusets = partitioning == Partitioning.STRICT ? CpusetIsolation.detect() : null;
            KvmHypervisor hv = new KvmHypervisor(config, partitioning, emulations, kvm, cpuid, memory, hostCpus,
                    cpusets);
            hv.print("\nInitializing Jailhouse hypervisor " + VERSION + " on KVM (API " + api + ")\n");
            hv.print("Partitioning: " + (partitioning == Partitioning.STRICT ? "strict" : "relaxed")
                    + ", " + hostCpus + " host CPUs\n");
            hv.configNotes.addAll(findings);
            for (String notice : hv.notices()) {
                hv.print(notice + "\n");
            }
            // nothing runs yet: a refusal releases kvm and memory below
            hv.rootIvshmem = RootIvshmem.join(config.rootCell(), memory, hv::ivshmemLink, hv.doorbells, hv::print);
            hv.print("Activating hypervisor\n");
            hv.consolePump.start();
            return hv;
        } catch (NativeException e) {
            closeQuietly(kvm, memory);
            throw new HypervisorException(Errno.ENODEV, e.getMessage(), e);
        } catch (HypervisorException | RuntimeException e) {
            closeQuietly(kvm, memory);
            throw e;
        }
    }

    private static void closeQuietly(KvmDevice kvm, ReservedMemory memory) {
        if (memory != null) {
            memory.close();
        }
        try {
            kvm.close();
        } catch (NativeException ignored) {
            // The enable failure is what gets reported.
        }
    }

    @Override
    public SystemConfig systemConfig() {
        return config;
    }

    @Override
    public Partitioning partitioning() {
        return partitioning;
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
            int id = 1;
            while (cells.containsKey(id)) {
                id++;
            }
            int[] hostCpuOf = new int[cellConfig.cpus().highest() + 1];
            for (int c : cellConfig.cpus().bits().toArray()) {
                hostCpuOf[c] = partitioning == Partitioning.STRICT ? c : c % hostCpus;
            }
            Cell cell = Cell.create(this, kvm, supportedCpuid, id, cellConfig, hostCpuOf);
            if (cpusets != null) {
                Map<Integer, Integer> threadOfCpu = new java.util.TreeMap<>();
                for (Vcpu v : cell.vcpus()) {
                    threadOfCpu.put(v.hostCpu(), v.tid());
                }
                try {
                    CpusetIsolation.Isolation done = cpusets.isolate(cell.name(), threadOfCpu);
                    print(done.summary() + "\n");
                } catch (HypervisorException e) {
                    cell.destroy(); // upstream fails the create when it cannot take the CPUs from Linux
                    throw e;
                }
            }
            cells.put(id, cell);
            print("Created cell \"" + cell.name() + "\"\n");
            updatePoolFigures("after cell creation");
            notifyReconfiguration();
            return cell.status();
        } finally {
            lock.unlock();
        }
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
        for (int c : cellConfig.cpus().bits().toArray()) {
            if (partitioning == Partitioning.STRICT && c >= hostCpus) {
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
    public void loadCell(CellRef ref, List<LoadImage> images, Caller caller) throws HypervisorException {
        checkOpen();
        Cell cell = nonRoot(ref);
        cell.acquire(caller);
        try {
            requireApproval(cell, caller);
            if (cell.load(images)) {
                print("Cell \"" + cell.name() + "\" can be loaded\n");
            }
        } finally {
            cell.release();
        }
    }

    @Override
    public List<String> startCell(CellRef ref, Caller caller) throws HypervisorException {
        checkOpen();
        Cell cell = nonRoot(ref);
        cell.acquire(caller);
        try {
            requireApproval(cell, caller);
            return cell.start();
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
            if (locker != null) {
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
        cell.destroy();
        consolePump.drain(cell);
        if (cpusets != null) {
            try {
                cpusets.release(cell.name()); // its threads are gone: the CPUs go back to the host
            } catch (HypervisorException e) {
                print("Returning the CPUs of cell \"" + cell.name() + "\" to the host failed: " + e.getMessage() + "\n");
            }
        }
    }

    /**
     * Whether another cell maps pages of {@code r} too (shared memory), the
     * root cell's ivshmem sections included: those are not cleared.
     */
    boolean sharedWithOtherCell(Cell cell, MemoryRegion r) {
        if (rootIvshmem.shares(r)) {
            return true;
        }
        for (Cell c : cells.values()) {
            if (c != cell) {
                for (MemoryRegion o : c.ram()) {
                    if (o.overlapsPhys(r)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

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
     * read (listing does not wait for management): its comm page is unmapped,
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
        long[] sum = new long[CellStatistics.NAMES.size()];
        Map<Integer, Map<String, Long>> perCpu = new LinkedHashMap<>();
        for (Vcpu v : cell.vcpus()) {
            long[] c = v.counters();
            Map<String, Long> m = new LinkedHashMap<>();
            for (int i = 0; i < c.length; i++) {
                sum[i] += c[i];
                m.put(CellStatistics.NAMES.get(i), c[i]);
            }
            perCpu.put(v.cpu(), m);
        }
        Map<String, Long> total = new LinkedHashMap<>();
        for (int i = 0; i < sum.length; i++) {
            total.put(CellStatistics.NAMES.get(i), sum[i]);
        }
        return new CellStatistics(cell.id(), cell.name(), total, perCpu);
    }

    @Override
    public ConsoleRing console() {
        return console;
    }

    @Override
    public ConsoleRing cellConsole(CellRef ref) throws HypervisorException {
        return find(ref).console();
    }

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

    @Override
    public void close() {
        closing = true;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            rootIvshmem.close();
            for (Cell cell : List.copyOf(cells.values())) {
                destroy(cell);
            }
            closed = true;
        } finally {
            lock.unlock();
        }
        if (cpusets != null) {
            try {
                cpusets.close();
            } catch (HypervisorException e) {
                print("Restoring the host's cpusets failed: " + e.getMessage() + "\n");
            }
        }
        consolePump.stop();
        memory.close();
        try {
            kvm.close();
        } catch (NativeException ignored) {
            // Exiting anyway.
        }
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
