package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.Architecture;
import io.jailhouse.config.Bitmap;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.Console;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciCapability;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/** Configs, peers and recorders shared by the PCI tests (and the supervisor's, through the test jar). */
public final class Fixtures {
    static final Path CONFIGS = Path.of("..", "configs", "x86");
    /** The ivshmem-demo link, 01:0e.0. */
    public static final int BDF = 0x0170;
    static final long SHMEM = 0x3f0f0000L;
    static final long OUT_SIZE = 0x2000;
    static final long RW_SIZE = 0x9000;
    static final long MMCONFIG = 0xb0000000L;
    static final long READ = MemoryRegion.READ;
    static final long WRITE = MemoryRegion.WRITE;
    static final long RS = MemoryRegion.ROOTSHARED;

    private Fixtures() {
    }

    public static CellConfig readCell(String name) {
        try {
            return ConfigFiles.read(CONFIGS.resolve(name + ".yaml"), CellConfig.class);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static CellConfig rootCell() {
        try {
            return ConfigFiles.read(CONFIGS.resolve("qemu-vm.yaml"), SystemConfig.class).rootCell();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** State table, R/W section and {@code peers} output sections from {@link #SHMEM}, as ivshmem-demo lays them out. */
    public static List<MemoryRegion> shmemRegions(int id, int peers, long rwSize, long outSize) {
        List<MemoryRegion> r = new ArrayList<>();
        r.add(new MemoryRegion(SHMEM, SHMEM, 0x1000, READ | RS));
        r.add(rwSize == 0 ? MemoryRegion.EMPTY : new MemoryRegion(SHMEM + 0x1000, SHMEM + 0x1000, rwSize,
                READ | WRITE | RS));
        long out = SHMEM + 0x1000 + rwSize;
        for (int k = 0; k < peers; k++) {
            r.add(outSize == 0 ? MemoryRegion.EMPTY : new MemoryRegion(out + k * outSize, out + k * outSize, outSize,
                    READ | RS | (k == id ? WRITE : 0)));
        }
        return r;
    }

    public static PciDevice ivshmem(int bdf, int id, int peers, int vectors, int protocol) {
        return new PciDevice(PciDevice.TYPE_IVSHMEM, 0, 0, bdf,
                vectors > 0 ? PciDevice.IVSHMEM_BAR_MASK_MSIX : PciDevice.IVSHMEM_BAR_MASK_INTX, 0, 0, 0, 0, vectors,
                0, 0, 0, id, peers, protocol);
    }

    public static CellConfig cell(String name, int cpu, List<MemoryRegion> regions, List<PciDevice> devices,
            List<PciCapability> caps) {
        List<MemoryRegion> all = new ArrayList<>(regions);
        all.add(new MemoryRegion(0x3ee00000L, 0, 0x100000, READ | WRITE | MemoryRegion.EXECUTE
                | MemoryRegion.LOADABLE));
        all.add(new MemoryRegion(0, 0x100000, 0x1000, READ | WRITE | MemoryRegion.COMM_REGION));
        return new CellConfig(Architecture.X86, name, 0, CellConfig.PASSIVE_COMMREG, Bitmap.ofWords(cpu), all,
                List.of(), List.of(), List.of(), devices, caps, List.of(), 0, 0xffff0, 0, Console.NONE);
    }

    /** A cell on CPU {@code id + 1} that is peer {@code id} of a link at {@link #BDF}. */
    public static CellConfig peerCell(int id, int peers, int vectors) {
        return cell("peer" + id, id + 1, shmemRegions(id, peers, RW_SIZE, OUT_SIZE),
                List.of(ivshmem(BDF, id, peers, vectors, 0)), List.of());
    }

    public static MemorySegment page() {
        return Arena.ofAuto().allocate(0x1000, 0x1000);
    }

    public static int stateEntry(MemorySegment table, int id) {
        return table.get(ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * id);
    }

    public static BitSet cpus(int... ids) {
        BitSet b = new BitSet();
        for (int i : ids) {
            b.set(i);
        }
        return b;
    }

    /** Counts MSIs without allocating; keeps the last one. */
    static final class Sink implements MsiSink {
        int count;
        long address;
        int data;

        @Override
        public void deliver(long address, int data) {
            count++;
            this.address = address;
            this.data = data;
        }
    }

    /** Records routing events as text (allocates: not for the allocation test). */
    static final class Routing implements DoorbellRouting {
        final List<String> events = new ArrayList<>();

        @Override
        public void update(IvshmemDevice target, int vector, boolean wired, long msiAddress, int msiData) {
            events.add(wired ? String.format("wire %d.%d 0x%x/0x%x", target.peerId(), vector, msiAddress, msiData)
                    : String.format("unwire %d.%d", target.peerId(), vector));
        }

        @Override
        public void doorbellMoved(IvshmemDevice sender, long doorbellAddress) {
            events.add(String.format("doorbell %d %s", sender.peerId(),
                    doorbellAddress < 0 ? "gone" : "0x" + Long.toHexString(doorbellAddress)));
        }

        List<String> take() {
            List<String> e = List.copyOf(events);
            events.clear();
            return e;
        }
    }

    /** One peer: its cell, device, window table, sink and config space. */
    static final class Peer {
        final CellConfig cell;
        final IvshmemDevice device;
        final MmioWindowTable windows = new MmioWindowTable();
        final Sink sink = new Sink();
        final PciConfigSpace space;

        Peer(CellConfig cell, IvshmemLink link, MemorySegment stateTable, BitSet cpus) {
            this.cell = cell;
            this.device = new IvshmemDevice(cell, 0, link, stateTable, sink, cpus, windows);
            this.space = new PciConfigSpace(cell.name(), List.of(device), MMCONFIG, 0xff);
        }

        int cfg(int reg, int size) {
            return space.read(BDF, reg, size);
        }

        void cfgWrite(int reg, int size, int value) {
            if (!space.acceptsWrite(BDF, reg, size, value)) {
                throw new AssertionError(String.format("config write 0x%x to 0x%x refused", value, reg));
            }
            space.write(BDF, reg, size, value);
        }

        /** Maps BAR0 at {@code bar0}, BAR1 at {@code bar0 + 0x1000}, sets MEM|MASTER. */
        void enable(long bar0) {
            cfgWrite(Pci.BAR0, 4, (int) bar0);
            cfgWrite(Pci.BAR0 + 4, 4, (int) bar0 + 0x1000);
            cfgWrite(Pci.COMMAND, 2, Pci.CMD_MEM | Pci.CMD_MASTER);
        }

        /** MSI-X on, entry v = (0xfee00000 | cpu << 12, data 0x20 + v), unmasked, INT_CONTROL 1. */
        void enableInterrupts(int cpu) {
            for (int v = 0; v < device.vectors(); v++) {
                msix(16 * v, 0xfee00000 | cpu << 12);
                msix(16 * v + 4, 0);
                msix(16 * v + 8, 0x20 + v);
                msix(16 * v + 12, 0);
            }
            cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, (device.vectors() - 1) | Pci.MSIX_CTRL_ENABLE);
            reg(IvshmemDevice.REG_INT_CONTROL, 1);
        }

        MmioDevice at(long address, int size) {
            var w = windows.current();
            int i = w.indexOf(address, size);
            return i < 0 ? null : w.device(i);
        }

        long bar0() {
            return windows.baseOf(device, 0);
        }

        long bar1() {
            return windows.baseOf(device, 1);
        }

        long reg(int offset) {
            return device.registers().read(offset, 4);
        }

        void reg(int offset, int value) {
            device.registers().write(offset, 4, value & 0xffff_ffffL);
        }

        void msix(int offset, int value) {
            MmioDevice m = device.msixRegion();
            if (!m.acceptsWrite(offset, 4, value & 0xffff_ffffL)) {
                throw new AssertionError(String.format("MSI-X write 0x%x at 0x%x refused", value, offset));
            }
            m.write(offset, 4, value & 0xffff_ffffL);
        }
    }
}
