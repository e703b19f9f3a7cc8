package io.jailhouse.daemon;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.io.IOException;
import java.util.ArrayList;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.boundary.HypervisorException;
import java.util.List;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.DaemonStatus;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;

/**
 * An enabled hypervisor: the root cell (id 0, the host Linux) and the
 * non-root cells split off from it. The operations are upstream's management
 * calls; each either succeeds completely or throws and changes nothing.
 * Implementations are safe for concurrent use by the control server's threads.
 */
public interface Hypervisor extends AutoCloseable {

    SystemConfig systemConfig();

    Partitioning partitioning();

    /** The page and remap pools' use now, as the hypervisor console reports it at create and destroy. */
    DaemonStatus.PoolUsage poolUsage();

    /** What the user should know about this hypervisor once enabled (memory backing, CPU isolation). */
    default List<String> notices() {
        return List.of();
    }

    /** Creates a cell from its config; it is then in state "shut down". */
    CellStatus createCell(CellConfig config) throws HypervisorException;

    /**
     * Makes the cell loadable (after its approval, unless {@code caller}
     * forces) and copies the images in, in order. An empty list is
     * {@code cell shutdown}. Waiting for the cell holds up operations on this
     * cell only.
     *
     * @throws HypervisorException EINTR when the caller withdrew while waiting (nothing changed)
     */
    void loadImages(CellRef cell, List<ImageFile> images, Caller caller) throws HypervisorException;

    /**
     * As {@link #loadImages}, from bytes in this process (each goes in a
     * memfd for the load).
     */
    default void loadCell(CellRef cell, List<LoadImage> images, Caller caller) throws HypervisorException {
        List<ImageFile> files = new ArrayList<>();
        try {
            for (LoadImage image : images) {
                int fd;
                try {
                    fd = image.toMemfd();
                } catch (IOException e) {
                    throw new HypervisorException(Errno.ENOMEM, e.getMessage(), e);
                }
                files.add(new ImageFile(image.source(), fd, image.data().length, image.address()));
            }
            loadImages(cell, files, caller);
        } finally {
            for (ImageFile f : files) {
                try {
                    Libc.close(f.fd());
                } catch (NativeException ignored) {
                    // a memfd of ours
                }
            }
        }
    }

    /** As {@link #loadCell(CellRef, List, Caller)}, waiting as long as it takes. */
    default void loadCell(CellRef cell, List<LoadImage> images) throws HypervisorException {
        loadCell(cell, images, Caller.PATIENT);
    }

    /**
     * Starts (or, after approval, restarts) the cell at its reset address.
     *
     * @return warnings for the user, e.g. that no loaded image covers the reset address
     */
    List<String> startCell(CellRef cell, Caller caller) throws HypervisorException;

    default List<String> startCell(CellRef cell) throws HypervisorException {
        return startCell(cell, Caller.PATIENT);
    }

    void destroyCell(CellRef cell, Caller caller) throws HypervisorException;

    default void destroyCell(CellRef cell) throws HypervisorException {
        destroyCell(cell, Caller.PATIENT);
    }

    /** The root cell first, then the others by ascending id. */
    List<CellStatus> cells();

    CellStatus cell(CellRef cell) throws HypervisorException;

    /** Exit counters of a cell: the cell's sums and each of its CPUs'. */
    CellStatistics statistics(CellRef cell) throws HypervisorException;

    /**
     * Console output (UART and debug console) the cell's process had no room
     * for and dropped, so far; 0 for the root cell.
     */
    long consoleBytesDropped(CellRef cell) throws HypervisorException;

    /** Everything the hypervisor prints (cell creation, FATAL lines, ...). */
    ConsoleLog console();

    /** The cells' lifecycle events since enable. */
    CellEvents events();

    /** What the cell's inmate wrote to its console UART. */
    ConsoleLog cellConsole(CellRef cell) throws HypervisorException;

    /** The root cell's ivshmem links, by BDF. */
    default List<IvshmemLinkStatus> ivshmemLinks() {
        return List.of();
    }

    /**
     * Attaches a host program as the root cell's peer of the ivshmem link
     * {@code bdf} (docs/ivshmem.md); it stays attached until
     * {@link #detachIvshmem}.
     *
     * @throws HypervisorException ENOENT if the root cell has no ivshmem
     *         device {@code bdf}, EBUSY if a program is attached to it
     */
    default IvshmemAttachment attachIvshmem(int bdf) throws HypervisorException {
        throw new HypervisorException(io.jailhouse.sys.Errno.EOPNOTSUPP, "this hypervisor has no ivshmem links");
    }

    /**
     * Detaches the program attached to the root's peer of link {@code bdf}:
     * its interrupts stop, its state becomes 0 and the descriptors of its
     * attachment are closed.
     *
     * @throws HypervisorException ENOENT if nothing is attached there
     */
    default void detachIvshmem(int bdf) throws HypervisorException {
        throw new HypervisorException(io.jailhouse.sys.Errno.EOPNOTSUPP, "this hypervisor has no ivshmem links");
    }

    /** Destroys every non-root cell, stopping at the first refusal, as upstream. */
    void disable(Caller caller) throws HypervisorException;

    default void disable() throws HypervisorException {
        disable(Caller.PATIENT);
    }

    /**
     * The supervisor goes away without asking cells: what is its own is
     * released; cells that exist keep running (daemon exit; a supervisor
     * started later adopts them).
     */
    @Override
    void close();
}
