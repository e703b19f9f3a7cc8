package io.jailhouse.hypervisor;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.Console;
import io.jailhouse.config.Irqchip;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PioRange;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.device.DiagnosticPort;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.pci.EmulatedModel;
import io.jailhouse.hypervisor.pci.IntelHdaController;
import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.hypervisor.pci.IvshmemLink;
import io.jailhouse.hypervisor.pci.PciConfigPorts;
import io.jailhouse.hypervisor.pci.PciConfigSpace;
import io.jailhouse.hypervisor.pci.VirtualPciFunction;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.Pm1EventBlock;
import io.jailhouse.hypervisor.device.PmTimer;
import io.jailhouse.hypervisor.device.MpscByteRing;
import io.jailhouse.hypervisor.device.TestDevice;
import io.jailhouse.hypervisor.device.Uart8250;
import io.jailhouse.sys.CpuidEntry;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmDevice;
import io.jailhouse.sys.KvmVcpu;
import io.jailhouse.sys.KvmVm;
import io.jailhouse.sys.MemoryMapping;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.LoadImage;

/**
 * A non-root cell: one KVM VM with its memory slots, its comm page, its
 * devices and one {@link Vcpu} per configured CPU. Management operations
 * are called with the hypervisor's lock held; the vCPU threads only read
 * what is fixed at creation.
 */
final class Cell {
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
    static final int CONSOLE_CAPACITY = 64 * 1024;
    static final int UART_RING_CAPACITY = 16 * 1024;

    private final KvmHypervisor hypervisor;
    private final int id;
    private final CellConfig config;
    private final KvmVm vm;
    private final MemoryMapping commPage;
    private final CommRegion comm;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final ConsoleRing console = new ConsoleRing(CONSOLE_CAPACITY);
    /** The cell's UARTs, written by all its vCPUs, drained by the console thread. */
    private final MpscByteRing uartOutput = new MpscByteRing(UART_RING_CAPACITY);
    private final List<MemoryRegion> ram = new ArrayList<>();
    private final AtomicInteger failedCpus = new AtomicInteger();
    /** The guest TSC rate, known once the first vCPU exists. */
    private long tscKhz;
    /** Images loaded since the cell was last made loadable: [start, end) guest ranges, for the start warning. */
    private final List<long[]> loaded = new ArrayList<>();
    private boolean loadable;
    /** The cell's vCPUs by logical CPU number (null where the cell has none), for hypercalls. */
    private Vcpu[] vcpuByCpu = new Vcpu[0];
    private int memorySlots;
    /** PCI BAR windows of this cell's emulated functions; they move as the guest programs the BARs. */
    private final MmioWindowTable windows = new MmioWindowTable();
    private PciConfigSpace pci;
    private final List<IvshmemDevice> ivshmem = new ArrayList<>();
    /** The ACPI PM1 event block, where the cell's ports include it; null otherwise. */
    private Pm1EventBlock pm1;
    /** MSI deliveries under way from any thread; the VM closes once none is (see signalMsi). */
    private final AtomicInteger msiInFlight = new AtomicInteger();
    private volatile boolean vmClosing;
    /** Set when destroy begins; a reader that still holds the cell then meets unmapped pages as exceptions. */
    private volatile boolean destroyed;

    private Cell(KvmHypervisor hypervisor, int id, CellConfig config, KvmVm vm, MemoryMapping commPage) {
        this.hypervisor = hypervisor;
        this.id = id;
        this.config = config;
        this.vm = vm;
        this.commPage = commPage;
        this.comm = new CommRegion(commPage.segment());
    }

    /**
     * Builds the cell: VM, memory slots, devices, vCPUs and their parked
     * threads. On any failure everything taken so far is released.
     *
     * @param hostCpus logical CPU number to host CPU, for every CPU of the config
     */
    static Cell create(KvmHypervisor hv, KvmDevice kvm, List<CpuidEntry> supportedCpuid, int id,
            CellConfig config, int[] hostCpus) throws HypervisorException {
        KvmVm vm = null;
        MemoryMapping commPage = null;
        Cell cell = null;
        try {
            vm = kvm.createVm();
            commPage = MemoryMapping.anonymous(MemoryRegion.PAGE_SIZE);
            vm.setTssAddress(TSS_ADDRESS);
            vm.setIdentityMapAddress(IDENTITY_MAP_ADDRESS);
            vm.createIrqchip();
            X86Msrs.installFilter(vm);
            cell = new Cell(hv, id, config, vm, commPage);
            cell.comm.setState(CellState.SHUT_DOWN.code());
            MmioBus.Builder mmio = MmioBus.builder();
            cell.mapMemory(hv.reservedMemory(), mmio);
            cell.buildPci(hv, mmio);
            PioBus pio = cell.buildPioBus(hv.systemConfig());
            MmioBus mmioBus = mmio.build();
            int[] cpus = config.cpus().bits().toArray();
            long khz = 0;
            for (int c : cpus) {
                KvmVcpu v = vm.createVcpu(c);
                v.setCpuid(X86Reset.cpuid(supportedCpuid, c));
                v.setMsr(X86Reset.MSR_IA32_APIC_BASE, X86Reset.APIC_BASE_X2APIC);
                byte[] lapic = X86Reset.quietLapic(v.getLapic());
                khz = v.tscKhz();
                cell.vcpus.add(new Vcpu(cell, c, hostCpus[c], v, pio, mmioBus, cell.windows, lapic));
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
                for (String line : d.link().attach(d)) {
                    hv.print(line + "\n");
                }
            }
            cell.resetDevices();
            return cell;
        } catch (NativeException e) {
            release(cell, vm, commPage);
            throw new HypervisorException(Errno.ENOMEM, "cell \"" + config.name() + "\": " + e.getMessage(), e);
        } catch (HypervisorException | RuntimeException e) {
            release(cell, vm, commPage);
            throw e;
        }
    }

    private static void release(Cell cell, KvmVm vm, MemoryMapping commPage) {
        if (cell != null) {
            if (cell.pm1 != null) {
                cell.pm1.close();
            }
            for (IvshmemDevice d : cell.ivshmem) {
                cell.hypervisor.doorbells().forget(d);
            }
            for (Vcpu v : cell.vcpus) {
                v.exit();
                v.close();
            }
        }
        try {
            if (vm != null) {
                vm.close();
            }
            if (commPage != null) {
                commPage.close();
            }
        } catch (NativeException ignored) {
            // Releasing after a failed create: the original error is what the user needs.
        }
    }

    /** Maps each memory region of the config into the VM, as RAM, comm page or unbacked device window. */
    private void mapMemory(ReservedMemory memory, MmioBus.Builder mmio) throws HypervisorException, NativeException {
        List<MemoryRegion> regions = config.memoryRegions();
        int slot = 0;
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
                        commPage.segment());
                if (config.hasFlag(CellConfig.TEST_DEVICE)) {
                    mmio.add(r.virtStart() + MemoryRegion.PAGE_SIZE, MemoryRegion.PAGE_SIZE,
                            new TestDevice(commPage.segment()));
                }
                continue;
            }
            if (r.has(MemoryRegion.IO)) {
                mmio.add(r.virtStart(), r.size(), UnbackedWindow.INSTANCE);
                continue;
            }
            long mask = MemoryRegion.PAGE_SIZE - 1;
            boolean aligned = ((r.physStart() | r.virtStart() | r.size()) & mask) == 0;
            boolean inMemory = memory.contains(r.physStart(), r.size());
            if (!inMemory || !aligned) {
                if (r.isRam() || hypervisor.isRootRam(r.physStart(), r.size())) {
                    throw new HypervisorException(Errno.EINVAL, where + (!inMemory
                            ? ": lies outside the reserved memory (0x0-0x" + Long.toHexString(memory.size() - 1)
                                    + ") of the system config's root cell"
                            : ": RAM regions must be page aligned"));
                }
                // Device memory (a BAR, a platform device, a sub-page register window): nothing physical
                // backs it here. An emulated function's BAR window serves it if there is one, else it reads
                // all ones.
                mmio.add(r.virtStart(), r.size(), UnbackedWindow.INSTANCE);
                continue;
            }
            vm.setUserMemoryRegion(slot++, r.has(MemoryRegion.WRITE) ? 0 : KvmVm.MEM_READONLY, r.virtStart(),
                    memory.slice(r.physStart(), r.size()));
            ram.add(r);
        }
        memorySlots = slot;
    }

    /**
     * The cell's PCI functions (ivshmem peers and emulated devices) behind
     * its config space ports and MMCONFIG window; config validation ran
     * before (KvmHypervisor.createCell).
     */
    private void buildPci(KvmHypervisor hv, MmioBus.Builder mmio) {
        List<VirtualPciFunction> functions = new ArrayList<>();
        var devices = config.pciDevices();
        BitSet cpuSet = new BitSet();
        config.cpus().bits().forEach(cpuSet::set);
        for (int i = 0; i < devices.size(); i++) {
            var d = devices.get(i);
            if (d.isIvshmem()) {
                MemoryRegion table = config.memoryRegions().get((int) d.shmemRegionsStart());
                IvshmemLink link = hv.ivshmemLink(d.bdf());
                IvshmemDevice dev = new IvshmemDevice(config, i, link,
                        hv.reservedMemory().slice(table.physStart(), MemoryRegion.PAGE_SIZE), this::signalMsi,
                        cpuSet, windows);
                hv.doorbells().register(dev, this);
                ivshmem.add(dev);
                functions.add(dev);
            } else if (hv.emulatedModel(d) == EmulatedModel.INTEL_HDA) {
                functions.add(IntelHdaController.create(config, i, this::signalMsi, windows));
            } else {
                throw new IllegalStateException("PCI device " + i + " passed validation without an emulation");
            }
        }
        pci = new PciConfigSpace(config.name(), functions, hv.systemConfig().platform());
        if (pci.mmconfig() != null) {
            mmio.add(pci.mmconfig().base(), pci.mmconfig().size(), pci.mmconfig());
        }
    }

    /** Raises an MSI in this cell (emulated devices, ivshmem deliveries that take the Java path). */
    void signalMsi(long address, int data) {
        // Other cells' threads and the root's register thread deliver here too: the count lets destroy wait
        // until none of them can still use the VM descriptor, whose number the next open may reuse.
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
    private PioBus buildPioBus(SystemConfig system) {
        PioBus.Builder pio = PioBus.builder();
        BitSet claimed = new BitSet(0x10000);
        // upstream always intercepts the config space ports (spec 7)
        pio.add(PciConfigPorts.BASE, PciConfigPorts.COUNT, pci.ports());
        claimed.set(PciConfigPorts.BASE, PciConfigPorts.BASE + PciConfigPorts.COUNT);
        for (int base : UART_PORTS) {
            if (whitelisted(base, UART_PORT_COUNT)) {
                pio.add(base, UART_PORT_COUNT, new Uart8250(base, uartOutput));
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

    ConsoleRing console() {
        return console;
    }

    MpscByteRing uartOutput() {
        return uartOutput;
    }

    List<Vcpu> vcpus() {
        return vcpus;
    }

    /** The state in the comm page, or null for a value no state has. */
    CellState state() {
        return CellState.ofCode(comm.state());
    }

    CellStatus status() {
        List<Integer> cpus = new ArrayList<>();
        List<Integer> failed = new ArrayList<>();
        for (Vcpu v : vcpus) {
            cpus.add(v.cpu());
            if (v.failed()) {
                failed.add(v.cpu());
            }
        }
        return new CellStatus(id, name(), state(), cpus, failed);
    }

    /** Stops every CPU of the cell (upstream parks them). */
    void park() {
        for (Vcpu v : vcpus) {
            v.park();
        }
    }

    /**
     * {@code cell load} and {@code cell shutdown}: parks the CPUs, makes the
     * cell loadable and copies the images in. Every image is checked before
     * the first byte is copied.
     */
    /** @return true when the cell became loadable now (it was not since its start) */
    boolean load(List<LoadImage> images) throws HypervisorException {
        List<MemoryRegion> targets = new ArrayList<>();
        for (LoadImage image : images) {
            targets.add(image.data().length == 0 ? null : loadTarget(image));
        }
        park();
        reconfigPending.set(false); // its inmate starts over with the configuration as it is
        resetDevices();
        for (Vcpu v : vcpus) {
            v.clearFailure();
        }
        failedCpus.set(0);
        boolean becameLoadable = !loadable;
        if (becameLoadable) {
            comm.setState(CellState.SHUT_DOWN.code());
            loadable = true;
            loaded.clear();
        }
        ReservedMemory memory = hypervisor.reservedMemory();
        for (int i = 0; i < images.size(); i++) {
            LoadImage image = images.get(i);
            MemoryRegion r = targets.get(i);
            if (r == null) {
                continue;
            }
            MemorySegment dst = memory.slice(r.physStart() + (image.address() - r.virtStart()), image.data().length);
            MemorySegment.copy(image.data(), 0, dst, ValueLayout.JAVA_BYTE, 0, image.data().length);
            loaded.add(new long[] {image.address(), image.end()});
        }
        return becameLoadable;
    }

    /** The LOADABLE, writable region an image lies completely inside, or a refusal naming the region. */
    private MemoryRegion loadTarget(LoadImage image) throws HypervisorException {
        List<MemoryRegion> regions = config.memoryRegions();
        String what = "image " + image.source() + " (0x" + Long.toHexString(image.address()) + "-0x"
                + Long.toHexString(image.end() - 1) + ")";
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
            if (image.end() - 1 > r.virtEnd()) {
                String beyond = "";
                for (int k = 0; k < regions.size(); k++) {
                    MemoryRegion o = regions.get(k);
                    if (o.has(MemoryRegion.COMM_REGION) && o.overlapsVirt(new MemoryRegion(0, image.address(),
                            image.data().length, 0))) {
                        beyond = " and overlaps the comm region (region " + k + " at 0x"
                                + Long.toHexString(o.virtStart()) + ")";
                    }
                }
                throw new HypervisorException(Errno.EINVAL, what + " leaves " + region + beyond);
            }
            return r;
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
    List<String> start() throws HypervisorException {
        park();
        reconfigPending.set(false); // its inmate starts over with the configuration as it is
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
        SystemConfig system = hypervisor.systemConfig();
        comm.initialize(flags, config.console(), system.platform().pciMmconfigBase(),
                system.x86().pmTimerAddress(), vcpus.size(), tscKhz, APIC_KHZ);
        loadable = false;
        failedCpus.set(0);
        hypervisor.print("Started cell \"" + name() + "\"\n");
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

    /** Stops the CPUs and releases the VM; the cell's RAM is cleared for whoever gets it next. */
    void destroy() {
        destroyed = true;
        for (Vcpu v : vcpus) {
            v.exit();
        }
        if (pm1 != null) {
            pm1.close(); // before the VM goes: it drives one of its lines
        }
        for (IvshmemDevice d : ivshmem) {
            d.link().detach(d);
            hypervisor.doorbells().forget(d);
            hypervisor.dropIvshmemLinkIfUnused(d.link());
        }
        for (Vcpu v : vcpus) {
            v.close();
        }
        vmClosing = true;
        while (msiInFlight.get() != 0) {
            Thread.onSpinWait();
        }
        try {
            vm.close();
        } catch (NativeException e) {
            hypervisor.print("Closing VM of cell \"" + name() + "\" failed: " + e.getMessage() + "\n");
        }
        commPage.close(); // a reader that still holds the cell gets an IllegalStateException, not a crash
        List<MemoryRegion> own = new ArrayList<>();
        for (MemoryRegion r : ram) {
            if (!r.has(MemoryRegion.ROOTSHARED) && !hypervisor.sharedWithOtherCell(this, r)) {
                own.add(r);
            }
        }
        try {
            hypervisor.reservedMemory().clear(own);
        } catch (NativeException e) {
            hypervisor.print("Clearing memory of cell \"" + name() + "\" failed: " + e.getMessage() + "\n");
        }
    }

    KvmVm vm() {
        return vm;
    }

    boolean destroyed() {
        return destroyed;
    }

    KvmHypervisor hypervisor() {
        return hypervisor;
    }

    /** The vCPU of logical CPU {@code cpu} if this cell has it, else null. */
    Vcpu vcpuOf(long cpu) {
        return cpu >= 0 && cpu < vcpuByCpu.length ? vcpuByCpu[(int) cpu] : null;
    }

    int memorySlots() {
        return memorySlots;
    }

    /** Pages of reserved memory this cell holds. */
    long ramPages() {
        long pages = 0;
        for (MemoryRegion r : ram) {
            pages += r.size() / MemoryRegion.PAGE_SIZE;
        }
        return pages;
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
        if (config.hasFlag(CellConfig.PASSIVE_COMMREG)) {
            return true;
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
                    park();
                    comm.setState(CommRegion.STATE_FAILED);
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

    // ---- called on vCPU threads, outside the exit loop

    /** Hands a failure report to the hypervisor console. */
    void report(String text) {
        hypervisor.print(text);
    }

    /** A CPU failed; when all have, the cell is FAILED (spec 8). */
    void cpuFailed(Vcpu vcpu) {
        if (failedCpus.incrementAndGet() >= vcpus.size()) {
            comm.setState(CellState.FAILED.code());
        }
    }

    /**
     * Whether guest memory at {@code linear} holds these bytes, reading RAM as
     * identity-mapped (true for inmates, which map guest memory 1:1).
     */
    boolean isInstruction(long linear, int b0, int b1, int b2) {
        ReservedMemory memory = hypervisor.reservedMemory();
        for (MemoryRegion r : ram) {
            if (linear >= r.virtStart() && linear + 3 <= r.virtStart() + r.size()) {
                long phys = r.physStart() + (linear - r.virtStart());
                MemorySegment s = memory.slice(phys, 3);
                return (s.get(ValueLayout.JAVA_BYTE, 0) & 0xff) == b0 && (s.get(ValueLayout.JAVA_BYTE, 1) & 0xff) == b1
                        && (s.get(ValueLayout.JAVA_BYTE, 2) & 0xff) == b2;
            }
        }
        return false;
    }

    List<MemoryRegion> ram() {
        return ram;
    }
}
