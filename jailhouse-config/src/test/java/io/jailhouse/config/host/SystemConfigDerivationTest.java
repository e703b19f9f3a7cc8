package io.jailhouse.config.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.Console;
import io.jailhouse.config.IommuUnit;
import io.jailhouse.config.Irqchip;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.config.PciCapability;
import io.jailhouse.config.PciDevice;
import io.jailhouse.config.PioRange;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.config.X86Platform;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code config create}'s derivation on a fake QEMU q35 host (src/test/resources/hosts/q35). */
class SystemConfigDerivationTest {
    static final long RWXD = MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.EXECUTE | MemoryRegion.DMA;
    static final long RW = MemoryRegion.READ | MemoryRegion.WRITE;

    @TempDir
    Path dir;

    private SystemConfigDerivation.Result derive(FakeHostTree host) throws HostDataException {
        return derive(host, DerivationOptions.defaults());
    }

    private SystemConfigDerivation.Result derive(FakeHostTree host, DerivationOptions options) throws HostDataException {
        return SystemConfigDerivation.derive(HostInventory.read(host.hostRoot(), options.console()), options);
    }

    private static MemoryRegion region(long start, long size, long flags) {
        return new MemoryRegion(start, start, size, flags);
    }

    @Test
    void q35WithoutReservation() throws Exception {
        SystemConfigDerivation.Result r = derive(FakeHostTree.copy("q35", dir));
        SystemConfig c = r.config();
        CellConfig root = c.rootCell();

        assertThat(root.name()).isEqualTo("RootCell");
        assertThat(c.flags()).isEqualTo(SystemConfig.VIRTUAL_DEBUG_CONSOLE);
        assertThat(root.cpus().toRangeList()).isEqualTo("0-3");
        assertThat(root.cpus().sizeBytes()).isEqualTo(8);
        assertThat(c.hypervisorMemory()).isEqualTo(new MemoryRegion(0x3a000000L, 0, 0x600000, 0));
        assertThat(c.debugConsole()).isEqualTo(new Console(0x3f8, 0, Console.TYPE_8250, 0, 0, 0, 0));

        assertThat(root.memoryRegions()).containsExactly(
                region(0x0, 0xa0000, RWXD),                 // first RAM, extended down from 0x1000
                region(0xa0000, 0x20000, RW),               // legacy VGA window
                region(0xc0000, 0x20000, RW),               // option ROMs folded
                region(0x100000, 0x39f00000L, RWXD),        // RAM below hypervisor memory
                region(0x3a600000L, 0x4c00000L, RW),        // JAILHOUSE Inmate Memory
                region(0x3f200000L, 0xdd8000L, RWXD),       // RAM above it
                region(0x3ffd8000L, 0x4000, RW),            // ACPI Tables
                region(0x3ffdc000L, 0x4000, RW),            // ACPI NVS
                region(0xfd000000L, 0x1000000, RW),         // VGA framebuffer
                region(0xfebc0000L, 0x20000, RW),           // e1000e 00:02.0 BAR0
                region(0xfebe1000L, 0x3000, RW),            // its BAR3 without the MSI-X table page
                region(0xfebe5000L, 0x3000, RW),            // 00:03.0 BAR3 without the MSI-X table page
                region(0xfebf0000L, 0x1000, RW),            // VGA registers
                region(0xfebf1000L, 0x1000, RW),            // AHCI
                region(0xfed00000L, 0x1000, RW),            // HPET
                region(0x800000000L, 0x20000, RW));         // 00:03.0 64-bit BAR0
        assertThat(r.regionNames().get(4)).isEqualTo("JAILHOUSE Inmate Memory");
        assertThat(r.regionNames().get(6)).isEqualTo("ACPI Tables");
        assertThat(r.notes()).anyMatch(n -> n.contains("no memmap= reservation") && n.contains("0x3a000000")
                && n.contains("0x3a600000"));

        assertThat(root.pioRegions()).containsExactly(
                new PioRange(0x40, 4), new PioRange(0x60, 1), new PioRange(0x64, 1), new PioRange(0x70, 8),
                new PioRange(0x2f8, 8), new PioRange(0x3c0, 0x20), new PioRange(0x3f8, 8),
                new PioRange(0xc000, 0x20), new PioRange(0xc020, 0x20), new PioRange(0xc040, 0x20));
        assertThat(r.notes()).anyMatch(n -> n.contains("not granted") && n.contains("0x0-0x1f dma1")
                && n.contains("ACPI PM_TMR") && !n.contains("PCI conf1"));

        X86Platform x86 = c.x86();
        assertThat(x86.pmTimerAddress()).isEqualTo(0x608);
        assertThat(x86.apicMode()).isEqualTo(X86Platform.APIC_MODE_AUTO);
        assertThat(x86.vtdInterruptLimit()).isEqualTo(256); // 120 + 5 + 5 + 1 + 1 = 132
        assertThat(x86.tscKhz()).isZero();
        assertThat(c.platform().pciMmconfigBase()).isEqualTo(0xb0000000L);
        assertThat(c.platform().pciMmconfigEndBus()).isEqualTo(0xff);
        assertThat(c.platform().iommuUnits()).allMatch(IommuUnit::isUnused);

        assertThat(root.irqchips()).hasSize(1);
        Irqchip ioapic = root.irqchips().getFirst();
        assertThat(ioapic.address()).isEqualTo(0xfec00000L);
        assertThat(ioapic.pinBitmap().count()).isEqualTo(128);
    }

    @Test
    void q35PciDevicesAndSharedCapabilities() throws Exception {
        CellConfig root = derive(FakeHostTree.copy("q35", dir)).config().rootCell();
        List<PciDevice> devs = root.pciDevices();
        assertThat(devs).extracting(d -> PciDevice.formatBdf(d.bdf()))
                .containsExactly("00:00.0", "00:01.0", "00:02.0", "00:03.0", "00:1c.0", "00:1f.0", "00:1f.2",
                        "00:1f.3"); // 00:1e.0 answers all ones and is left out
        PciDevice vga = devs.get(1);
        assertThat(vga.barMask()).containsExactly(0xff000000L, 0L, 0xfffff000L, 0L, 0L, 0L);
        assertThat(vga.numCaps()).isZero();

        PciDevice nic = devs.get(2);
        assertThat(nic.type()).isEqualTo(PciDevice.TYPE_DEVICE);
        assertThat(nic.barMask()).containsExactly(0xfffe0000L, 0L, 0xffffffe0L, 0xffffc000L, 0L, 0L);
        assertThat(nic.capsStart()).isZero();
        assertThat(nic.numCaps()).isEqualTo(6);
        assertThat(nic.numMsiVectors()).isEqualTo(1);
        assertThat(nic.msi64Bits()).isTrue();
        assertThat(nic.msiMaskable()).isFalse();
        assertThat(nic.numMsixVectors()).isEqualTo(5);
        assertThat(nic.msixRegionSize()).isEqualTo(0x1000);
        assertThat(nic.msixAddress()).isEqualTo(0xfebe0000L);

        PciDevice nic2 = devs.get(3);
        assertThat(nic2.barMask()).containsExactly(0xfffe0000L, 0xffffffffL, 0xffffffe0L, 0xffffc000L, 0L, 0L);
        assertThat(nic2.capsStart()).isZero(); // same capability list as 00:02.0: shared
        assertThat(nic2.msixAddress()).isEqualTo(0xfebe4000L);

        PciDevice port = devs.get(4);
        assertThat(port.type()).isEqualTo(PciDevice.TYPE_BRIDGE);
        assertThat(port.capsStart()).isEqualTo(6);
        assertThat(port.numCaps()).isEqualTo(5);

        PciDevice ahci = devs.get(6);
        assertThat(ahci.capsStart()).isEqualTo(11);
        assertThat(ahci.barMask()).containsExactly(0L, 0L, 0L, 0L, 0xffffffe0L, 0xfffff000L);
        assertThat(devs.get(7).barMask()).containsExactly(0L, 0L, 0L, 0L, 0xffffffc0L, 0L);

        int ext = PciCapability.EXT_CAP;
        int w = PciCapability.WRITE;
        assertThat(root.pciCaps()).containsExactly(
                new PciCapability(0x01, 0xc8, 8, w),        // PM
                new PciCapability(0x05, 0xd0, 14, w),       // MSI, 64-bit
                new PciCapability(0x10, 0xe0, 20, 0),       // PCIe v1
                new PciCapability(0x11, 0xa0, 12, w),       // MSI-X
                new PciCapability(0x01 | ext, 0x100, 64, 0), // AER
                new PciCapability(0x03 | ext, 0x140, 12, 0), // DSN
                new PciCapability(0x10, 0x40, 60, 0),       // PCIe v2
                new PciCapability(0x05, 0x80, 10, w),       // MSI, 32-bit
                new PciCapability(0x0d, 0x90, 2, 0),        // unknown to the hypervisor: header only
                new PciCapability(0x01, 0xa0, 8, w),
                new PciCapability(0x0d | ext, 0x100, 12, 0), // ACS plus one dword of egress vector
                new PciCapability(0x05, 0x80, 14, w),
                new PciCapability(0x12, 0xa8, 2, 0));
    }

    @Test
    void memmapReservationIsUsed() throws Exception {
        // As Linux shows RAM it was told to leave alone: split out as "Reserved".
        FakeHostTree host = FakeHostTree.copy("q35", dir)
                .write("/proc/cmdline", "root=/dev/sda1 memmap=82M$0x20000000 quiet\n");
        String iomem = host.read("/proc/iomem");
        host.write("/proc/iomem", iomem.replace("  031c4000-035fffff : Kernel bss\n",
                "  031c4000-035fffff : Kernel bss\n20000000-251fffff : Reserved\n25200000-3ffd7fff : System RAM\n")
                .replace("00100000-3ffd7fff : System RAM\n", "00100000-1fffffff : System RAM\n"));
        SystemConfigDerivation.Result r = derive(host);
        SystemConfig c = r.config();
        assertThat(c.hypervisorMemory().physStart()).isEqualTo(0x20000000L);
        assertThat(c.hypervisorMemory().size()).isEqualTo(6L << 20);
        List<MemoryRegion> regions = c.rootCell().memoryRegions();
        assertThat(regions).contains(
                region(0x100000, 0x1ff00000, RWXD),
                region(0x20600000L, 76L << 20, RW),
                region(0x25200000L, 0x3ffd8000L - 0x25200000L, RWXD));
        assertThat(regions).noneMatch(m -> m.overlapsPhys(new MemoryRegion(0x20000000L, 0, 6L << 20, 0)));
        assertThat(r.notes()).anyMatch(n -> n.contains("memmap=0x5200000$0x20000000 reservation"));
        assertThat(r.notes()).anyMatch(n -> n.contains("does not cover 0x3a600000-0x3f1fffff"));
    }

    @Test
    void memmapReservationTooSmall() {
        FakeHostTree host = FakeHostTree.copy("q35", dir).write("/proc/cmdline", "memmap=64M$0x20000000\n");
        assertThatThrownBy(() -> derive(host)).isInstanceOf(HostDataException.class)
                .hasMessageContaining("memmap=0x4000000$0x20000000")
                .hasMessageContaining("need 0x5200000");
    }

    @Test
    void windowOverlappingDeviceMemoryIsRefused() {
        FakeHostTree host = FakeHostTree.copy("q35", dir).write("/proc/cmdline", "memmap=82M$0x3b000000\n");
        assertThatThrownBy(() -> derive(host)).isInstanceOf(HostDataException.class)
                .hasMessageContaining("would overlap 0x3ffd8000-0x3ffdbfff ACPI Tables");
    }

    @Test
    void smallerInmateWindowIsNoted() throws Exception {
        SystemConfigDerivation.Result r = derive(FakeHostTree.copy("q35", dir),
                new DerivationOptions(6L << 20, 16L << 20, "ttyS0"));
        assertThat(r.config().rootCell().memoryRegions()).contains(region(0x3a600000L, 16L << 20, RW));
        assertThat(r.notes()).anyMatch(n -> n.contains("does not cover"));
    }

    @Test
    void noPmTimerLeavesZeroAndSaysSo() throws Exception {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        host.write("/proc/ioports", host.read("/proc/ioports").replace("    0608-060b : ACPI PM_TMR\n", ""));
        SystemConfigDerivation.Result r = derive(host);
        assertThat(r.config().x86().pmTimerAddress()).isZero();
        assertThat(r.notes()).anyMatch(n -> n.contains("no 'ACPI PM_TMR'") && n.contains("left 0"));
    }

    @Test
    void twoPmTimersAreAnError() {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        host.write("/proc/ioports", host.read("/proc/ioports").replace("    0608-060b : ACPI PM_TMR\n",
                "    0608-060b : ACPI PM_TMR\n    0640-0643 : ACPI PM_TMR\n"));
        assertThatThrownBy(() -> derive(host)).hasMessageContaining("2 'ACPI PM_TMR' entries");
    }

    @Test
    void refusesWhileEnabled() {
        FakeHostTree host = FakeHostTree.copy("q35", dir).write("/run/jailhouse/control.sock", "");
        assertThatThrownBy(() -> derive(host)).isInstanceOf(HostDataException.class)
                .hasMessageContaining("control.sock: exists, so the hypervisor is enabled");
    }

    @Test
    void hiddenAddressesAskForRoot() {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        host.write("/proc/iomem", host.read("/proc/iomem").replaceAll("[0-9a-f]+-[0-9a-f]+ :", "00000000-00000000 :"));
        assertThatThrownBy(() -> derive(host)).hasMessageContaining("iomem: shows no addresses")
                .hasMessageContaining("run as root");
    }

    @Test
    void consoleChoices() throws Exception {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        assertThat(derive(host, new DerivationOptions(6L << 20, 76L << 20, "none")).config().debugConsole())
                .isEqualTo(Console.NONE);
        assertThatThrownBy(() -> derive(host, new DerivationOptions(6L << 20, 76L << 20, "ttyS7")))
                .hasMessageContaining("ttyS7: no such tty");
        host.write("/sys/class/tty/ttyS2/io_type", "0\n").write("/sys/class/tty/ttyS2/port", "0x3E8\n")
                .write("/sys/class/tty/ttyS2/type", "0\n");
        assertThatThrownBy(() -> derive(host, new DerivationOptions(6L << 20, 76L << 20, "ttyS2")))
                .hasMessageEndingWith("ttyS2/type: 0: no UART was detected behind ttyS2; name another port with -c, "
                        + "or -c none");
        host.write("/sys/class/tty/ttyS1/io_type", "3\n").write("/sys/class/tty/ttyS1/iomem_base", "0xfe030000\n")
                .write("/sys/class/tty/ttyS1/iomem_reg_shift", "2\n").write("/sys/class/tty/ttyS1/port", "0x0\n");
        assertThat(derive(host, new DerivationOptions(6L << 20, 76L << 20, "ttyS1")).config().debugConsole())
                .isEqualTo(new Console(0xfe030000L, 0x1000, Console.TYPE_8250, Console.ACCESS_MMIO | Console.REGDIST_4,
                        0, 0, 0));
    }

    @Test
    void derivedConfigSurvivesEncoding() throws Exception {
        SystemConfig c = derive(FakeHostTree.copy("q35", dir)).config();
        byte[] bytes = BinaryConfigCodec.encode(c);
        assertThat(bytes).hasSize((int) c.encodedSize());
        assertThat(BinaryConfigCodec.decode(bytes, "q35.cell")).isEqualTo(c);
    }

    @Test
    void badOptionsAreRefusedWithTheOptionName() {
        assertThatThrownBy(() -> new DerivationOptions(0, 1 << 20, "ttyS0")).hasMessage("--mem-hv must be larger than 0");
        assertThatThrownBy(() -> new DerivationOptions(6L << 20, 1000, "ttyS0"))
                .hasMessage("--mem-inmates 1000 is not a multiple of 4 KiB");
    }
}
