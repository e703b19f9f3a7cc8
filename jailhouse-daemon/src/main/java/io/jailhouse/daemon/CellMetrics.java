package io.jailhouse.daemon;

import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.DaemonStatus;
import io.jailhouse.protocol.JailhouseVersion;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code /metrics} shows, read from the hypervisor at each scrape and
 * at no other time: the exit counters from the cells' shared pages (a racy
 * read, as {@code cell stats}), the states and pools as {@code status}
 * reports them, resident memory from /proc. Nothing is kept between
 * scrapes and nothing runs on a cell's exit path.
 */
final class CellMetrics implements MultiCollector {
    static final String PREFIX = "vmexits_";

    private final Hypervisor hypervisor;
    private final long supervisorPid = ProcessHandle.current().pid();

    CellMetrics(Hypervisor hypervisor) {
        this.hypervisor = hypervisor;
    }

    @Override
    public MetricSnapshots collect() {
        List<CellStatus> cells = hypervisor.cells();
        CounterSnapshot.Builder exits = CounterSnapshot.builder().name("jailhouse_vmexits")
                .help("VM exits of each cell CPU by reason (upstream's statistics without vmexits_total)");
        CounterSnapshot.Builder dropped = CounterSnapshot.builder().name("jailhouse_console_dropped_bytes")
                .unit(Unit.BYTES).help("Console output a cell's process had no room for and dropped");
        GaugeSnapshot.Builder state = GaugeSnapshot.builder().name("jailhouse_cell_state")
                .help("1 for the state each cell is in, 0 for the others (running, running_locked, shut_down, failed,"
                        + " failed_comm_rev)");
        GaugeSnapshot.Builder cpus = GaugeSnapshot.builder().name("jailhouse_cell_cpus")
                .help("CPUs of each cell, and how many of them failed");
        GaugeSnapshot.Builder rss = GaugeSnapshot.builder().name("jailhouse_process_resident_bytes").unit(Unit.BYTES)
                .help("Resident memory of the supervisor and of each cell's process");
        for (CellStatus c : cells) {
            for (CellState s : CellState.values()) {
                state.dataPoint(gauge(s == c.state() ? 1 : 0, "cell", c.name(), "id", Integer.toString(c.id()),
                        "state", s.name().toLowerCase(Locale.ROOT)));
            }
            cpus.dataPoint(gauge(c.assignedCpus().size(), "cell", c.name(), "kind", "assigned"));
            cpus.dataPoint(gauge(c.failedCpus().size(), "cell", c.name(), "kind", "failed"));
            if (c.id() == 0) {
                continue; // the root cell is the host: no exits, no process of its own
            }
            try {
                addExits(exits, hypervisor.statistics(CellRef.ofId(c.id())));
                dropped.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                        .value(hypervisor.consoleBytesDropped(CellRef.ofId(c.id())))
                        .labels(Labels.of("cell", c.name())).build());
            } catch (HypervisorException e) {
                // destroyed since the list: it is gone from the next scrape
            }
            long bytes = c.pid() == 0 ? -1 : ProcessMemory.residentBytes(c.pid());
            if (bytes >= 0) {
                rss.dataPoint(gauge(bytes, "process", "cell", "cell", c.name()));
            }
        }
        long own = ProcessMemory.residentBytes(supervisorPid);
        if (own >= 0) {
            rss.dataPoint(gauge(own, "process", "supervisor"));
        }
        DaemonStatus.PoolUsage pool = hypervisor.poolUsage();
        GaugeSnapshot.Builder used = GaugeSnapshot.builder().name("jailhouse_pool_used_pages")
                .help("Pages of the hypervisor's memory and remap pools in use (upstream's mem_pool and remap_pool)");
        GaugeSnapshot.Builder total = GaugeSnapshot.builder().name("jailhouse_pool_size_pages")
                .help("Pages of the hypervisor's memory and remap pools");
        used.dataPoint(gauge(pool.memUsed(), "pool", "mem"));
        used.dataPoint(gauge(pool.remapUsed(), "pool", "remap"));
        total.dataPoint(gauge(pool.memTotal(), "pool", "mem"));
        total.dataPoint(gauge(pool.remapTotal(), "pool", "remap"));
        GaugeSnapshot info = GaugeSnapshot.builder().name("jailhouse_info")
                .help("The Jailhouse release, system configuration and partitioning; always 1")
                .dataPoint(gauge(1, "release", JailhouseVersion.RELEASE, "system",
                        hypervisor.systemConfig().rootCell().name(), "partitioning",
                        hypervisor.partitioning().name().toLowerCase(Locale.ROOT)))
                .build();
        return MetricSnapshots.of(info, state.build(), cpus.build(), exits.build(), dropped.build(), used.build(),
                total.build(), rss.build());
    }

    /** Each CPU's counters but the total, which is their sum: a sum over reasons must not count twice. */
    private static void addExits(CounterSnapshot.Builder exits, CellStatistics s) {
        for (Map.Entry<Integer, Map<String, Long>> cpu : s.perCpu().entrySet()) {
            for (Map.Entry<String, Long> counter : cpu.getValue().entrySet()) {
                String name = counter.getKey();
                if (!name.startsWith(PREFIX) || name.equals("vmexits_total")) {
                    continue;
                }
                exits.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(counter.getValue())
                        .labels(Labels.of("cell", s.cellName(), "cpu", Integer.toString(cpu.getKey()), "reason",
                                name.substring(PREFIX.length())))
                        .build());
            }
        }
    }

    private static GaugeSnapshot.GaugeDataPointSnapshot gauge(double value, String... labels) {
        return GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build();
    }
}
