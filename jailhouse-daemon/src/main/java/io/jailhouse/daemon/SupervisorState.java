package io.jailhouse.daemon;

import io.jailhouse.boundary.CellRequest;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a supervisor keeps in the run directory's {@code cells} directory so
 * that the next one can adopt the cells it leaves running: which system
 * config they were made under, where the reserved memory is, and each
 * cell's Create request ({@code ID.plan}, next to its {@code ID.sock}). The
 * files are written whole and renamed into place.
 *
 * @param systemDigest SHA-256 of the system config in the binary format
 */
record SupervisorState(String systemDigest, String systemName, Path memoryFile, Partitioning partitioning) {
    static final String FILE = "supervisor";
    static final String PLAN = ".plan";
    /** Bigger plans are refused when read back (a config is at most 16 MiB). */
    static final long MAX_PLAN_BYTES = 40L << 20;

    static String digest(SystemConfig config) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(BinaryConfigCodec.encode(config)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The state an earlier supervisor left in {@code dir}, or null if none did (or it is unreadable). */
    static SupervisorState read(Path dir) {
        Path f = dir.resolve(FILE);
        try {
            if (!Files.isRegularFile(f) || Files.size(f) > 64 * 1024) {
                return null;
            }
            Map<String, String> kv = new LinkedHashMap<>();
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    kv.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return new SupervisorState(kv.get("system-sha256"), kv.getOrDefault("system", "?"),
                    Path.of(kv.get("memory")), Partitioning.valueOf(kv.get("partitioning").toUpperCase(Locale.ROOT)));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    void write(Path dir) throws IOException {
        String text = "system-sha256=" + systemDigest + "\nsystem=" + systemName + "\nmemory=" + memoryFile
                + "\npartitioning=" + partitioning.name().toLowerCase(Locale.ROOT) + "\n";
        writeWhole(dir.resolve(FILE), text.getBytes(StandardCharsets.UTF_8));
    }

    static void remove(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(FILE));
        } catch (IOException e) {
            // the next enable without cells overwrites it
        }
    }

    /**
     * Refuses to adopt cells made under another system config or
     * partitioning, naming what runs and how to proceed.
     */
    void requireSame(SystemConfig config, Partitioning wanted, List<Integer> cellIds) throws HypervisorException {
        String what = cellIds.size() + " cell" + (cellIds.size() == 1 ? "" : "s") + " (ids " + cellIds
                + ") of an earlier supervisor";
        if (!digest(config).equals(systemDigest)) {
            throw new HypervisorException(Errno.EBUSY, what + " still run under system config \"" + systemName
                    + "\", not \"" + config.rootCell().name() + "\" as given: enable with that system config to adopt"
                    + " them, or end their processes; they are left running");
        }
        if (wanted != partitioning) {
            throw new HypervisorException(Errno.EBUSY, what + " still run with " + partitioning.name()
                    .toLowerCase(Locale.ROOT) + " partitioning: enable with --partitioning "
                    + partitioning.name().toLowerCase(Locale.ROOT) + " to adopt them; they are left running");
        }
    }

    /** The ids of the cells whose plans are kept in {@code dir}, ascending. */
    static List<Integer> cellIds(Path dir) {
        List<Integer> ids = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.endsWith(PLAN)) {
                    try {
                        ids.add(Integer.parseInt(n.substring(0, n.length() - PLAN.length())));
                    } catch (NumberFormatException e) {
                        // not ours
                    }
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        ids.sort(null);
        return ids;
    }

    static void writePlan(Path dir, CellRequest.Create plan) throws HypervisorException {
        try {
            writeWhole(dir.resolve(plan.cellId() + PLAN), CellRequest.encode(plan));
        } catch (IOException e) {
            throw new HypervisorException(Errno.EIO, "cannot keep cell " + plan.cellId() + "'s plan in " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    static CellRequest.Create readPlan(Path dir, int id) throws HypervisorException {
        Path f = dir.resolve(id + PLAN);
        try {
            if (Files.size(f) > MAX_PLAN_BYTES) {
                throw new HypervisorException(Errno.E2BIG, f + " is over " + MAX_PLAN_BYTES + " bytes");
            }
            if (CellRequest.decode(Files.readAllBytes(f)) instanceof CellRequest.Create c && c.cellId() == id) {
                return c;
            }
            throw new HypervisorException(Errno.EINVAL, f + " is not the plan of cell " + id);
        } catch (IOException e) {
            throw new HypervisorException(Errno.EINVAL, f + ": " + e.getMessage(), e);
        }
    }

    static void removePlan(Path dir, int id) {
        try {
            Files.deleteIfExists(dir.resolve(id + PLAN));
        } catch (IOException e) {
            // a stale plan names a cell no process has: adopted as failed, destroyable
        }
    }

    private static void writeWhole(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
