package io.jailhouse.hypervisor;

import io.jailhouse.boundary.CellPages;
import io.jailhouse.boundary.CellRequest;
import io.jailhouse.boundary.CommRegion;
import io.jailhouse.boundary.DeviceEmulations;
import io.jailhouse.boundary.EmulatedModel;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.Irqchip;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.PioRange;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.device.DiagnosticPort;
import io.jailhouse.hypervisor.device.IrqLine;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.MpscByteRing;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.Pm1EventBlock;
import io.jailhouse.hypervisor.device.PmTimer;
import io.jailhouse.hypervisor.device.TestDevice;
import io.jailhouse.hypervisor.device.Uart8250;
import io.jailhouse.hypervisor.pci.IntelHdaController;
import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.hypervisor.pci.IvshmemLink;
import io.jailhouse.hypervisor.pci.PciConfigPorts;
import io.jailhouse.hypervisor.pci.PciConfigSpace;
import io.jailhouse.hypervisor.pci.VirtualPciFunction;
import io.jailhouse.sys.CpuidEntry;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmDevice;
import io.jailhouse.sys.KvmVcpu;
import io.jailhouse.sys.KvmVm;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One non-root cell as its own process runs it: the KVM VM with a memory
 * slot per region, the comm page and counters in the pages it shares with
 * the supervisor, its device models and one {@link Vcpu} per CPU. It maps
 * exactly its own regions of the reserved memory (and the ivshmem sections
 * its links grant, which are among them) and nothing else of it.
 *
 * <p>Lifecycle calls come from the one channel thread; vCPU threads read
 * only what is fixed at creation.
 */
public final class CellMachine {
    /** Guest-physical pages KVM needs for real-mode support on Intel: out of every cell's way, below 4 GiB. */
    static final long TSS_ADDRESS = 0xfffbd000L;
    static final long IDENTITY_MAP_ADDRESS = 0xfffbc000L;
    /** KVM's emulated local APIC timer runs at 1 GHz before the divider. */
    static final long APIC_KHZ = 1_000_000;
    /** The standard PC serial ports: each one a cell's whitelist fully covers gets an emulated 16550. */
    static final int[] UART_PORTS = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
    static final int UART_PORT_COUNT = 8;
    static final int PM_TIMER_PORTS = 4;
    static final int DIAGNOSTIC_PORT = 0x80;
    /** Where x86 inmates find the IOAPIC (spec 5.4), and KVM's in-kernel one sits. */
    static final long IOAPIC_BASE = 0xfec00000L;
    static final int UART_RING_CAPACITY = 16 * 1024;

    /** One memory region of the cell mapped from the reserved memory. */
    private record Ram(MemoryRegion region, MemoryMapping mapping) {
    }

    private final int id;
    private final CellConfig config;
    private final SystemConfig system;
    private final KvmVm vm;
    private final CellPages pages;
    /** The pages' memfd, kept for the supervisor that adopts this cell. */
    private int pagesFd = -1;
    private final CommRegion comm;
    private final List<Vcpu> vcpus = new ArrayList<>();
    /** The cell's UARTs, written by all its vCPUs, drained by the console thread. */
    private final MpscByteRing uartOutput = new MpscByteRing(UART_RING_CAPACITY);
    private final List<Ram> ram = new ArrayList<>();
    private final AtomicInteger failedCpus = new AtomicInteger();
    /** The guest TSC rate, known once the first vCPU exists. */
    private long tscKhz;
    /** Images loaded since the cell was last made loadable: [start, end) guest ranges, for the start warning. */
    private final List<long[]> loaded = new ArrayList<>();
    private boolean loadable;
    /** The cell's vCPUs by logical CPU number (null where the cell has none), for hypercalls. */
    private Vcpu[] vcpuByCpu = new Vcpu[0];
    /** PCI BAR windows of this cell's emulated functions; they move as the guest programs the BARs. */
    private final MmioWindowTable windows = new MmioWindowTable();
    private PciConfigSpace pci;
    private final List<IvshmemDevice> ivshmem = new ArrayList<>();
    private final List<DoorbellSlots> slots = new ArrayList<>();
    private DoorbellWatch watch;
    private KernelDoorbells doorbells;
    /** The ACPI PM1 event block, where the cell's ports include it; null otherwise. */
    private Pm1EventBlock pm1;
    private CellConsole console;
    /** MSI deliveries under way from any thread; the VM closes once none is (see signalMsi). */
    private final AtomicInteger msiInFlight = new AtomicInteger();
    private volatile boolean vmClosing;
    private final Object reportLock = new Object();

    private CellMachine(int id, CellConfig config, SystemConfig system, KvmVm vm, CellPages pages) {
        this.id = id;
        this.config = config;
        this.system = system;
        this.vm = vm;
        this.pages = pages;
        this.comm = new CommRegion(pages.commPage());
    }

    /**
     * Builds the cell: VM, memory slots, devices, vCPUs and their parked
     * threads. On any failure everything taken so far is released (the
     * descriptors are the caller's either way).
     *
     * @param pagesFd the cell's shared pages (owned once the cell is built)
     * @param memoryFd the reserved memory (closed by the caller right after: only the mappings stay)
     * @param slotFds each ivshmem device's doorbell slots, as the request's plans list them (owned from now on)
     */
    static CellMachine create(KvmDevice kvm, CellRequest.Create request, SystemConfig system, CellConfig config,
            int pagesFd, int memoryFd, List<int[]> slotFds) throws HypervisorException {
        KvmVm vm = null;
        CellPages pages = null;
        CellMachine cell = null;
        List<DoorbellSlots> linkSlots = new ArrayList<>();
        try {
            linkSlots = slotsOf(config, request, slotFds);
            pages = CellPages.open(pagesFd);
            int[] cpus = config.cpus().bits().toArray();
            if (pages.cpuCount() != cpus.length || request.hostCpus().length != cpus.length) {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + config.name() + "\" has " + cpus.length
                        + " CPUs; its pages hold " + pages.cpuCount() + " and the request pins "
                        + request.hostCpus().length);
            }
            pages.setProcessId(Libc.getpid());
            vm = kvm.createVm();
            vm.setTssAddress(TSS_ADDRESS);
            vm.setIdentityMapAddress(IDENTITY_MAP_ADDRESS);
            vm.createIrqchip();
            X86Msrs.installFilter(vm);
            cell = new CellMachine(request.cellId(), config, system, vm, pages);
            cell.slots.addAll(linkSlots);
            cell.pagesFd = pagesFd;
            cell.comm.setState(CommRegion.STATE_SHUT_DOWN);
            cell.console = new CellConsole(cell);
            MmioBus.Builder mmio = MmioBus.builder();
            cell.mapMemory(memoryFd, Libc.fileSize(memoryFd), mmio);
            cell.buildPci(request, mmio);
            PioBus pio = cell.buildPioBus();
            MmioBus mmioBus = mmio.build();
            List<CpuidEntry> supported = kvm.supportedCpuid();
            long khz = 0;
            for (int i = 0; i < cpus.length; i++) {
                int c = cpus[i];
                KvmVcpu v = vm.createVcpu(c);
                try {
                    v.setCpuid(X86Reset.cpuid(supported, c));
                    v.setMsr(X86Reset.MSR_IA32_APIC_BASE, X86Reset.APIC_BASE_X2APIC);
                    byte[] lapic = X86Reset.quietLapic(v.getLapic());
                    khz = v.tscKhz();
                    cell.vcpus.add(new Vcpu(cell, i, c, request.hostCpus()[i], v, pio, mmioBus, cell.windows, lapic));
                } catch (NativeException | RuntimeException | Error e) {
                    closeQuietly(v); // not the cell's yet: release() would not find it
                    throw e;
                }
            }
            cell.tscKhz = khz;
            cell.vcpuByCpu = new Vcpu[cpus[cpus.length - 1] + 1];
            for (Vcpu v : cell.vcpus) {
                cell.vcpuByCpu[v.cpu()] = v;
            }
            for (Vcpu v : cell.vcpus) {
                v.startThread();
            }
            if (cell.pm1 != null) {
                cell.pm1.start();
            }
            for (IvshmemDevice d : cell.ivshmem) {
                d.link().attach(d);
            }
            cell.resetDevices();
            cell.console.start();
            return cell;
        } catch (NativeException e) {
            release(cell, vm, pages, linkSlots);
            throw new HypervisorException(Errno.ENOMEM, "cell \"" + config.name() + "\": " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            // Thread.start's "unable to create native thread" (a pids or thread limit): the cell's failure,
            // reported as pthread_create reports it, not the process's death
            release(cell, vm, pages, linkSlots);
            throw new HypervisorException(Errno.EAGAIN, "cell \"" + config.name() + "\": cannot start its threads ("
                    + e.getMessage() + ")", e);
        } catch (HypervisorException | RuntimeException | Error e) {
            release(cell, vm, pages, linkSlots);
            throw e;
        }
    }

    private static void closeQuietly(KvmVcpu v) {
        try {
            v.close();
        } catch (NativeException ignored) {
            // releasing after a failure: the original error is what the user needs
        }
    }

    /** The doorbell slots of each ivshmem device, checked against the config (owned from now on). */
    private static List<DoorbellSlots> slotsOf(CellConfig config, CellRequest.Create request, List<int[]> slotFds)
            throws HypervisorException {
        List<DoorbellSlots> out = new ArrayList<>();
        List<PciDevice> devices = config.pciDevices();
        try {
            int plan = 0;
            for (int i = 0; i < devices.size(); i++) {
                PciDevice d = devices.get(i);
                if (!d.isIvshmem()) {
                    continue;
                }
                if (plan >= request.ivshmem().size() || request.ivshmem().get(plan).deviceIndex() != i) {
                    throw new HypervisorException(Errno.EINVAL, "cell \"" + config.name()
                            + "\": no doorbell slots for PCI device " + i);
                }
                out.add(new DoorbellSlots(d.shmemPeers(), Math.max(d.numMsixVectors(), 1), slotFds.get(plan++)));
            }
            if (plan != slotFds.size()) {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + config.name() + "\": doorbell slots for "
                        + slotFds.size() + " ivshmem devices, the config has " + plan);
            }
            return out;
        } catch (HypervisorException | IllegalArgumentException e) {
            for (int k = out.size(); k < slotFds.size(); k++) {
                DoorbellSlots.closeAll(slotFds.get(k));
            }
            out.forEach(DoorbellSlots::close);
            throw e instanceof HypervisorException h ? h : new HypervisorException(Errno.EINVAL, e.getMessage());
        }
    }

    private static void release(CellMachine cell, KvmVm vm, CellPages pages, List<DoorbellSlots> linkSlots) {
        if (cell != null) {
            cell.stopEverything();
            cell.releaseMemory();
        }
        linkSlots.forEach(DoorbellSlots::close); // closing twice does nothing
        try {
            if (vm != null) {
                vm.close();
            }
        } catch (NativeException ignored) {
            // Releasing after a failed create: the original error is what the user needs.
        }
        if (pages != null) {
            pages.close();
        }
    }

    /** Maps each memory region of the config into the VM, as RAM, comm page or unbacked device window. */
    private void mapMemory(int memoryFd, long memorySize, MmioBus.Builder mmio)
            throws HypervisorException, NativeException {
        List<MemoryRegion> regions = config.memoryRegions();
        int slot = 0;
        BitSet stateTables = stateTableRegions();
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            if (r.size() == 0) {
                continue; // {0}: a placeholder, e.g. an absent ivshmem section
            }
            String where = "cell \"" + config.name() + "\", memory region " + i + " (phys 0x"
                    + Long.toHexString(r.physStart()) + ", virt 0x" + Long.toHexString(r.virtStart()) + ", size 0x"
                    + Long.toHexString(r.size()) + ")";
            if (r.has(MemoryRegion.COMM_REGION)) {
                if (r.size() != MemoryRegion.PAGE_SIZE || (r.virtStart() & (MemoryRegion.PAGE_SIZE - 1)) != 0) {
                    throw new HypervisorException(Errno.EINVAL, where + ": the comm region must be one aligned page");
                }
                vm.setUserMemoryRegion(slot++, r.has(MemoryRegion.WRITE) ? 0 : KvmVm.MEM_READONLY, r.virtStart(),
                        pages.commPage());
                if (config.hasFlag(CellConfig.TEST_DEVICE)) {
                    mmio.add(r.virtStart() + MemoryRegion.PAGE_SIZE, MemoryRegion.PAGE_SIZE,
                            new TestDevice(pages.commPage()));
                }
                continue;
            }
            if (r.has(MemoryRegion.IO)) {
                mmio.add(r.virtStart(), r.size(), UnbackedWindow.INSTANCE);
                continue;
            }
            long mask = MemoryRegion.PAGE_SIZE - 1;
            boolean aligned = ((r.physStart() | r.virtStart() | r.size()) & mask) == 0;
            boolean inMemory = r.physStart() >= 0 && r.physStart() <= memorySize - r.size();
            if (!inMemory || !aligned) {
                if (r.isRam()) {
                    throw new HypervisorException(Errno.EINVAL, where + (!inMemory
                            ? ": lies outside the reserved memory (0x0-0x" + Long.toHexString(memorySize - 1)
                                    + ") of the system config's root cell"
                            : ": RAM regions must be page aligned"));
                }
                // Device memory (a BAR, a platform device, a sub-page register window): nothing physical
                // backs it here (the supervisor admitted it). An emulated function's BAR window serves it
                // if there is one, else it reads all ones.
                mmio.add(r.virtStart(), r.size(), UnbackedWindow.INSTANCE);
                continue;
            }
            // Only what the guest may write is writable here, and the ivshmem state tables, which the
            // device model writes for the guest.
            boolean writable = r.has(MemoryRegion.WRITE) || stateTables.get(i);
            MemoryMapping m = MemoryMapping.ofFile(memoryFd, r.physStart(), r.size(), writable);
            ram.add(new Ram(r, m));
            vm.setUserMemoryRegion(slot++, r.has(MemoryRegion.WRITE) ? 0 : KvmVm.MEM_READONLY, r.virtStart(),
                    m.segment());
        }
    }

    /** Indexes of the regions that are ivshmem state tables. */
    private BitSet stateTableRegions() {
        BitSet tables = new BitSet();
        for (PciDevice d : config.pciDevices()) {
            if (d.isIvshmem()) {
                tables.set((int) d.shmemRegionsStart());
            }
        }
        return tables;
    }

    /** The mapping of the region with this index, or null. */
    private MemorySegment mapped(MemoryRegion region) {
        for (Ram r : ram) {
            if (r.region() == region) {
                return r.mapping().segment();
            }
        }
        return null;
    }

    /**
     * The cell's PCI functions (ivshmem peers and emulated devices) behind
     * its config space ports and MMCONFIG window; the supervisor admitted
     * the config (PciAdmission) before.
     */
    private void buildPci(CellRequest.Create request, MmioBus.Builder mmio) throws NativeException, HypervisorException {
        List<VirtualPciFunction> functions = new ArrayList<>();
        var devices = config.pciDevices();
        BitSet cpuSet = new BitSet();
        config.cpus().bits().forEach(cpuSet::set);
        DeviceEmulations emulations = DeviceEmulations.parse(request.emulations(), system);
        int plan = 0;
        for (int i = 0; i < devices.size(); i++) {
            var d = devices.get(i);
            if (d.isIvshmem()) {
                DoorbellSlots s = slots.get(plan++);
                if (watch == null) {
                    watch = new DoorbellWatch(config.name());
                    doorbells = new KernelDoorbells(vm, watch, this::report);
                }
                MemoryRegion table = config.memoryRegions().get((int) d.shmemRegionsStart());
                MemorySegment tableView = mapped(table);
                if (tableView == null) {
                    throw new HypervisorException(Errno.EINVAL, "cell \"" + config.name() + "\": the state table of"
                            + " PCI device " + i + " is not in the reserved memory");
                }
                IvshmemLink link = new IvshmemLink(d.bdf(), doorbells, s);
                IvshmemDevice dev = new IvshmemDevice(config, i, link, tableView.asSlice(0, MemoryRegion.PAGE_SIZE),
                        this::signalMsi, cpuSet, windows);
                doorbells.register(dev, s);
                ivshmem.add(dev);
                functions.add(dev);
            } else if (emulations.modelFor(d) == EmulatedModel.INTEL_HDA) {
                functions.add(IntelHdaController.create(config, i, this::signalMsi, windows));
            } else {
                throw new HypervisorException(Errno.EINVAL, "cell \"" + config.name() + "\": PCI device " + i
                        + " has no emulation");
            }
        }
        pci = new PciConfigSpace(config.name(), functions, system.platform());
        if (pci.mmconfig() != null) {
            mmio.add(pci.mmconfig().base(), pci.mmconfig().size(), pci.mmconfig());
        }
    }

    /** Raises an MSI in this cell (emulated devices, ivshmem deliveries that take the Java path). */
    void signalMsi(long address, int data) {
        // The doorbell watch delivers here too: the count lets destroy wait until no thread can still
        // use the VM descriptor, whose number the next open may reuse.
        msiInFlight.incrementAndGet();
        try {
            if (!vmClosing) {
                vm.signalMsiQuietly(address, data);
            }
        } finally {
            msiInFlight.decrementAndGet();
        }
    }

    /** Emulated devices first, then the rest of the whitelist as unbacked ports. */
    private PioBus buildPioBus() {
        PioBus.Builder pio = PioBus.builder();
        BitSet claimed = new BitSet(0x10000);
        // upstream always intercepts the config space ports (spec 7)
        pio.add(PciConfigPorts.BASE, PciConfigPorts.COUNT, pci.ports());
        claimed.set(PciConfigPorts.BASE, PciConfigPorts.BASE + PciConfigPorts.COUNT);
        for (int base : UART_PORTS) {
            if (whitelisted(base, UART_PORT_COUNT)) {
                pio.add(base, UART_PORT_COUNT, new Uart8250(base, uartOutput, uartIrq(base)));
                claimed.set(base, base + UART_PORT_COUNT);
            }
        }
        int pm = system.x86().pmTimerAddress();
        if (pm != 0 && claimed.get(pm, pm + PM_TIMER_PORTS).isEmpty()) {
            PmTimer timer = new PmTimer(pm);
            pio.add(pm, PM_TIMER_PORTS, timer);
            claimed.set(pm, pm + PM_TIMER_PORTS);
            int events = pm - Pm1EventBlock.BELOW_PM_TIMER;
            // As on QEMU's machines, for cells whose ports include it (upstream's ioapic-demo.cell does).
            if (events >= 0 && whitelisted(events, Pm1EventBlock.PORTS)
                    && claimed.get(events, events + Pm1EventBlock.PORTS).isEmpty()) {
                pm1 = new Pm1EventBlock(events, timer, grantsIoapicPin(Pm1EventBlock.SCI_GSI)
                        ? this::pulseSci : null, config.name());
                pio.add(events, Pm1EventBlock.PORTS, pm1);
                claimed.set(events, events + Pm1EventBlock.PORTS);
            }
        }
        if (!claimed.get(DIAGNOSTIC_PORT)) {
            pio.add(DIAGNOSTIC_PORT, 1, new DiagnosticPort());
            claimed.set(DIAGNOSTIC_PORT);
        }
        for (PioRange range : config.pioRegions()) {
            int start = range.base();
            int end = Math.min(0x10000, range.base() + range.length());
            for (int p = claimed.nextClearBit(start); p < end; ) {
                int stop = Math.min(end, claimed.nextSetBit(p) < 0 ? end : claimed.nextSetBit(p));
                pio.add(p, stop - p, UnbackedWindow.INSTANCE);
                claimed.set(p, stop);
                p = claimed.nextClearBit(stop);
            }
        }
        return pio.build();
    }

    /**
     * The interrupt line of the UART at {@code base}: its PC IRQ (4 for COM1
     * and COM3, 3 for COM2 and COM4) on the in-kernel IOAPIC, if the cell's
     * irqchips give it that pin; otherwise none, and the UART is polled.
     */
    private IrqLine uartIrq(int base) {
        int pin = base == 0x3f8 || base == 0x3e8 ? 4 : 3;
        if (!grantsIoapicPin(pin)) {
            return IrqLine.NONE;
        }
        return high -> vm.irqLineQuietly(pin, high);
    }

    /** One pulse of the SCI line of the in-kernel irqchip (the PM1 event block's thread). */
    private void pulseSci() {
        vm.irqLineQuietly(Pm1EventBlock.SCI_GSI, true);
        vm.irqLineQuietly(Pm1EventBlock.SCI_GSI, false);
    }

    /** Whether the cell's irqchips give it pin {@code pin} of the IOAPIC (the in-kernel one serves it). */
    private boolean grantsIoapicPin(int pin) {
        for (Irqchip chip : config.irqchips()) {
            if (chip.address() == IOAPIC_BASE && chip.pinBase() == 0 && chip.pinBitmap().isSet(pin)) {
                return true;
            }
        }
        return false;
    }

    private boolean whitelisted(int base, int count) {
        for (int p = base; p < base + count; p++) {
            boolean in = false;
            for (PioRange r : config.pioRegions()) {
                if (r.contains(p, 1)) {
                    in = true;
                    break;
                }
            }
            if (!in) {
                return false;
            }
        }
        return true;
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

    MpscByteRing uartOutput() {
        return uartOutput;
    }

    List<Vcpu> vcpus() {
        return vcpus;
    }

    /** Each CPU's thread id, in the cell's CPU order. */
    int[] threadIds() {
        int[] tids = new int[vcpus.size()];
        for (int i = 0; i < tids.length; i++) {
            tids[i] = vcpus.get(i).tid();
        }
        return tids;
    }

    /** Each ivshmem device's doorbell slots, as {@link CellRequest.Create} lists them. */
    List<int[]> slotFds() {
        List<int[]> out = new ArrayList<>();
        for (DoorbellSlots s : slots) {
            out.add(s.fds());
        }
        return out;
    }

    /** Stops every CPU of the cell (upstream parks them). */
    void park() {
        for (Vcpu v : vcpus) {
            v.park();
        }
    }

    /** The cell did not answer in time (spec 2): stopped and FAILED. */
    void fail() {
        park();
        comm.setState(CommRegion.STATE_FAILED);
    }

    /**
     * {@code cell load} and {@code cell shutdown}: parks the CPUs, makes the
     * cell loadable and copies the images in from their descriptors. Every
     * image is checked before the first byte is copied.
     *
     * @return true when the cell became loadable now (it was not since its start)
     */
    boolean load(List<CellRequest.Image> images, int[] fds) throws HypervisorException {
        if (fds.length != images.size()) {
            throw new HypervisorException(Errno.EINVAL, images.size() + " images came with " + fds.length
                    + " descriptors");
        }
        List<MemorySegment> targets = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            CellRequest.Image image = images.get(i);
            checkImageFile(image, fds[i]);
            targets.add(image.length() == 0 ? null : loadTarget(image));
        }
        park();
        resetDevices();
        for (Vcpu v : vcpus) {
            v.clearFailure();
        }
        failedCpus.set(0);
        boolean becameLoadable = !loadable;
        if (becameLoadable) {
            comm.setState(CommRegion.STATE_SHUT_DOWN);
            loadable = true;
            loaded.clear();
        }
        for (int i = 0; i < images.size(); i++) {
            CellRequest.Image image = images.get(i);
            MemorySegment dst = targets.get(i);
            if (dst == null) {
                continue;
            }
            for (long done = 0; done < image.length(); ) {
                long n = Libc.pread(fds[i], dst.asSlice(done), done);
                if (n <= 0) {
                    throw new HypervisorException(n == 0 ? Errno.EIO : Errno.of(-(int) n), "image " + image.source()
                            + ": reading byte " + done + " of " + image.length() + " failed; the cell is loadable"
                            + " and holds what was copied");
                }
                done += n;
            }
            loaded.add(new long[] {image.address(), image.address() + image.length()});
        }
        return becameLoadable;
    }

    /** An image's descriptor must be a regular file (or memfd) holding at least the image. */
    private static void checkImageFile(CellRequest.Image image, int fd) throws HypervisorException {
        try {
            Libc.FileStatus st = Libc.fstat(fd);
            if (!st.isRegularFile() || st.size() < image.length()) {
                throw new HypervisorException(Errno.EINVAL, "image " + image.source() + ": its descriptor is "
                        + (st.isRegularFile() ? st.size() + " bytes, not " + image.length() : "not a regular file"));
            }
        } catch (NativeException e) {
            throw new HypervisorException(Errno.EBADF, "image " + image.source() + ": " + e.getMessage(), e);
        }
    }

    /** Where an image goes: inside a LOADABLE, writable region, or a refusal naming the region. */
    private MemorySegment loadTarget(CellRequest.Image image) throws HypervisorException {
        List<MemoryRegion> regions = config.memoryRegions();
        long end = image.address() + image.length();
        String what = "image " + image.source() + " (0x" + Long.toHexString(image.address()) + "-0x"
                + Long.toHexString(end - 1) + ")";
        if (image.length() < 0 || end < image.address()) {
            throw new HypervisorException(Errno.EINVAL, what + " wraps around the address space");
        }
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            if (r.size() == 0 || !r.containsVirt(image.address())) {
                continue;
            }
            String region = "memory region " + i + " (virt 0x" + Long.toHexString(r.virtStart()) + "-0x"
                    + Long.toHexString(r.virtEnd()) + ", " + MemoryRegion.FLAG_NAMES.describe(r.flags()) + ")";
            if (r.has(MemoryRegion.COMM_REGION)) {
                throw new HypervisorException(Errno.EINVAL, what + " targets the comm region, " + region
                        + ", which the hypervisor owns");
            }
            if (!r.has(MemoryRegion.LOADABLE) || !r.has(MemoryRegion.WRITE)) {
                throw new HypervisorException(Errno.EINVAL, what + " targets " + region
                        + ", which is not a writable LOADABLE region");
            }
            if (end - 1 > r.virtEnd()) {
                String beyond = "";
                for (int k = 0; k < regions.size(); k++) {
                    MemoryRegion o = regions.get(k);
                    if (o.has(MemoryRegion.COMM_REGION) && o.overlapsVirt(new MemoryRegion(0, image.address(),
                            image.length(), 0))) {
                        beyond = " and overlaps the comm region (region " + k + " at 0x"
                                + Long.toHexString(o.virtStart()) + ")";
                    }
                }
                throw new HypervisorException(Errno.EINVAL, what + " leaves " + region + beyond);
            }
            MemorySegment m = mapped(r);
            if (m == null) {
                throw new HypervisorException(Errno.EINVAL, what + " targets " + region
                        + ", which is not in the reserved memory");
            }
            return m.asSlice(image.address() - r.virtStart(), image.length());
        }
        throw new HypervisorException(Errno.EINVAL, what + " is not inside any memory region of cell \""
                + name() + "\"");
    }

    /**
     * {@code cell start}: resets the comm page and starts every CPU at the
     * reset address.
     *
     * @return a warning when no image loaded since the last load covers the reset address
     */
    List<String> start() {
        park();
        resetDevices();
        List<String> warnings = new ArrayList<>();
        long reset = config.cpuResetAddress();
        boolean covered = false;
        for (long[] range : loaded) {
            covered |= reset >= range[0] && reset < range[1];
        }
        if (!covered) {
            StringBuilder where = new StringBuilder();
            for (long[] range : loaded) {
                where.append(where.length() == 0 ? "" : ", ").append("0x").append(Long.toHexString(range[0]))
                        .append("-0x").append(Long.toHexString(range[1] - 1));
            }
            warnings.add("cell \"" + name() + "\": no image loaded" + (loadable ? " since its last load" : "")
                    + " covers the CPU reset address 0x" + Long.toHexString(reset)
                    + (loaded.isEmpty() ? "" : " (images went to " + where + ")")
                    + "; the CPUs will run whatever memory holds there"
                    + (reset == 0xffff0 && !loaded.isEmpty() && loaded.get(0)[0] == 0
                            ? " (images for this reset address are loaded with -a 0xf0000)" : "")
                    + (reset == 0 && !loaded.isEmpty() && loaded.get(0)[0] == 0xf0000
                            ? " (this cell starts at 0: load the image without -a)" : ""));
        }
        int flags = (config.hasFlag(CellConfig.VIRTUAL_CONSOLE_PERMITTED) ? CommRegion.FLAG_DBG_PUTC_PERMITTED : 0)
                | (config.hasFlag(CellConfig.VIRTUAL_CONSOLE_ACTIVE) ? CommRegion.FLAG_DBG_PUTC_ACTIVE : 0);
        comm.initialize(flags, config.console(), system.platform().pciMmconfigBase(),
                system.x86().pmTimerAddress(), vcpus.size(), tscKhz, APIC_KHZ);
        loadable = false;
        failedCpus.set(0);
        for (Vcpu v : vcpus) {
            v.run(reset);
        }
        return warnings;
    }

    /** What a cell reset clears of the emulated devices (their state is not the inmate's to keep). */
    private void resetDevices() {
        pci.reset();
        if (pm1 != null) {
            pm1.reset();
        }
    }

    /**
     * Stops the CPUs and releases the VM and every mapping. The supervisor
     * clears the cell's memory afterwards and takes it off its links.
     */
    void destroy() {
        stopEverything();
        vmClosing = true;
        while (msiInFlight.get() != 0) {
            Thread.onSpinWait();
        }
        try {
            vm.close();
        } catch (NativeException e) {
            report("Closing VM of cell \"" + name() + "\" failed: " + e.getMessage() + "\n");
        }
        releaseMemory();
        console.stop(); // after the last report
        pages.close();
        try {
            Libc.close(pagesFd);
        } catch (NativeException ignored) {
            // the process ends next
        }
    }

    /** CPUs, timers and doorbells stop; nothing delivers into the VM afterwards. */
    private void stopEverything() {
        for (Vcpu v : vcpus) {
            v.exit();
        }
        if (pm1 != null) {
            pm1.close(); // before the VM goes: it drives one of its lines
        }
        for (IvshmemDevice d : ivshmem) {
            d.link().detach(d);
            doorbells.forget(d);
        }
        if (watch != null) {
            watch.close(); // before the slots close: it polls them
        }
        for (DoorbellSlots s : slots) {
            s.close();
        }
        for (Vcpu v : vcpus) {
            v.close();
        }
    }

    private void releaseMemory() {
        for (Ram r : ram) {
            r.mapping().close();
        }
    }

    // ---- what the inmate's CPUs tell the hypervisor console, outside the exit loop

    /** Hands a line for the hypervisor console to the supervisor (through the report ring). */
    void report(String text) {
        byte[] b = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        synchronized (reportLock) {
            pages.report().write(b, 0, b.length);
        }
    }

    /** Appends lines the hypervisor wrote without allocating (about hypercalls) to the report ring. */
    void reportBytes(byte[] b, int offset, int length) {
        synchronized (reportLock) {
            pages.report().write(b, offset, length);
        }
    }

    /** Appends the guest's debug-console bytes to their own ring (only the console thread writes it). */
    void debugConsoleBytes(byte[] b, int offset, int length) {
        pages.debugConsole().write(b, offset, length);
    }

    /** A CPU failed; when all have, the cell is FAILED (spec 8). */
    void cpuFailed() {
        if (failedCpus.incrementAndGet() >= vcpus.size()) {
            comm.setState(CommRegion.STATE_FAILED);
        }
    }

    /** HYPERVISOR_GET_INFO figure {@code type}, as the supervisor keeps it in the pages; -1 for an unknown type. */
    long info(long type) {
        return type >= 0 && type < CellPages.INFO_FIGURES ? pages.info((int) type) : -1;
    }

    /** Whether {@code cpu} is a CPU of the system config (a cell may ask only about its own). */
    boolean cpuExists(long cpu) {
        return cpu >= 0 && cpu < Integer.MAX_VALUE && system.rootCell().cpus().isSet((int) cpu);
    }

    /** The vCPU of logical CPU {@code cpu} if this cell has it, else null. */
    Vcpu vcpuOf(long cpu) {
        return cpu >= 0 && cpu < vcpuByCpu.length ? vcpuByCpu[(int) cpu] : null;
    }

    /**
     * Whether guest memory at {@code linear} holds these bytes, reading RAM as
     * identity-mapped (true for inmates, which map guest memory 1:1).
     */
    boolean isInstruction(long linear, int b0, int b1, int b2) {
        for (Ram r : ram) {
            MemoryRegion region = r.region();
            if (linear >= region.virtStart() && linear + 3 <= region.virtStart() + region.size()) {
                MemorySegment s = r.mapping().segment().asSlice(linear - region.virtStart(), 3);
                return (s.get(ValueLayout.JAVA_BYTE, 0) & 0xff) == b0 && (s.get(ValueLayout.JAVA_BYTE, 1) & 0xff) == b1
                        && (s.get(ValueLayout.JAVA_BYTE, 2) & 0xff) == b2;
            }
        }
        return false;
    }
}
