package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static io.jailhouse.hypervisor.pci.Fixtures.MMCONFIG;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.device.AllocationMeter;
import io.jailhouse.hypervisor.device.MmioBus;
import io.jailhouse.hypervisor.device.MmioDevice;
import io.jailhouse.hypervisor.device.MmioWindowTable;
import io.jailhouse.hypervisor.device.PioBus;
import io.jailhouse.hypervisor.device.PioDevice;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * What vCPU threads call for PCI must not allocate (architecture section 4):
 * config accesses through the ports and MMCONFIG, register and MSI-X
 * accesses found through the window table, doorbells (plain and one-shot),
 * state changes and the routing callbacks they fire.
 */
class PciHotPathAllocationTest {
    private static final int ROUNDS = 100_000;

    /** Counts routing events without allocating. */
    private static final class CountingRouting implements DoorbellRouting {
        long updates;
        long moves;

        @Override
        public void update(IvshmemDevice target, int vector, boolean wired, long msiAddress, int msiData) {
            updates++;
        }

        @Override
        public void doorbellMoved(IvshmemDevice sender, long doorbellAddress) {
            moves++;
        }
    }

    @Test
    void configRegisterAndDoorbellPathsDoNotAllocate() {
        AllocationMeter meter = AllocationMeter.get();

        CountingRouting routing = new CountingRouting();
        IvshmemLink link = new IvshmemLink(BDF, routing);
        MemorySegment table = Fixtures.page();
        Fixtures.Peer a = new Fixtures.Peer(Fixtures.peerCell(0, 2, 4), link, table, Fixtures.cpus(1));
        Fixtures.Peer b = new Fixtures.Peer(Fixtures.peerCell(1, 2, 4), link, table, Fixtures.cpus(2));
        link.attach(a.device);
        link.attach(b.device);
        for (Fixtures.Peer p : new Fixtures.Peer[] {a, b}) {
            p.device.reset();
            p.enable(0xff000000L);
        }
        a.enableInterrupts(1);
        b.enableInterrupts(2);
        PioBus pio = PioBus.builder().add(PciConfigPorts.BASE, PciConfigPorts.COUNT, a.space.ports()).build();
        MmioBus mmio = MmioBus.builder().add(MMCONFIG, a.space.mmconfig().size(), a.space.mmconfig()).build();

        long[] sink = {0};
        long allocated = meter.bytesAfterWarmUp(() -> exits(a, b, pio, mmio), sink);

        assertThat(sink[0]).isNotZero();
        assertThat(b.sink.count).as("doorbells and state changes delivered").isGreaterThan(2 * ROUNDS);
        assertThat(routing.updates).as("INT_CONTROL toggles re-wire").isGreaterThan(2L * ROUNDS);
        assertThat(allocated).as("bytes allocated by %d rounds of exits", ROUNDS).isLessThan(16 * 1024);
    }

    /** Counts rings to peers in other processes without allocating. */
    private static final class CountingRemote implements IvshmemLink.RemotePeers {
        long rung;

        @Override
        public void ring(int target, int vector) {
            rung++;
        }
    }

    @Test
    void ringsToPeersInOtherProcessesDoNotAllocate() {
        AllocationMeter meter = AllocationMeter.get();

        CountingRemote remote = new CountingRemote();
        IvshmemLink link = new IvshmemLink(BDF, new CountingRouting(), remote);
        Fixtures.Peer cell = new Fixtures.Peer(Fixtures.peerCell(1, 3, 4), link, Fixtures.page(), Fixtures.cpus(2));
        link.attach(cell.device);
        cell.device.reset();
        cell.enable(0xff000000L);
        cell.enableInterrupts(2);

        long allocated = meter.bytesAfterWarmUp(() -> {
            MmioDevice regs = cell.device.registers();
            for (int i = 0; i < ROUNDS; i++) {
                regs.write(IvshmemDevice.REG_DOORBELL, 4, i & 3); // rings peer 0, in another process
                regs.write(IvshmemDevice.REG_STATE, 4, i); // vector 0 to peers 0 and 2
            }
            return remote.rung;
        }, new long[1]);

        assertThat(remote.rung).as("doorbells and state changes to the other peers").isGreaterThan(3L * ROUNDS);
        assertThat(allocated).as("bytes allocated by %d rounds", ROUNDS).isLessThan(16 * 1024);
    }

    /** What a vCPU loop does for these exits: bus lookup, window lookup, accepts, access. */
    private static long exits(Fixtures.Peer a, Fixtures.Peer b, PioBus pio, MmioBus mmio) {
        long sink = 0;
        long cfg = MMCONFIG + ((long) BDF << 12);
        for (int i = 0; i < ROUNDS; i++) {
            // config space through 0xcf8/0xcfc: latch, read the class, write the command (same value)
            PioDevice addr = pio.deviceFor(0xcf8, 4);
            if (addr.accepts(0xcf8, 4, true)) {
                addr.write(0xcf8, 4, 0x8000_0000 | BDF << 8 | 0x08);
            }
            PioDevice data = pio.deviceFor(0xcfc, 4);
            if (data.accepts(0xcfc, 4, false)) {
                sink += data.read(0xcfc, 4);
            }
            addr.write(0xcf8, 4, 0x8000_0000 | BDF << 8 | 0x04);
            PioDevice cmd = pio.deviceFor(0xcfc, 2);
            if (cmd.acceptsWrite(0xcfc, 2, Pci.CMD_MEM | Pci.CMD_MASTER)) {
                cmd.write(0xcfc, 2, Pci.CMD_MEM | Pci.CMD_MASTER);
            }
            addr.write(0xcf8, 4, 0x8000_0000 | 0xf8 << 8); // an absent function
            sink += pio.deviceFor(0xcfe, 2).read(0xcfe, 2);
            // MMCONFIG: read the vendor cap, a refused write (only its check), an accepted one
            int k = mmio.indexOf(cfg + 0x40, 4);
            MmioDevice mc = mmio.device(k);
            sink += mc.read(cfg + 0x40 - mmio.base(k), 4);
            if (!mc.acceptsWrite(cfg - mmio.base(k), 4, 0)) {
                sink++;
            }
            if (mc.acceptsWrite(cfg + 0x3c - mmio.base(k), 1, 5)) {
                mc.write(cfg + 0x3c - mmio.base(k), 1, 5);
            }
            // BAR0 registers through the window table
            MmioWindowTable.Windows w = a.windows.current();
            int r = w.indexOf(0xff000000L, 4);
            MmioDevice regs = w.device(r);
            sink += regs.read(0xff000000L - w.base(r), 4); // ID
            regs.write(IvshmemDevice.REG_DOORBELL, 4, 1 << 16 | (i & 3)); // doorbell to peer 1
            regs.write(IvshmemDevice.REG_STATE, 4, i); // state change: vector 0 to peer 1
            // peer 1 toggles INT_CONTROL (re-wiring) and touches its MSI-X table
            MmioDevice bregs = b.device.registers();
            bregs.write(IvshmemDevice.REG_INT_CONTROL, 4, 0);
            bregs.write(IvshmemDevice.REG_INT_CONTROL, 4, 1);
            MmioWindowTable.Windows bw = b.windows.current();
            int m = bw.indexOf(0xff001018L, 4);
            MmioDevice msix = bw.device(m);
            long off = 0xff001018L - bw.base(m);
            if (msix.accepts(off, 4, false)) {
                sink += msix.read(off, 4);
            }
            if (msix.acceptsWrite(off, 4, 0x21)) {
                msix.write(off, 4, 0x21);
            }
            // one-shot doorbells every 64th round
            if ((i & 63) == 0) {
                b.device.writeConfig(IvshmemDevice.VENDOR_CAP + 3, 1, 1);
                regs.write(IvshmemDevice.REG_DOORBELL, 4, 1 << 16 | 2);
                regs.write(IvshmemDevice.REG_DOORBELL, 4, 1 << 16 | 2);
                b.device.writeConfig(IvshmemDevice.VENDOR_CAP + 3, 1, 0);
                bregs.write(IvshmemDevice.REG_INT_CONTROL, 4, 1);
            }
        }
        return sink;
    }
}
