package io.jailhouse.hypervisor.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The port I/O bus of a cell: which device owns each of the 65536 ports.
 *
 * <p>Built once when the cell is created and immutable afterwards, so vCPU
 * threads read it without synchronization (the fields are final and the
 * object is published by a final-field freeze). A lookup is one load from a
 * 64 KiB {@code char} table holding, per port, 1 + the index of the owning
 * range (0 = none), and one load from the device array.
 */
public final class PioBus {
    /** Number of x86 I/O ports. */
    public static final int PORTS = 0x10000;

    private final char[] owner;
    private final PioDevice[] devices;

    private PioBus(char[] owner, PioDevice[] devices) {
        this.owner = owner;
        this.devices = devices;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The device owning {@code port}, or null if none does (or the port is outside 0..0xffff). */
    public PioDevice deviceAt(int port) {
        if ((port & ~0xffff) != 0) {
            return null;
        }
        return devices[owner[port]];
    }

    /**
     * The device serving an access of {@code size} bytes at {@code port}, or
     * null when any of the ports {@code port .. port+size-1} is unowned, lies
     * beyond 0xffff, or belongs to another device (upstream checks every port
     * of an access against the cell's I/O bitmap). {@code size} is 1 to 4.
     */
    public PioDevice deviceFor(int port, int size) {
        if ((port & ~0xffff) != 0 || size < 1 || size > 4 || port + size > PORTS) {
            return null;
        }
        PioDevice d = devices[owner[port]];
        for (int i = 1; i < size; i++) {
            // Identity, not range index: one device may be added as adjacent ranges.
            if (devices[owner[port + i]] != d) {
                return null;
            }
        }
        return d;
    }

    /** Collects port ranges; {@link #build()} makes the lookup table. Not for vCPU threads. */
    public static final class Builder {
        private record Range(int base, int length, PioDevice device) {
            int last() {
                return base + length - 1;
            }

            @Override
            public String toString() {
                return String.format("0x%x-0x%x (%s)", base, last(), device.getClass().getSimpleName());
            }
        }

        private final List<Range> ranges = new ArrayList<>();

        private Builder() {
        }

        /**
         * Gives ports {@code base .. base+length-1} to {@code d}.
         *
         * @throws IllegalArgumentException if the range is empty, leaves 0..0xffff, or overlaps one added before
         */
        public Builder add(int base, int length, PioDevice d) {
            Objects.requireNonNull(d, "device");
            if (length <= 0 || base < 0 || base > 0xffff || length > PORTS - base) {
                throw new IllegalArgumentException(String.format(
                        "port range base 0x%x length %d (%s) is not inside 0x0-0xffff",
                        base, length, d.getClass().getSimpleName()));
            }
            Range r = new Range(base, length, d);
            for (Range o : ranges) {
                if (r.base <= o.last() && o.base <= r.last()) {
                    throw new IllegalArgumentException("port range " + r + " overlaps port range " + o);
                }
            }
            if (ranges.size() == Character.MAX_VALUE) {
                throw new IllegalArgumentException("too many port ranges");
            }
            ranges.add(r);
            return this;
        }

        public PioBus build() {
            char[] owner = new char[PORTS];
            PioDevice[] devices = new PioDevice[ranges.size() + 1]; // slot 0 stays null: "no device"
            for (int i = 0; i < ranges.size(); i++) {
                Range r = ranges.get(i);
                devices[i + 1] = r.device;
                for (int p = r.base; p <= r.last(); p++) {
                    owner[p] = (char) (i + 1);
                }
            }
            return new PioBus(owner, devices);
        }
    }
}
