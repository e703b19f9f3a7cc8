package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.SystemConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConfigCreateCommandTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void writesACellFileThatDecodes() throws Exception {
        FakeHost host = FakeHost.create(dir.resolve("host"));
        Path file = dir.resolve("sys.cell");
        Run r = run("config", "create", "-r", host.path().toString(), "-c", "none", file.toString());
        assertThat(r.status()).as(r.err()).isZero();
        SystemConfig c = (SystemConfig) BinaryConfigCodec.decode(Files.readAllBytes(file), file.toString());
        assertThat(c.rootCell().name()).isEqualTo("RootCell");
        assertThat(c.rootCell().cpus().toRangeList()).isEqualTo("0-1");
        assertThat(c.hypervisorMemory().physStart()).isEqualTo(0x3a000000L);
        assertThat(c.x86().pmTimerAddress()).isEqualTo(0x608);
        assertThat(r.out()).startsWith("Created " + file + " (" + Files.size(file) + " bytes): system configuration "
                + "\"RootCell\", CPUs 0-1").contains("JAILHOUSE Inmate Memory").contains("port 0x608");
        assertThat(r.err()).contains("note: no memmap= reservation");
    }

    @Test
    void memorySizesAreOptions() throws Exception {
        FakeHost host = FakeHost.create(dir.resolve("host"));
        Path file = dir.resolve("sys.cell");
        Run r = run("config", "create", "-r", host.path().toString(), "-c", "none", "--mem-hv", "8M",
                "--mem-inmates", "0x5000000", file.toString());
        assertThat(r.status()).as(r.err()).isZero();
        SystemConfig c = (SystemConfig) BinaryConfigCodec.decode(Files.readAllBytes(file), file.toString());
        assertThat(c.hypervisorMemory().size()).isEqualTo(8L << 20);
        assertThat(c.rootCell().memoryRegions()).anyMatch(m -> m.physStart() == 0x3a800000L && m.size() == 0x5000000L);
    }

    @Test
    void badInputsGiveOneLineErrors() {
        FakeHost host = FakeHost.create(dir.resolve("host"));
        String root = host.path().toString();
        assertThat(run("config", "create", "-r", root, dir.resolve("x.txt").toString()))
                .satisfies(r -> {
                    assertThat(r.status()).isEqualTo(1);
                    assertThat(r.err()).contains(dir.resolve("x.txt") + ": unknown configuration format");
                });
        assertThat(run("config", "create", "-r", root, "--mem-hv", "lots", dir.resolve("x.cell").toString()).err())
                .startsWith("--mem-hv: 'lots' is not a number");
        assertThat(run("config", "create", "-r", dir.resolve("nowhere").toString(), dir.resolve("x.cell").toString()).err())
                .startsWith("-r " + dir.resolve("nowhere") + ": not a directory");
        Run noTty = run("config", "create", "-r", root, dir.resolve("x.cell").toString());
        assertThat(noTty.status()).isEqualTo(1);
        assertThat(noTty.err()).isEqualTo(host.path().resolve("sys/class/tty/ttyS0")
                + ": no such tty; name an existing serial port with -c, or -c none" + System.lineSeparator());
        assertThat(Files.exists(dir.resolve("x.cell"))).isFalse();
    }

    @Test
    void refusesWhileTheHypervisorIsEnabled() {
        FakeHost host = FakeHost.create(dir.resolve("host")).write("/run/jailhouse/control.sock", "");
        Run r = run("config", "create", "-r", host.path().toString(), "-c", "none", dir.resolve("x.cell").toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("control.sock: exists, so the hypervisor is enabled");
    }

    @Test
    void unwritableTarget() {
        FakeHost host = FakeHost.create(dir.resolve("host"));
        Path file = dir.resolve("missing-dir/x.cell");
        Run r = run("config", "create", "-r", host.path().toString(), "-c", "none", file.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).startsWith(file + ": cannot write: ");
    }
}
