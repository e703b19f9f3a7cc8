package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sd_notify: what a service manager's NOTIFY_SOCKET receives, at a path and in the abstract namespace. */
public class ServiceNotifierTest {
    @TempDir
    Path tmp;

    /** A datagram listener standing in for systemd: python3's socket module, which Debian's base system has. */
    public static Process listener(String address, Path out) throws Exception {
        boolean python = Files.isExecutable(Path.of("/usr/bin/python3"));
        if (!python) {
            System.err.println("SERVICE NOTIFICATION TEST SKIPPED: no /usr/bin/python3 to listen as systemd would");
        }
        Assumptions.assumeTrue(python, "no /usr/bin/python3");
        String bind = address.startsWith("@") ? "'\\0" + address.substring(1) + "'" : "'" + address + "'";
        String script = "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(" + bind + ")\n"
                + "open(sys.argv[1]+'.up','w').close()\n"
                + "msgs=[s.recv(4096).decode() for _ in range(2)]\nopen(sys.argv[1],'w').write('|'.join(msgs))\n";
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", script, out.toString()).inheritIO().start();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!Files.exists(Path.of(out + ".up"))) {
            assertThat(p.isAlive()).as("the listener runs").isTrue();
            assertThat(System.nanoTime()).as("the listener is up in 20 s").isLessThan(deadline);
            Thread.sleep(10);
        }
        return p;
    }

    void readyThenStopping(String address) throws Exception {
        Path got = tmp.resolve("got");
        Process p = listener(address, got);
        StringWriter log = new StringWriter();
        ServiceNotifier n = ServiceNotifier.of(Map.of(ServiceNotifier.VARIABLE, address),
                new DaemonLog(new PrintWriter(log)));
        assertThat(n.active()).isTrue();
        n.ready(4242, "enabled on qemu-vm.cell, 1 cells");
        n.stopping();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(got, StandardCharsets.UTF_8)).isEqualTo(
                "READY=1\nMAINPID=4242\nSTATUS=enabled on qemu-vm.cell, 1 cells\n|STOPPING=1\n");
        assertThat(log.toString()).isEmpty();
    }

    @Test
    void aPathSocketHearsReadyThenStopping() throws Exception {
        readyThenStopping(tmp.resolve("notify.sock").toString());
    }

    @Test
    void anAbstractSocketHearsReadyThenStopping() throws Exception {
        readyThenStopping("@jailhouse-test-notify-" + ProcessHandle.current().pid());
    }

    @Test
    void withoutAServiceManagerNothingIsSentAndABadAddressIsLogged() {
        StringWriter log = new StringWriter();
        ServiceNotifier none = ServiceNotifier.of(Map.of(), new DaemonLog(new PrintWriter(log)));
        assertThat(none.active()).isFalse();
        none.ready(1, "x");
        ServiceNotifier bad = ServiceNotifier.of(Map.of(ServiceNotifier.VARIABLE, "relative/path"),
                new DaemonLog(new PrintWriter(log)));
        bad.ready(1, "x");
        ServiceNotifier gone = ServiceNotifier.of(Map.of(ServiceNotifier.VARIABLE, tmp.resolve("nobody").toString()),
                new DaemonLog(new PrintWriter(log)));
        gone.stopping();
        assertThat(log.toString().lines().toList()).satisfiesExactly(
                l -> assertThat(l).contains("WARN jailhoused: cannot notify the service manager at "
                        + "NOTIFY_SOCKET=relative/path: datagram socket address"),
                l -> assertThat(l).contains("NOTIFY_SOCKET=" + tmp.resolve("nobody") + ": ")
                        .containsIgnoringCase("no such file"));
    }
}
