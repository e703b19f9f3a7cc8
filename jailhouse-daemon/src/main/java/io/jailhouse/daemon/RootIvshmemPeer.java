package io.jailhouse.daemon;

import io.jailhouse.boundary.PciAdmission;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.PciDevice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

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
 * <p>Cells ring the root through its doorbell slots on the link; the
 * attached program's channel thread reads them and calls {@link #trigger},
 * and applies the program's register writes, one thread at a time;
 * {@link #open} and {@link #close} run on the management thread while no
 * register writes arrive.
 */
public final class RootIvshmemPeer {
    /** Where the root's interrupts go. Called on any peer's thread; must not block or allocate. */
    @FunctionalInterface
    public interface Interrupts {
        void raise(int vector);
    }

    /** BAR0 offsets of the registers a program writes (as a cell's ivshmem device has them). */
    public static final int REG_INT_CONTROL = 0x08;
    public static final int REG_DOORBELL = 0x0c;
    public static final int REG_STATE = 0x10;
    private static final VarHandle STATE;
    private static final VarHandle STATE_ENTRY = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(RootIvshmemPeer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String cellName;
    private final IvshmemLinks.Link link;
    private final int peerId;
    private final int maxPeers;
    private final int vectors;
    private final MemorySegment stateTable;
    private volatile int intControl;
    @SuppressWarnings("unused") // through STATE as well
    private volatile int state;
    private volatile Interrupts interrupts;

    /**
     * The root's peer for PCI device {@code index} of the root cell config
     * {@code root}, which {@link PciAdmission#validateLink} accepted.
     *
     * @param stateTable the root's view of the state table page
     */
    RootIvshmemPeer(CellConfig root, int index, IvshmemLinks.Link link, MemorySegment stateTable) {
        PciDevice d = root.pciDevices().get(index);
        if (!d.isIvshmem() || d.bdf() != link.bdf || d.shmemDevId() >= PciAdmission.MAX_PEERS
                || d.shmemPeers() > PciAdmission.MAX_PEERS || d.numMsixVectors() > PciAdmission.MAX_VECTORS) {
            throw new IllegalArgumentException(PciAdmission.describe(root, index) + " is not a valid ivshmem "
                    + "device of link " + PciDevice.formatBdf(link.bdf));
        }
        if (stateTable.byteSize() < 4L * d.shmemPeers()) {
            throw new IllegalArgumentException("the state table view of " + PciAdmission.describe(root, index)
                    + " has " + stateTable.byteSize() + " bytes");
        }
        this.cellName = root.name();
        this.link = link;
        this.peerId = d.shmemDevId();
        this.maxPeers = d.shmemPeers();
        this.vectors = d.numMsixVectors();
        this.stateTable = stateTable;
    }

    public String cellName() {
        return cellName;
    }

    IvshmemLinks.Link link() {
        return link;
    }

    public int peerId() {
        return peerId;
    }

    public int maxPeers() {
        return maxPeers;
    }

    public int vectors() {
        return vectors;
    }

    /** Interrupts the root can receive: the vector count, or 1 for an INTx-only entry. */
    public int interruptCount() {
        return Math.max(vectors, 1);
    }

    public int state() {
        return state;
    }

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

    /** The program detaches: interrupts off, state 0. */
    public synchronized void close() {
        intControl = 0;
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
            case REG_INT_CONTROL -> intControl = value & 1;
            case REG_DOORBELL -> ring(value);
            case REG_STATE -> writeState(value);
            default -> {
                // read-only or unused, as on the register region
            }
        }
    }

    /**
     * At enable the root has no program attached, so its state is 0; a
     * state table a supervisor before this one left otherwise (its program
     * lost its attachment with it) is set right, and the peers told.
     */
    void clearStaleState() {
        if ((int) STATE_ENTRY.getVolatile(stateTable, 4L * peerId) != 0) {
            STATE_ENTRY.setVolatile(stateTable, 4L * peerId, 0);
            for (int id = 0; id < maxPeers; id++) {
                if (id != peerId) {
                    link.ring(id, 0);
                }
            }
        }
    }

    /** A doorbell of the program (spec 6.2): a vector below the count (1 for INTx) of a peer below 12. */
    private void ring(int value) {
        int vector = value & 0xffff;
        int target = value >>> 16;
        if (vector < interruptCount() && target < PciAdmission.MAX_PEERS) {
            link.ring(target, vector);
        }
    }

    /** Stores the root's state in its state table slot and, if it changed, raises vector 0 on the others. */
    private void writeState(int value) {
        int old = (int) STATE.getAndSet(this, value);
        STATE_ENTRY.setVolatile(stateTable, 4L * peerId, value);
        if (old != value) {
            for (int id = 0; id < maxPeers; id++) {
                if (id != peerId) {
                    link.ring(id, 0);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ivshmem " + PciDevice.formatBdf(link.bdf) + " peer " + peerId + " of the root cell \"" + cellName + "\"";
    }
}
