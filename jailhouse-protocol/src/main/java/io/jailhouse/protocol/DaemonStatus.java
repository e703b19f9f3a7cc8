package io.jailhouse.protocol;

import java.util.Map;

/**
 * What {@code jailhouse status} shows of a running hypervisor.
 *
 * @param release the Jailhouse release the hypervisor follows
 * @param pid the supervisor's process
 * @param system the system configuration's root cell name
 * @param startedMillis when the hypervisor was enabled (epoch milliseconds)
 * @param uptimeMillis how long it has run, by the supervisor's clock
 * @param pool the page and remap pools, as upstream's hypervisor counts them
 * @param supervisorRss the supervisor's resident memory in bytes
 * @param cells the cells, as {@code cell list} shows them
 * @param cellRss each cell process's resident memory in bytes, by cell id (absent: no process, or unreadable)
 */
public record DaemonStatus(String release, long pid, String system, long startedMillis, long uptimeMillis,
        PoolUsage pool, long supervisorRss, CellList cells, Map<Integer, Long> cellRss) {

    public DaemonStatus {
        cellRss = Map.copyOf(cellRss);
    }

    /** Upstream's {@code mem_pool} and {@code remap_pool} figures, in pages and remap slots. */
    public record PoolUsage(long memUsed, long memTotal, long remapUsed, long remapTotal) {
    }
}
