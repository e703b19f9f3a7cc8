package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.protocol.CellRef;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code cell load}'s ordered arguments, as upstream's tool parses them. */
class LoadArgumentsTest {
    static LoadArguments parse(String... args) {
        return LoadArguments.parse(List.of(args));
    }

    @Test
    void imagesAndStringsInOrderEachWithItsOptionalAddress() {
        LoadArguments a = parse("apic-demo", "a.bin", "-a", "0xf0000", "-s", "hello", "--address", "0100", "b.bin",
                "--string", "", "-a", "4096");
        assertThat(a.cell()).isEqualTo(CellRef.ofName("apic-demo"));
        assertThat(a.images()).containsExactly(
                new LoadArguments.Image("a.bin", null, 0xf0000),
                new LoadArguments.Image(null, "hello", 64),
                new LoadArguments.Image("b.bin", null, 0),
                new LoadArguments.Image(null, "", 4096));
    }

    @Test
    void theCellIsAnIdANameOrNamedExplicitly() {
        assertThat(parse("1", "x").cell()).isEqualTo(CellRef.ofId(1));
        assertThat(parse("0x10", "x").cell()).isEqualTo(CellRef.ofId(16));
        assertThat(parse("010", "x").cell()).isEqualTo(CellRef.ofId(8));
        assertThat(parse("-1", "x").cell()).isEqualTo(CellRef.ofName("-1"));
        assertThat(parse("--name", "7", "x").cell()).isEqualTo(CellRef.ofName("7"));
        assertThat(parse("--name", "a".repeat(40), "x").cell().name()).hasSize(31);
    }

    @Test
    void addressesAreCNumbers() {
        assertThat(LoadArguments.parseAddress("0xf0000")).isEqualTo(0xf0000L);
        assertThat(LoadArguments.parseAddress("0XFFFF0")).isEqualTo(0xffff0L);
        assertThat(LoadArguments.parseAddress("0755")).isEqualTo(0755L);
        assertThat(LoadArguments.parseAddress("0")).isZero();
        assertThat(LoadArguments.parseAddress("1048576")).isEqualTo(1 << 20);
        assertThat(LoadArguments.parseAddress(" 12")).isEqualTo(12);
        assertThat(LoadArguments.parseAddress("-16")).isEqualTo(-16);
        assertThat(LoadArguments.parseAddress("0x7fffffffffffffff")).isEqualTo(Long.MAX_VALUE);
        for (String bad : new String[] {"", "zz", "0x", "12abc", "08", "0x-1", "0x10000000000000000", "--1"}) {
            assertThatThrownBy(() -> LoadArguments.parseAddress(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void missingPartsAreUsageErrors() {
        assertThatThrownBy(() -> parse()).hasMessageContaining("Missing cell");
        assertThatThrownBy(() -> parse("--name")).hasMessageContaining("Missing NAME");
        assertThatThrownBy(() -> parse("apic-demo")).hasMessageContaining("Missing image");
        assertThatThrownBy(() -> parse("--name", "apic-demo")).hasMessageContaining("Missing image");
        assertThatThrownBy(() -> parse("apic-demo", "a.bin", "-a")).hasMessageContaining("Missing ADDRESS after -a");
        assertThatThrownBy(() -> parse("apic-demo", "-s")).hasMessageContaining("Missing STRING after -s");
        assertThatThrownBy(() -> parse("apic-demo", "--string")).hasMessageContaining("Missing STRING after --string");
        assertThatThrownBy(() -> parse("apic-demo", "-a", "0x10", "a.bin")).hasMessageContaining("-a must follow an image");
        assertThatThrownBy(() -> parse("apic-demo", "a.bin", "-a", "0x10", "-a", "0x20"))
                .hasMessageContaining("-a must follow an image");
        assertThatThrownBy(() -> parse("apic-demo", "a.bin", "-a", "nowhere")).hasMessageContaining("Invalid ADDRESS \"nowhere\"");
    }

    @org.junit.jupiter.api.Test
    void aLargeImageShowsHowMuchOfItWasReadAndArrivesWhole(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        byte[] image = new byte[9 << 20];
        new java.util.Random(9).nextBytes(image);
        java.nio.file.Path file = tmp.resolve("big.bin");
        java.nio.file.Files.write(file, image);
        java.io.StringWriter shown = new java.io.StringWriter();
        byte[] read = CellLoadCommand.read(file.toString(), new java.io.PrintWriter(shown));
        org.assertj.core.api.Assertions.assertThat(read).isEqualTo(image);
        org.assertj.core.api.Assertions.assertThat(shown.toString()).startsWith("\rReading " + file + ": ")
                .endsWith("\rReading " + file + ": 9.0 of 9.0 MiB\n");

        java.io.StringWriter small = new java.io.StringWriter();
        java.nio.file.Files.write(file, new byte[1 << 20]);
        org.assertj.core.api.Assertions.assertThat(CellLoadCommand.read(file.toString(), new java.io.PrintWriter(small)))
                .hasSize(1 << 20);
        org.assertj.core.api.Assertions.assertThat(small.toString()).as("a small image is read quietly").isEmpty();
    }
}
