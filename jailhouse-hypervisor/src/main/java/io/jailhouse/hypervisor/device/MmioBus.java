package io.jailhouse.hypervisor.device;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The MMIO bus of a cell: the emulated regions of guest-physical address
 * space and their devices.
 *
 * <p>Immutable once built. Regions are kept in arrays sorted by base, so a
 * lookup is a binary search (logarithmic, allocation-free); MMIO exits are
 * rare compared to port I/O and the address space too large for a table.
 * Addresses are guest-physical and non-negative.
 */
public final class MmioBus {
    private final long[] bases;
    private final long[] sizes;
    private final MmioDevice[] devices;

    private MmioBus(long[] bases, long[] sizes, MmioDevice[] devices) {
        this.bases = bases;
        this.sizes = sizes;
        this.devices = devices;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The index of the region holding all of {@code [address, address+size)},
     * or -1 if none does (no region there, or the access crosses a region's end).
     */
    public int indexOf(long address, int size) {
        if (size <= 0) {
            return -1;
        }
        int i = Arrays.binarySearch(bases, address);
        if (i < 0) {
            i = -i - 2; // the last region whose base is below address
            if (i < 0) {
                return -1;
            }
        }
        long offset = address - bases[i];
        // offset + size <= sizes[i], written so that nothing can overflow
        return size <= sizes[i] && offset <= sizes[i] - size ? i : -1;
    }

    /** Base address of region {@code index} (from {@link #indexOf}). */
    public long base(int index) {
        return bases[index];
    }

    /** Size in bytes of region {@code index}. */
    public long size(int index) {
        return sizes[index];
    }

    public MmioDevice device(int index) {
        return devices[index];
    }

    /** Number of regions; indices run from 0 to count()-1 in ascending address order. */
    public int count() {
        return bases.length;
    }

    /** Collects regions; {@link #build()} sorts them. Not for vCPU threads. */
    public static final class Builder {
        private record Region(long base, long size, MmioDevice device) {
            long last() {
                return base + (size - 1);
            }

            @Override
            public String toString() {
                return String.format("0x%x-0x%x (%s)", base, last(), device.getClass().getSimpleName());
            }
        }

        private final List<Region> regions = new ArrayList<>();

        private Builder() {
        }

        /**
         * Gives guest-physical addresses {@code base .. base+size-1} to {@code d}.
         *
         * @throws IllegalArgumentException if the region is empty, negative or wraps, or
         *         overlaps one added before (the message names both)
         */
        public Builder add(long base, long size, MmioDevice d) {
            Objects.requireNonNull(d, "device");
            if (size <= 0 || base < 0 || base > Long.MAX_VALUE - (size - 1)) {
                throw new IllegalArgumentException(String.format(
                        "MMIO region base 0x%x size 0x%x (%s) is empty or outside the address space",
                        base, size, d.getClass().getSimpleName()));
            }
            Region r = new Region(base, size, d);
            for (Region o : regions) {
                if (r.base <= o.last() && o.base <= r.last()) {
                    throw new IllegalArgumentException("MMIO region " + r + " overlaps MMIO region " + o);
                }
            }
            regions.add(r);
            return this;
        }

        public MmioBus build() {
            List<Region> sorted = new ArrayList<>(regions);
            sorted.sort(Comparator.comparingLong(Region::base));
            int n = sorted.size();
            long[] bases = new long[n];
            long[] sizes = new long[n];
            MmioDevice[] devices = new MmioDevice[n];
            for (int i = 0; i < n; i++) {
                Region r = sorted.get(i);
                bases[i] = r.base;
                sizes[i] = r.size;
                devices[i] = r.device;
            }
            return new MmioBus(bases, sizes, devices);
        }
    }
}
