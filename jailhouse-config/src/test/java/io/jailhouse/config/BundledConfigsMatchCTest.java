package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bundled YAML demo cells have upstream's content: compiled from the C
 * configs written from the upstream descriptions (test resources), the bytes
 * equal the YAML-built ones, except for the one documented adjustment, the
 * reset address 0xffff0 of the 2016 contract (upstream's configs say 0), and
 * pci-demo's mark that has its HDA controller emulated.
 */
class BundledConfigsMatchCTest {
    @BeforeAll
    static void needGcc() {
        Gcc.assume();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-demo", "apic-demo", "smp-demo", "pci-demo", "ivshmem-demo", "ioapic-demo"})
    void yamlBuiltCellEqualsTheCompiledCConfig(String name) throws Exception {
        Path c = Path.of("src/test/resources/c-configs", name + ".c");
        byte[] fromC = CConfigCompiler.compile(c);
        CellConfig yaml = ConfigFiles.read(BundledConfigs.yaml(name), CellConfig.class);
        assertThat(yaml.cpuResetAddress()).isEqualTo(0xffff0L);
        CellConfig asUpstream = withoutEmulationMarks(yaml.withCpuResetAddress(0));
        assertThat(BinaryConfigCodec.encode(asUpstream)).isEqualTo(fromC);
        // and reading the .c file directly gives the same config
        assertThat(ConfigFiles.read(c)).isEqualTo(asUpstream);
    }

    /** The bundled pci-demo marks its HDA device for emulation, for the walkthrough's plain enable. */
    private static CellConfig withoutEmulationMarks(CellConfig c) {
        List<PciDevice> devices = new ArrayList<>();
        for (PciDevice d : c.pciDevices()) {
            devices.add(d.emulation() == 0 ? d : new PciDevice(d.type(), d.iommu(), d.domain(), d.bdf(), d.barMask(),
                    d.capsStart(), d.numCaps(), d.numMsiVectors(), d.msiBits(), d.numMsixVectors(),
                    d.msixRegionSize(), d.msixAddress(), d.shmemRegionsStart(), d.shmemDevId(), d.shmemPeers(), 0));
        }
        return new CellConfig(c.architecture(), c.name(), c.id(), c.flags(), c.cpus(), c.memoryRegions(),
                c.cacheRegions(), c.irqchips(), c.pioRegions(), devices, c.pciCaps(), c.streamIds(), c.vpciIrqBase(),
                c.cpuResetAddress(), c.msgReplyTimeout(), c.console());
    }
}
