package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.sys.Errno;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --metrics}: the address, what a scrape shows, and a port in use. */
class MetricsEndpointTest {
    @TempDir
    Path tmp;

    static HttpResponse<String> get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void addressesAreHostColonPort() {
        assertThat(MetricsAddress.parse("127.0.0.1:9669")).isEqualTo(new MetricsAddress("127.0.0.1", 9669));
        assertThat(MetricsAddress.parse("[::1]:0")).isEqualTo(new MetricsAddress("::1", 0));
        assertThat(MetricsAddress.parse("[::1]:80")).hasToString("[::1]:80");
        assertThat(MetricsAddress.parse("localhost:9100").host()).isEqualTo("localhost");
        String[][] refused = {
            {"9669", "expected HOST:PORT"},
            {":9669", "expected HOST:PORT"},
            {"localhost:", "expected HOST:PORT"},
            {"::1:80", "an IPv6 address goes in brackets"},
            {"local host:80", "is not a host name or address"},
            {"127.0.0.1:65536", "port \"65536\" is not 0 to 65535"},
            {"127.0.0.1:-1", "is not 0 to 65535"},
            {"127.0.0.1:99999999999", "is not 0 to 65535"},
        };
        for (String[] r : refused) {
            assertThatThrownBy(() -> MetricsAddress.parse(r[0])).as(r[0]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("--metrics " + r[0] + ": ").hasMessageContaining(r[1]);
        }
    }

    @Test
    void aScrapeReadsTheCellsAtThatMoment() throws Exception {
        FakeHypervisor fake = new FakeHypervisor(RunningDaemon.systemConfig(), Partitioning.RELAXED);
        try (MetricsEndpoint endpoint = MetricsEndpoint.bind(new MetricsAddress("127.0.0.1", 0))) {
            HttpResponse<String> before = get(endpoint.url());
            assertThat(before.statusCode()).isEqualTo(200);
            assertThat(before.body()).as("nothing before the hypervisor is there").doesNotContain("jailhouse_");

            endpoint.serve(fake);
            fake.createCell(ConfigFiles.read(RunningDaemon.config("apic-demo.cell"), CellConfig.class));
            fake.state("apic-demo", CellState.RUNNING_LOCKED);
            fake.count("apic-demo", 3, "vmexits_pio", 7);
            fake.count("apic-demo", 3, "vmexits_total", 9);
            fake.consoleDropped("apic-demo", 42);
            String text = get(endpoint.url()).body();
            assertThat(text).contains(
                    "jailhouse_vmexits_total{cell=\"apic-demo\",cpu=\"3\",reason=\"pio\"} 7.0\n",
                    "jailhouse_vmexits_total{cell=\"apic-demo\",cpu=\"3\",reason=\"mmio\"} 0.0\n",
                    "jailhouse_cell_state{cell=\"apic-demo\",id=\"1\",state=\"running_locked\"} 1.0\n",
                    "jailhouse_cell_state{cell=\"apic-demo\",id=\"1\",state=\"running\"} 0.0\n",
                    "jailhouse_cell_state{cell=\"QEMU-VM\",id=\"0\",state=\"running\"} 1.0\n",
                    "jailhouse_cell_cpus{cell=\"apic-demo\",kind=\"assigned\"} 1.0\n",
                    "jailhouse_console_dropped_bytes_total{cell=\"apic-demo\"} 42.0\n",
                    "jailhouse_pool_used_pages{pool=\"mem\"} ",
                    "jailhouse_info{partitioning=\"relaxed\",release=\"0.12\",system=\"QEMU-VM\"} 1.0\n",
                    "# TYPE jailhouse_vmexits_total counter\n");
            assertThat(text).as("the total is the sum of the reasons, not one of them")
                    .doesNotContain("reason=\"total\"");
            assertThat(text).containsPattern("jailhouse_process_resident_bytes\\{process=\"supervisor\"} [0-9.E]+\\n");

            fake.destroyCell(io.jailhouse.protocol.CellRef.ofName("apic-demo"));
            assertThat(get(endpoint.url()).body()).as("gone at the next scrape").doesNotContain("apic-demo");
        }
    }

    @Test
    void aPortInUseRefusesTheEnableAndLeavesNothing() throws Exception {
        try (MetricsEndpoint first = MetricsEndpoint.bind(new MetricsAddress("127.0.0.1", 0))) {
            MetricsAddress taken = new MetricsAddress("127.0.0.1", first.port());
            RunDirectory run = new RunDirectory(tmp.resolve("run"));
            boolean[] enabled = {false};
            assertThatThrownBy(() -> Jailhoused.start(run, RunningDaemon.systemConfig(), Partitioning.RELAXED,
                    io.jailhouse.boundary.DeviceEmulations.NONE, null, taken, (c, p, e, d, m) -> {
                        enabled[0] = true;
                        return new FakeHypervisor(c, p);
                    }, new DaemonLog(new PrintWriter(new StringWriter()))))
                    .isInstanceOfSatisfying(HypervisorException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE);
                        assertThat(e.getMessage()).startsWith("--metrics 127.0.0.1:" + first.port() + ": ");
                    });
            assertThat(enabled[0]).as("the hypervisor was never enabled").isFalse();
            assertThat(run.socket()).doesNotExist();
        }
    }

    @Test
    void theDaemonServesMetricsUntilItEnds() throws Exception {
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        StringWriter log = new StringWriter();
        Jailhoused d = Jailhoused.start(run, RunningDaemon.systemConfig(), Partitioning.RELAXED,
                io.jailhouse.boundary.DeviceEmulations.NONE, null, new MetricsAddress("127.0.0.1", 0),
                FakeHypervisor::new, new DaemonLog(new PrintWriter(log)));
        String url = log.toString().replaceAll("(?s).*Metrics: Prometheus text at (http://\\S+/metrics)\\..*", "$1");
        try {
            assertThat(url).startsWith("http://127.0.0.1:");
            assertThat(get(url).body()).contains("jailhouse_cell_state{cell=\"QEMU-VM\",id=\"0\",state=\"running\"} 1.0");
        } finally {
            d.close();
        }
        assertThatThrownBy(() -> get(url)).as("the port is closed with the daemon")
                .isInstanceOf(java.io.IOException.class);
    }
}
