package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.sys.Errno;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.net.BindException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * {@code --metrics HOST:PORT}: Prometheus text at {@code /metrics} (and
 * {@code /-/healthy}), served by the Prometheus client's HTTP server from
 * a registry of one collector, {@link CellMetrics}. The port is bound
 * before the hypervisor is enabled, so a port in use refuses the enable
 * and leaves nothing behind; until {@link #serve} the page is empty.
 * One thread answers scrapes, a few queue behind it: a scraper cannot make
 * the supervisor spend more than that.
 */
final class MetricsEndpoint implements AutoCloseable {
    private final HTTPServer server;
    private final MetricsAddress address;
    private volatile CellMetrics metrics;

    private MetricsEndpoint(MetricsAddress address) throws IOException {
        this.address = address;
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(this::collect);
        ExecutorService scrapes = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(8),
                r -> Thread.ofPlatform().daemon().name("jailhoused-metrics").stackSize(512 * 1024).unstarted(r),
                new ThreadPoolExecutor.DiscardPolicy());
        try {
            this.server = HTTPServer.builder().hostname(address.host()).port(address.port()).registry(registry)
                    .executorService(scrapes).buildAndStart();
        } catch (IOException | RuntimeException e) {
            scrapes.shutdownNow();
            throw e;
        }
    }

    private MetricSnapshots collect() {
        CellMetrics m = metrics;
        return m == null ? MetricSnapshots.of() : m.collect();
    }

    /** Binds the address; EADDRINUSE or EADDRNOTAVAIL (the host is no address of this machine) if it cannot. */
    static MetricsEndpoint bind(MetricsAddress address) throws HypervisorException {
        try {
            return new MetricsEndpoint(address);
        } catch (BindException e) {
            throw new HypervisorException(e.getMessage() != null && e.getMessage().contains("in use")
                    ? Errno.EADDRINUSE : Errno.EADDRNOTAVAIL, MetricsAddress.OPTION + " " + address + ": "
                    + e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException(Errno.EADDRNOTAVAIL, MetricsAddress.OPTION + " " + address + ": " + e);
        }
    }

    /** From now on scrapes read this hypervisor. */
    void serve(Hypervisor hypervisor) {
        metrics = new CellMetrics(hypervisor);
    }

    /** The port bound (the one chosen, for port 0). */
    int port() {
        return server.getPort();
    }

    /** Where scrapes go, e.g. {@code http://127.0.0.1:9669/metrics}. */
    String url() {
        return "http://" + new MetricsAddress(address.host(), port()) + "/metrics";
    }

    @Override
    public void close() {
        server.close();
    }
}
