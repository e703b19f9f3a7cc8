package io.jailhouse.hypervisor.pci;

import static io.jailhouse.hypervisor.pci.Fixtures.BDF;
import static io.jailhouse.hypervisor.pci.IvshmemDevice.REG_INT_CONTROL;
import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.hypervisor.pci.Fixtures.Peer;
import io.jailhouse.hypervisor.pci.Fixtures.Routing;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The routing callbacks the KVM side wires ioeventfds and irqfds from: one event per real change. */
class DoorbellRoutingTest {
    private final Routing routing = new Routing();
    private final MemorySegment table = Fixtures.page();
    private IvshmemLink link;
    private Peer p0;
    private Peer p1;

    @BeforeEach
    void setUp() {
        link = new IvshmemLink(BDF, routing);
        p0 = new Peer(Fixtures.peerCell(0, 2, 2), link, table, Fixtures.cpus(1));
        p1 = new Peer(Fixtures.peerCell(1, 2, 2), link, table, Fixtures.cpus(2));
        link.attach(p0.device);
        link.attach(p1.device);
        p0.device.reset();
        p1.device.reset();
        assertThat(routing.take()).as("a fresh device is unwired and undecoded: nothing to say").isEmpty();
    }

    @Test
    void doorbellAddressFollowsBar0() {
        p1.enable(0xff000000L);
        assertThat(routing.take()).containsExactly("doorbell 1 0xff00000c");
        p1.cfgWrite(Pci.BAR0, 4, 0xfe000000);
        p1.cfgWrite(Pci.BAR0 + 4, 4, 0xfe100000); // BAR1 moving does not move the doorbell
        assertThat(routing.take()).containsExactly("doorbell 1 0xfe00000c");
        p1.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MASTER);
        assertThat(routing.take()).containsExactly("doorbell 1 gone");
    }

    @Test
    void everyConditionOfDeliveryFiresAChange() {
        p1.enable(0xff000000L);
        routing.take();
        p1.enableInterrupts(2); // entries while MSI-X is off, then MSI-X on, then INT_CONTROL
        assertThat(routing.take()).containsExactly("wire 1.0 0xfee02000/0x20", "wire 1.1 0xfee02000/0x21");

        p1.msix(16 + 8, 0x31);
        assertThat(routing.take()).containsExactly("wire 1.1 0xfee02000/0x31");
        p1.msix(16 + 8, 0x31);
        p1.msix(16 + 4, 0);
        assertThat(routing.take()).as("same values").isEmpty();
        p1.msix(16 + 12, 1);
        assertThat(routing.take()).containsExactly("unwire 1.1");
        p1.msix(16 + 12, 0);
        assertThat(routing.take()).containsExactly("wire 1.1 0xfee02000/0x31");

        p1.reg(REG_INT_CONTROL, 0);
        assertThat(routing.take()).containsExactly("unwire 1.0", "unwire 1.1");
        p1.reg(REG_INT_CONTROL, 0);
        assertThat(routing.take()).isEmpty();
        p1.reg(REG_INT_CONTROL, 1);
        assertThat(routing.take()).containsExactly("wire 1.0 0xfee02000/0x20", "wire 1.1 0xfee02000/0x31");

        p1.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, 1 | Pci.MSIX_CTRL_ENABLE | Pci.MSIX_CTRL_FMASK);
        assertThat(routing.take()).containsExactly("unwire 1.0", "unwire 1.1");
        p1.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, 1);
        assertThat(routing.take()).as("still off: disabled now").isEmpty();
        p1.cfgWrite(IvshmemDevice.MSIX_CAP + 2, 2, 1 | Pci.MSIX_CTRL_ENABLE);
        assertThat(routing.take()).hasSize(2);

        p1.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MEM);
        assertThat(routing.take()).containsExactly("unwire 1.0", "unwire 1.1");
        p1.cfgWrite(Pci.COMMAND, 2, Pci.CMD_MEM | Pci.CMD_MASTER);
        assertThat(routing.take()).hasSize(2);

        p1.cfgWrite(IvshmemDevice.VENDOR_CAP + 3, 1, 1);
        assertThat(routing.take()).as("one-shot mode is Java's").containsExactly("unwire 1.0", "unwire 1.1");
        p1.reg(REG_INT_CONTROL, 1);
        p0.enable(0xff000000L);
        routing.take();
        p0.reg(IvshmemDevice.REG_DOORBELL, 1 << 16 | 1);
        assertThat(p1.sink.count).isEqualTo(1);
        assertThat(routing.take()).as("the one-shot clear changes no wiring").isEmpty();
        p1.cfgWrite(IvshmemDevice.VENDOR_CAP + 3, 1, 0);
        assertThat(routing.take()).as("INT_CONTROL was cleared by the shot").isEmpty();
        p1.reg(REG_INT_CONTROL, 1);
        assertThat(routing.take()).hasSize(2);
    }

    @Test
    void theWiredFlagMatchesWhatTheJavaPathWouldDeliver() {
        p0.enable(0xff000000L);
        p1.enable(0xff000000L);
        p1.enableInterrupts(2);
        for (int v = 0; v < 2; v++) {
            assertThat(p1.device.wired(v)).isTrue();
            int before = p1.sink.count;
            p0.reg(IvshmemDevice.REG_DOORBELL, 1 << 16 | v);
            assertThat(p1.sink.count).isEqualTo(before + 1);
        }
        p1.msix(12, 1);
        assertThat(p1.device.wired(0)).isFalse();
        int before = p1.sink.count;
        p0.reg(IvshmemDevice.REG_DOORBELL, 1 << 16);
        assertThat(p1.sink.count).isEqualTo(before);
    }

    @Test
    void resetAndDetachUnwireAndRemoveTheDoorbell() {
        p1.enable(0xff000000L);
        p1.enableInterrupts(2);
        routing.take();
        p1.device.reset();
        assertThat(routing.take()).containsExactly("doorbell 1 gone", "unwire 1.0", "unwire 1.1");

        p1.enable(0xff000000L);
        p1.enableInterrupts(2);
        routing.take();
        link.detach(p1.device);
        assertThat(routing.take()).containsExactly("doorbell 1 gone", "unwire 1.0", "unwire 1.1");
        assertThat(link.peer(1)).isNull();
    }
}
