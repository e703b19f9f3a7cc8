package io.jailhouse.config.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The readers of single host files, and the one-line errors they give. */
class HostParsersTest {
    @TempDir
    Path dir;

    @Test
    void resourceTreeNests() throws Exception {
        ResourceTree t = ResourceTree.parse("""
                00000000-00000fff : Reserved
                00100000-3fffffff : System RAM
                  01000000-01ffffff : Kernel code
                    01000000-010fffff : inner
                  02000000-02ffffff : Kernel data
                100000000-1ffffffff : System RAM
                """, "iomem");
        assertThat(t.top()).hasSize(3);
        Resource ram = t.top().get(1);
        assertThat(ram.children()).extracting(Resource::name).containsExactly("Kernel code", "Kernel data");
        assertThat(ram.children().getFirst().children().getFirst().depth()).isEqualTo(2);
        assertThat(t.top().get(2).start()).isEqualTo(0x100000000L);
        assertThat(t.leaves()).extracting(Resource::name)
                .containsExactly("Reserved", "inner", "Kernel data", "System RAM");
        assertThat(t.showsAddresses()).isTrue();
        assertThat(ResourceTree.parse("00000000-00000000 : x\n  00000000-00000000 : y\n", "f").showsAddresses()).isFalse();
    }

    @Test
    void resourceTreeErrorsNameTheLine() {
        assertThatThrownBy(() -> ResourceTree.parse("0000-0fff : a\nxyz\n", "/proc/ioports"))
                .hasMessage("/proc/ioports line 2: 'xyz' is not 'START-END : NAME'");
        assertThatThrownBy(() -> ResourceTree.parse("0000-0fff : a\n     0000-0001 : b\n", "/proc/ioports"))
                .hasMessage("/proc/ioports line 2: indented by 5 spaces; entries nest by two");
        assertThatThrownBy(() -> ResourceTree.parse("0000-0fff : a\n    0000-0001 : b\n", "/proc/ioports"))
                .hasMessage("/proc/ioports line 2: nested 2 levels below the entry before it");
        assertThatThrownBy(() -> ResourceTree.parse("  0000-0fff : a\n", "f")).hasMessage("f line 1: the first entry is indented");
        assertThatThrownBy(() -> ResourceTree.parse("0fff-0000 : a\n", "f")).hasMessage("f line 1: range fff-0 ends before it starts");
        assertThatThrownBy(() -> ResourceTree.parse("zz-0fff : a\n", "f"))
                .hasMessage("f line 1: 'zz-0fff : a' does not start with a hex range START-END");
    }

    @Test
    void memmapForms() throws Exception {
        KernelCommandLine c = KernelCommandLine.parse(
                "ro memmap=100M@2G,82M$0x3a000000 memmap=0x1000$0x100000 memmap=exactmap memmap=16K#1G "
                        + "acpi=\"x y\" -- memmap=1M$1G\n", "/proc/cmdline");
        assertThat(c.memmapReservations()).containsExactly(
                new MemmapReservation(0x3a000000L, 82L << 20), new MemmapReservation(0x100000, 0x1000));
        assertThat(c.parameters()).contains("acpi=x y").doesNotContain("memmap=1M$1G");
        assertThat(KernelCommandLine.memparse("010", "w")).isEqualTo(8); // C octal, as the kernel reads it
        assertThat(KernelCommandLine.memparse("0x1E", "w")).isEqualTo(0x1e); // E is a hex digit here
        assertThat(KernelCommandLine.memparse("1e", "w")).isEqualTo(1L << 60);
        assertThat(KernelCommandLine.memparse("2g", "w")).isEqualTo(2L << 30);
    }

    @Test
    void memmapErrors() {
        assertThatThrownBy(() -> KernelCommandLine.parse("memmap=12Q$0x1000", "/proc/cmdline").memmapReservations())
                .hasMessage("/proc/cmdline: memmap=12Q$0x1000: '12Q' is not a size or address (like 82M or 0x3a000000)");
        assertThatThrownBy(() -> KernelCommandLine.parse("memmap=0$0x1000", "c").memmapReservations())
                .hasMessage("c: memmap=0$0x1000: reserves 0 bytes");
        assertThatThrownBy(() -> KernelCommandLine.parse("memmap=99999999999T$0", "c").memmapReservations())
                .hasMessageContaining("does not fit 64 bits");
        assertThatThrownBy(() -> KernelCommandLine.parse("a=\"b", "c")).hasMessage("c: unbalanced double quote");
    }

    @Test
    void cpuInfo() throws Exception {
        CpuInfo i = CpuInfo.parse("processor : 0\nvendor_id : AuthenticAMD\nflags : lm svm x2apic\n\n"
                + "processor : 1\nvendor_id : AuthenticAMD\nflags : lm svm\n", "cpuinfo");
        assertThat(i.processors()).isEqualTo(2);
        assertThat(i.isX86()).isTrue();
        assertThat(i.isAmd()).isTrue();
        assertThat(i.flags()).containsExactlyInAnyOrder("lm", "svm"); // only what every CPU has
        assertThatThrownBy(() -> CpuInfo.parse("vendor_id : X\n", "/proc/cpuinfo"))
                .hasMessage("/proc/cpuinfo: no 'processor' entries");
        assertThatThrownBy(() -> CpuInfo.parse("processor : 0\ngarbage\n", "/proc/cpuinfo"))
                .hasMessage("/proc/cpuinfo line 2: 'garbage' is not 'key : value'");
    }

    @Test
    void acpiTablesFromTheQ35Tree() throws Exception {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        byte[] mcfg = host.readBytes("/sys/firmware/acpi/tables/MCFG");
        assertThat(AcpiTable.parseMcfg(mcfg, "MCFG"))
                .containsExactly(new AcpiTable.McfgAllocation(0xb0000000L, 0, 0, 0xff));
        byte[] madt = host.readBytes("/sys/firmware/acpi/tables/APIC");
        assertThat(AcpiTable.parseMadtIoApics(madt, "APIC"))
                .containsExactly(new AcpiTable.IoApic(0, 0xfec00000L, 0));
    }

    @Test
    void acpiTableErrors() throws Exception {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        byte[] madt = host.readBytes("/sys/firmware/acpi/tables/APIC");
        assertThatThrownBy(() -> AcpiTable.parseMcfg(madt, "T")).hasMessage("T: signature 'APIC', expected 'MCFG'");
        assertThatThrownBy(() -> AcpiTable.parseMadtIoApics(Arrays.copyOf(madt, 60), "T"))
                .hasMessage("T: header says 104 bytes, the file has 60");
        byte[] bad = madt.clone();
        bad[0x4c + 1] = 40; // I/O APIC entry claims 40 bytes
        assertThatThrownBy(() -> AcpiTable.parseMadtIoApics(bad, "T"))
                .hasMessage("T byte 76: entry of type 1 with length 40 does not fit the table's 104 bytes");
        assertThatThrownBy(() -> AcpiTable.parseMcfg(new byte[10], "T"))
                .hasMessage("T: 10 bytes is too short for an ACPI table header");
    }

    @Test
    void pciErrors() throws Exception {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        String dev = "/sys/bus/pci/devices/0000:00:02.0";
        byte[] cfg = host.readBytes(dev + "/config");
        // What a user other than root sees: the first 64 bytes only.
        host.writeBytes(dev + "/config", Arrays.copyOf(cfg, 64));
        assertThatThrownBy(() -> HostPciDevice.read(host.hostRoot(), "0000:00:02.0", n -> { }))
                .hasMessageEndingWith("0000:00:02.0/config: offset 0xc8 is beyond the 64 bytes readable "
                        + "(Linux shows only 64 bytes of configuration space to users other than root)");
        byte[] loop = cfg.clone();
        loop[0xa1] = (byte) 0xc8; // MSI-X points back to PM
        host.writeBytes(dev + "/config", loop);
        assertThatThrownBy(() -> HostPciDevice.read(host.hostRoot(), "0000:00:02.0", n -> { }))
                .hasMessageEndingWith("config: capability list loops at 0xc8");
        host.writeBytes(dev + "/config", cfg).write(dev + "/resource", "0x0 0x0 0x0\n");
        assertThatThrownBy(() -> HostPciDevice.read(host.hostRoot(), "0000:00:02.0", n -> { }))
                .hasMessageEndingWith("resource: 1 lines; expected at least 6 (one per BAR)");
        host.write("/sys/bus/pci/devices/bogus/config", "");
        assertThatThrownBy(() -> HostPciDevice.read(host.hostRoot(), "bogus", n -> { }))
                .hasMessageEndingWith("bogus: 'bogus' is not a PCI address DOMAIN:BB:DD.F");
    }

    @Test
    void msixTableInA64BitBar() throws Exception {
        FakeHostTree host = FakeHostTree.copy("q35", dir);
        String dev = "/sys/bus/pci/devices/0000:00:03.0";
        byte[] cfg = host.readBytes(dev + "/config");
        cfg[0xa4] = 0x00; // table: BAR0 (64-bit, 0x8_0000_0000), offset 0x8000
        cfg[0xa5] = (byte) 0x80;
        host.writeBytes(dev + "/config", cfg);
        HostPciDevice d = HostPciDevice.read(host.hostRoot(), "0000:00:03.0", n -> { }).orElseThrow();
        assertThat(d.msixAddress()).isEqualTo(0x800008000L);
        assertThat(d.numMsixVectors()).isEqualTo(5);
        cfg[0xa4] = 0x02; // BAR2 is an I/O BAR
        cfg[0xa5] = 0;
        host.writeBytes(dev + "/config", cfg);
        assertThatThrownBy(() -> HostPciDevice.read(host.hostRoot(), "0000:00:03.0", n -> { }))
                .hasMessageEndingWith("config: MSI-X table is in BAR 2, which is not a memory BAR (0x0000c021)");
    }

    @Test
    void missingFilesAreNamed() {
        FakeHostTree host = FakeHostTree.copy("q35", dir).delete("/proc/ioports");
        assertThatThrownBy(() -> HostInventory.read(host.hostRoot(), "ttyS0"))
                .hasMessage(dir.resolve("proc/ioports") + ": not found");
    }
}
