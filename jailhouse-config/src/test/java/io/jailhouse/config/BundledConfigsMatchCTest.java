package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bundled YAML demo cells have upstream's content: compiled from the C
 * configs written from the upstream descriptions (test resources), the bytes
 * equal the YAML-built ones, except for the one documented adjustment, the
 * reset address 0xffff0 of the 2016 contract (upstream's configs say 0).
 */
class BundledConfigsMatchCTest {
    @BeforeAll
    static void needGcc() {
        Gcc.assume();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-demo", "apic-demo", "smp-demo", "pci-demo", "ivshmem-demo"})
    void yamlBuiltCellEqualsTheCompiledCConfig(String name) throws Exception {
        Path c = Path.of("src/test/resources/c-configs", name + ".c");
        byte[] fromC = CConfigCompiler.compile(c);
        CellConfig yaml = ConfigFiles.read(BundledConfigs.yaml(name), CellConfig.class);
        assertThat(yaml.cpuResetAddress()).isEqualTo(0xffff0L);
        assertThat(BinaryConfigCodec.encode(yaml.withCpuResetAddress(0))).isEqualTo(fromC);
        // and reading the .c file directly gives the same config
        assertThat(ConfigFiles.read(c)).isEqualTo(yaml.withCpuResetAddress(0));
    }
}
