package io.jailhouse.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.TextConfigCodec.Format;
import io.jailhouse.sys.FuzzCorpus;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

/**
 * Fuzz target: YAML and JSON configs as a user (or an attacker handing an
 * operator a file) might write them, mutated from the corpus (the bundled
 * configs, and each one as JSON). Every input decodes, or is refused with a
 * {@link ConfigFormatException} naming the file; what decodes round-trips
 * through the binary format and goes through {@code config check} without
 * an exception and with a bounded report.
 */
@Tag("fuzz")
class TextConfigFuzzTest {
    private static final List<byte[]> CORPUS = withJson(FuzzCorpus.of("text-configs"));
    private static final SystemConfig SYSTEM = (SystemConfig) decodeOrNull(
            BundledConfigs.cellBytes("qemu-vm"));

    private static List<byte[]> withJson(List<byte[]> yaml) {
        List<byte[]> all = new ArrayList<>(yaml);
        for (byte[] y : yaml) {
            try {
                all.add(TextConfigCodec.encode(TextConfigCodec.decode(y, "corpus.yaml", Format.YAML), Format.JSON));
            } catch (ConfigFormatException e) {
                throw new IllegalStateException("a corpus config does not decode: " + e.getMessage(), e);
            }
        }
        return List.copyOf(all);
    }

    private static JailhouseConfig decodeOrNull(byte[] cell) {
        try {
            return BinaryConfigCodec.decode(cell, "qemu-vm.cell");
        } catch (ConfigFormatException e) {
            throw new IllegalStateException(e);
        }
    }

    @Provide
    Arbitrary<byte[]> texts() {
        return FuzzCorpus.mutations(CORPUS, 4);
    }

    /** A target that only ever hits one path proves little: both must be common. */
    private static void coverage(String outcome) {
        net.jqwik.api.statistics.Statistics.collect(outcome);
        net.jqwik.api.statistics.Statistics.coverage(c -> {
            c.check("decoded").percentage(p -> p > 5.0);
            c.check("refused").percentage(p -> p > 5.0);
        });
    }

    @Property(edgeCases = net.jqwik.api.EdgeCasesMode.NONE) // edge values are in the inputs; generated ones grow with the tries
    void aTextConfigDecodesAndRoundTripsOrIsRefusedByName(@ForAll("texts") byte[] text) throws Exception {
        Format format = text.length > 0 && text[0] == '{' ? Format.JSON : Format.YAML;
        String name = "fuzz." + format.name().toLowerCase(java.util.Locale.ROOT);
        JailhouseConfig c;
        try {
            c = TextConfigCodec.decode(text, name, format);
        } catch (ConfigFormatException e) {
            assertThat(e.getMessage()).startsWith(name);
            coverage("refused");
            return;
        }
        coverage("decoded");
        byte[] cell = BinaryConfigCodec.encode(c);
        assertThat(BinaryConfigCodec.encode(BinaryConfigCodec.decode(cell, "again.cell"))).isEqualTo(cell);
        ConfigCheck.Report report = c instanceof CellConfig cellConfig
                ? ConfigCheck.run(new ConfigCheck.Source<>("qemu-vm.cell", SYSTEM),
                        List.of(new ConfigCheck.Source<>(name, cellConfig)))
                : ConfigCheck.run(new ConfigCheck.Source<>(name, (SystemConfig) c), List.of());
        report.byCheck().forEach((check, findings) -> assertThat(findings.size()).as("findings of check %s", check)
                .isLessThanOrEqualTo(ConfigCheck.MAX_FINDINGS_PER_CHECK + 1));
    }
}
