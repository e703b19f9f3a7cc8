package io.jailhouse.hypervisor.device;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;

/**
 * The MMIO windows of a cell that move at run time: the BARs of its emulated
 * PCI functions, which appear where the guest programs them once it sets
 * COMMAND.MEM, move when it re-programs them and disappear when it clears
 * the bit. The {@link MmioBus} of a cell is fixed at creation; the vCPU loop
 * asks this table only when the static bus has no device for an address.
 *
 * <p>Readers (vCPU threads) take {@link #current()}, an immutable
 * {@link Windows} snapshot, and search it: one acquire load, then a binary
 * search, no allocation, no lock. Writers (a vCPU thread handling a config
 * write, or the management thread at reset) build a new snapshot and swap it
 * in with a compare-and-set, retrying if another writer won; an update that
 * changes nothing allocates nothing and tells no one. Updates are rare (BAR
 * programming at guest boot) and allocate two small arrays each.
 *
 * <p>A window is named by its owner (e.g. the PCI function) and an index
 * (e.g. the BAR number). Overlapping windows are allowed (a guest may
 * program two BARs onto each other); an address inside several belongs to
 * the one with the highest base, ties to the one placed last.
 *
 * <p>{@link Listener}s hear of every change after it is visible to readers,
 * on the thread that made it; the KVM side uses them to move ioeventfds.
 */
public final class MmioWindowTable {
    /** Hears where windows go. Called on the thread that changed the table; must be thread-safe. */
    @FunctionalInterface
    public interface Listener {
        /**
         * Window {@code index} of {@code owner} changed: it was at
         * {@code oldBase} (-1: absent) and is now at {@code newBase} (-1:
         * removed) with {@code size} bytes served by {@code device} (the new
         * size and device, or the old ones on removal).
         */
        void windowChanged(Object owner, int index, long oldBase, long newBase, long size, MmioDevice device);
    }

    /** An immutable set of windows, sorted by base; what vCPU threads search. */
    public static final class Windows {
        private final long[] bases;
        private final long[] sizes;
        /** Highest last address (inclusive) among windows 0..i, so a search can stop early. */
        private final long[] maxLast;
        private final MmioDevice[] devices;
        private final Object[] owners;
        private final int[] indices;

        private Windows(long[] bases, long[] sizes, MmioDevice[] devices, Object[] owners, int[] indices) {
            this.bases = bases;
            this.sizes = sizes;
            this.devices = devices;
            this.owners = owners;
            this.indices = indices;
            this.maxLast = new long[bases.length];
            long m = -1;
            for (int i = 0; i < bases.length; i++) {
                m = Math.max(m, bases[i] + (sizes[i] - 1));
                maxLast[i] = m;
            }
        }

        /**
         * The slot of the window holding all of {@code [address, address+size)},
         * or -1 if none does. Allocation-free; logarithmic unless windows overlap.
         */
        public int indexOf(long address, int size) {
            if (size <= 0 || address < 0) {
                return -1;
            }
            int i = Arrays.binarySearch(bases, address);
            if (i < 0) {
                i = -i - 2; // the last window whose base is below address
            } else {
                while (i + 1 < bases.length && bases[i + 1] == address) {
                    i++; // equal bases: the one placed last wins
                }
            }
            for (; i >= 0 && maxLast[i] >= address; i--) {
                long offset = address - bases[i];
                if (size <= sizes[i] && offset <= sizes[i] - size) {
                    return i;
                }
            }
            return -1;
        }

        public long base(int slot) {
            return bases[slot];
        }

        public long size(int slot) {
            return sizes[slot];
        }

        public MmioDevice device(int slot) {
            return devices[slot];
        }

        public Object owner(int slot) {
            return owners[slot];
        }

        /** The owner's index of the window in {@code slot} (e.g. the BAR number). */
        public int windowIndex(int slot) {
            return indices[slot];
        }

        /** Number of windows; slots run from 0 to count()-1 in ascending base order. */
        public int count() {
            return bases.length;
        }

        private int slotOf(Object owner, int index) {
            for (int i = 0; i < owners.length; i++) {
                if (owners[i] == owner && indices[i] == index) {
                    return i;
                }
            }
            return -1;
        }

        /** This set without slot {@code drop} (-1: none) and with the given window added (device null: none). */
        private Windows with(int drop, Object owner, int index, long base, long size, MmioDevice device) {
            int n = bases.length - (drop >= 0 ? 1 : 0) + (device != null ? 1 : 0);
            long[] b = new long[n];
            long[] s = new long[n];
            MmioDevice[] d = new MmioDevice[n];
            Object[] o = new Object[n];
            int[] x = new int[n];
            int k = 0;
            boolean placed = device == null;
            for (int i = 0; i < bases.length; i++) {
                if (i == drop) {
                    continue;
                }
                if (!placed && bases[i] > base) {
                    b[k] = base; s[k] = size; d[k] = device; o[k] = owner; x[k] = index;
                    k++;
                    placed = true;
                }
                b[k] = bases[i]; s[k] = sizes[i]; d[k] = devices[i]; o[k] = owners[i]; x[k] = indices[i];
                k++;
            }
            if (!placed) {
                b[k] = base; s[k] = size; d[k] = device; o[k] = owner; x[k] = index;
            }
            return new Windows(b, s, d, o, x);
        }
    }

    private static final Windows EMPTY = new Windows(new long[0], new long[0], new MmioDevice[0], new Object[0],
            new int[0]);
    private static final Listener[] NO_LISTENERS = new Listener[0];
    private static final VarHandle CURRENT;

    static {
        try {
            CURRENT = MethodHandles.lookup().findVarHandle(MmioWindowTable.class, "current", Windows.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through CURRENT
    private volatile Windows current = EMPTY;
    private volatile Listener[] listeners = NO_LISTENERS;

    /** The windows as they are now: search this snapshot, not the table. One acquire load, no allocation. */
    public Windows current() {
        return (Windows) CURRENT.getAcquire(this);
    }

    /** Adds a listener (at cell creation, before any vCPU runs). */
    public synchronized void addListener(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        Listener[] l = Arrays.copyOf(listeners, listeners.length + 1);
        l[l.length - 1] = listener;
        listeners = l;
    }

    /**
     * Places window {@code index} of {@code owner} at {@code [base, base+size)},
     * moving it if it is elsewhere. Placing it where it is, with the same size
     * and device, changes nothing and allocates nothing.
     *
     * @throws IllegalArgumentException if the window is empty, negative or wraps
     */
    public void put(Object owner, int index, long base, long size, MmioDevice device) {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(device, "device");
        if (size <= 0 || base < 0 || base > Long.MAX_VALUE - (size - 1)) {
            throw new IllegalArgumentException(String.format("MMIO window base 0x%x size 0x%x is empty or outside"
                    + " the address space", base, size));
        }
        while (true) {
            Windows w = current();
            int slot = w.slotOf(owner, index);
            if (slot >= 0 && w.bases[slot] == base && w.sizes[slot] == size && w.devices[slot] == device) {
                return;
            }
            Windows next = w.with(slot, owner, index, base, size, device);
            if (CURRENT.compareAndSet(this, w, next)) {
                notify(owner, index, slot >= 0 ? w.bases[slot] : -1, base, size, device);
                return;
            }
        }
    }

    /** Removes window {@code index} of {@code owner}; false if it was not there. */
    public boolean remove(Object owner, int index) {
        while (true) {
            Windows w = current();
            int slot = w.slotOf(owner, index);
            if (slot < 0) {
                return false;
            }
            Windows next = w.with(slot, null, 0, 0, 0, null);
            if (CURRENT.compareAndSet(this, w, next)) {
                notify(owner, index, w.bases[slot], -1, w.sizes[slot], w.devices[slot]);
                return true;
            }
        }
    }

    /** Where window {@code index} of {@code owner} is, or -1 if it is absent. */
    public long baseOf(Object owner, int index) {
        Windows w = current();
        int slot = w.slotOf(owner, index);
        return slot < 0 ? -1 : w.bases[slot];
    }

    private void notify(Object owner, int index, long oldBase, long newBase, long size, MmioDevice device) {
        Listener[] l = listeners;
        for (int i = 0; i < l.length; i++) {
            l[i].windowChanged(owner, index, oldBase, newBase, size, device);
        }
    }
}
