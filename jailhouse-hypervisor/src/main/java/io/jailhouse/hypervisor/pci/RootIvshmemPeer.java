package io.jailhouse.hypervisor.pci;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.PciDevice;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The root cell's peer of an ivshmem link. The root cell is the host Linux,
 * so there is no virtual PCI function to program: a host program takes the
 * device's place by attaching to it ({@link #open}), as upstream's root
 * cell driver opens its ivshmem device. Its register writes arrive through
 * {@link #writeRegister} with BAR0's offsets and meaning (INT_CONTROL,
 * DOORBELL, STATE); its interrupts leave through {@link Interrupts}, one
 * per vector, with no MSI-X table in between: a vector is delivered when
 * INT_CONTROL bit 0 is set and the vector is below the device's count (1
 * for an INTx-only entry).
 *
 * <p>The peer joins its link when the hypervisor is enabled and stays on it
 * until it is disabled, attached or not, so cells see the root's state
 * entry and "peer cells" lines as upstream. Detaching ({@link #close}) is
 * the device's reset: INT_CONTROL 0, state 0 (vector 0 to the others if it
 * was not 0). One-shot mode is a config-space bit upstream's root driver
 * sets; the root peer has no config space and does not use it.
 *
 * <p>Threads: other peers' threads call {@link #trigger} (lock-free,
 * allocation-free); the attached program's register writes come in on one
 * thread at a time; {@link #open} and {@link #close} run on the management
 * thread while no register writes arrive.
 */
public final class RootIvshmemPeer implements IvshmemPeer {
    /** Where the root's interrupts go. Called on any peer's thread; must not block or allocate. */
    @FunctionalInterface
    public interface Interrupts {
        void raise(int vector);
    }

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(RootIvshmemPeer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String cellName;
    private final IvshmemLink link;
    private final int peerId;
    private final int maxPeers;
    private final int vectors;
    private final MemorySegment stateTable;
    private volatile int intControl;
    @SuppressWarnings("unused") // through STATE as well
    private volatile int state;
    private volatile Interrupts interrupts;
    /** What the routing heard last, per vector; guarded by this. */
    private final boolean[] routed;

    /**
     * The root's peer for PCI device {@code index} of the root cell config
     * {@code root}, which {@link IvshmemLink#validate} accepted.
     *
     * @param stateTable the root's view of the state table page
     */
    public RootIvshmemPeer(CellConfig root, int index, IvshmemLink link, MemorySegment stateTable) {
        PciDevice d = root.pciDevices().get(index);
        if (!d.isIvshmem() || d.bdf() != link.bdf() || d.shmemDevId() >= IvshmemLink.MAX_PEERS
                || d.shmemPeers() > IvshmemLink.MAX_PEERS || d.numMsixVectors() > IvshmemDevice.MAX_VECTORS) {
            throw new IllegalArgumentException(PciConfigSpace.describe(root, index) + " is not a valid ivshmem "
                    + "device of link " + Pci.formatBdf(link.bdf()));
        }
        if (stateTable.byteSize() < 4L * d.shmemPeers()) {
            throw new IllegalArgumentException("the state table view of " + PciConfigSpace.describe(root, index)
                    + " has " + stateTable.byteSize() + " bytes");
        }
        this.cellName = root.name();
        this.link = link;
        this.peerId = d.shmemDevId();
        this.maxPeers = d.shmemPeers();
        this.vectors = d.numMsixVectors();
        this.stateTable = stateTable;
        this.routed = new boolean[interruptCount()];
    }

    @Override
    public String cellName() {
        return cellName;
    }

    @Override
    public IvshmemLink link() {
        return link;
    }

    @Override
    public int peerId() {
        return peerId;
    }

    @Override
    public int maxPeers() {
        return maxPeers;
    }

    @Override
    public int vectors() {
        return vectors;
    }

    /** Interrupts the root can receive: the vector count, or 1 for an INTx-only entry. */
    public int interruptCount() {
        return Math.max(vectors, 1);
    }

    @Override
    public int state() {
        return state;
    }

    @Override
    public MemorySegment stateTable() {
        return stateTable;
    }

    /** INT_CONTROL bit 0. */
    public boolean interruptsEnabled() {
        return intControl != 0;
    }

    /** Whether a program is attached. */
    public boolean isOpen() {
        return interrupts != null;
    }

    @Override
    public void trigger(int vector) {
        Interrupts i = interrupts;
        if (intControl != 0 && vector < interruptCount() && i != null) {
            i.raise(vector);
        }
    }

    /**
     * A program attaches; its interrupts go to {@code interrupts}.
     *
     * @throws IllegalStateException if one is attached already
     */
    public synchronized void open(Interrupts interrupts) {
        if (this.interrupts != null) {
            throw new IllegalStateException(this + " is already attached");
        }
        this.interrupts = interrupts;
    }

    /** The program detaches: interrupts off and unwired, state 0. */
    public synchronized void close() {
        intControl = 0;
        updateRoutes();
        writeState(0);
        interrupts = null;
    }

    /**
     * A register write of the attached program, with BAR0's offsets: only
     * INT_CONTROL, DOORBELL and STATE take effect, as on the register
     * region; everything else is ignored. Ignored entirely while no program
     * is attached.
     */
    public void writeRegister(int offset, int value) {
        if (interrupts == null) {
            return;
        }
        switch (offset) {
            case IvshmemDevice.REG_INT_CONTROL -> {
                intControl = value & 1;
                updateRoutes();
            }
            case IvshmemDevice.REG_DOORBELL -> link.ring(this, value);
            case IvshmemDevice.REG_STATE -> writeState(value);
            default -> {
                // read-only or unused, as on the register region
            }
        }
    }

    @Override
    public void disconnected() {
        intControl = 0;
        updateRoutes();
        writeState(0);
    }

    private void writeState(int value) {
        link.publishState(this, (int) STATE.getAndSet(this, value), value);
    }

    private synchronized void updateRoutes() {
        boolean wired = link.peer(peerId) == this && intControl != 0 && interrupts != null;
        for (int v = 0; v < routed.length; v++) {
            if (routed[v] != wired) {
                routed[v] = wired;
                link.routing().update(this, v, wired, 0, 0);
            }
        }
    }

    @Override
    public String toString() {
        return "ivshmem " + Pci.formatBdf(link.bdf()) + " peer " + peerId + " of the root cell \"" + cellName + "\"";
    }
}
