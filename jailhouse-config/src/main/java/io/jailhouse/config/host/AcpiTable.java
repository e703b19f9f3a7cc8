package io.jailhouse.config.host;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An ACPI table as Linux exports it in {@code /sys/firmware/acpi/tables}: the
 * 36-byte standard header, then the table's own fields. Only the tables config
 * creation reads are decoded: MCFG (PCI MMCONFIG windows) and MADT (IOAPICs).
 * Every read is bounds-checked against the length the header claims and the
 * bytes really there.
 */
public final class AcpiTable {
    public static final String DIR = "/sys/firmware/acpi/tables/";
    static final int HEADER_BYTES = 36;

    /** One MMCONFIG (ECAM) window of the MCFG table. */
    public record McfgAllocation(long base, int segment, int startBus, int endBus) {
    }

    /** An I/O APIC entry of the MADT. */
    public record IoApic(int id, long address, long gsiBase) {
    }

    private final String source;
    private final ByteBuffer data;
    private final int length;

    private AcpiTable(String source, byte[] bytes, String signature) throws HostDataException {
        this.source = source;
        this.data = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < HEADER_BYTES) {
            throw new HostDataException(source, bytes.length + " bytes is too short for an ACPI table header");
        }
        String sig = new String(bytes, 0, 4, StandardCharsets.ISO_8859_1);
        if (!sig.equals(signature)) {
            throw new HostDataException(source, "signature '" + printable(sig) + "', expected '" + signature + "'");
        }
        long len = data.getInt(4) & 0xffffffffL;
        if (len < HEADER_BYTES || len > bytes.length) {
            throw new HostDataException(source, "header says " + len + " bytes, the file has " + bytes.length);
        }
        this.length = (int) len;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return b.toString();
    }

    /** Parses the MCFG table: the PCI segments' MMCONFIG windows. */
    public static List<McfgAllocation> parseMcfg(byte[] bytes, String source) throws HostDataException {
        AcpiTable t = new AcpiTable(source, bytes, "MCFG");
        int first = HEADER_BYTES + 8; // 8 reserved bytes follow the header
        if (t.length < first || (t.length - first) % 16 != 0) {
            throw new HostDataException(source, "length " + t.length + " is not 44 plus a whole number of 16-byte allocations");
        }
        List<McfgAllocation> out = new ArrayList<>();
        for (int off = first; off < t.length; off += 16) {
            int startBus = t.data.get(off + 10) & 0xff;
            int endBus = t.data.get(off + 11) & 0xff;
            if (endBus < startBus) {
                throw new HostDataException(source + " byte " + off, "MMCONFIG allocation ends at bus "
                        + endBus + ", before its start bus " + startBus);
            }
            out.add(new McfgAllocation(t.data.getLong(off), t.data.getShort(off + 8) & 0xffff, startBus, endBus));
        }
        return out;
    }

    /** The I/O APICs listed in the MADT (ACPI signature {@code APIC}). */
    public static List<IoApic> parseMadtIoApics(byte[] bytes, String source) throws HostDataException {
        AcpiTable t = new AcpiTable(source, bytes, "APIC");
        List<IoApic> out = new ArrayList<>();
        int off = HEADER_BYTES + 8; // local APIC address and flags
        while (off < t.length) {
            if (off + 2 > t.length) {
                throw new HostDataException(source + " byte " + off, "truncated interrupt controller entry");
            }
            int type = t.data.get(off) & 0xff;
            int len = t.data.get(off + 1) & 0xff;
            if (len < 2 || off + len > t.length) {
                throw new HostDataException(source + " byte " + off, "entry of type " + type + " with length " + len
                        + " does not fit the table's " + t.length + " bytes");
            }
            if (type == 1) { // I/O APIC: id, reserved, address u32, GSI base u32
                if (len < 12) {
                    throw new HostDataException(source + " byte " + off, "I/O APIC entry of " + len + " bytes, expected 12");
                }
                out.add(new IoApic(t.data.get(off + 2) & 0xff, t.data.getInt(off + 4) & 0xffffffffL,
                        t.data.getInt(off + 8) & 0xffffffffL));
            }
            off += len;
        }
        return out;
    }

    @Override
    public String toString() {
        return source;
    }
}
