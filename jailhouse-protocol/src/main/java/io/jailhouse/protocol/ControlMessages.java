package io.jailhouse.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.config.PciDevice;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.IvshmemAttachment;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.protocol.LoadImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON shape of the protocol's values (cells, statistics, console
 * chunks, images), written by one side and read by the other. Readers
 * throw IOException for a reply that does not have the shape: that is a
 * daemon of another version, not a user error.
 */
public final class ControlMessages {
    private ControlMessages() {
    }

    public static ObjectNode object() {
        return JsonCodec.object();
    }

    /** A successful reply: {@code "ok": true} and the fields of {@code body}. */
    public static ObjectNode okReply(ObjectNode body) {
        ObjectNode reply = object().put("ok", true);
        reply.setAll(body);
        return reply;
    }

    /** A refusal: {@code "ok": false}, the errno's name and the reason. */
    public static ObjectNode errorReply(io.jailhouse.sys.Errno errno, String message) {
        return object().put("ok", false).put("errno", errno.name()).put("error", message);
    }

    /** A request of this protocol version. */
    public static ObjectNode request(String op) {
        return object().put("version", ControlProtocol.VERSION).put("op", op);
    }

    public static ObjectNode cellRef(CellRef ref) {
        return ref.byId() ? object().put("id", ref.id()) : object().put("name", ref.name());
    }

    /** An image of a load whose bytes are the request's descriptor number {@code fd} (counted from 0). */
    public static ObjectNode image(LoadImage image, int fd) {
        return object().put("source", image.source()).put("address", image.address())
                .put("length", image.data().length).put("fd", fd);
    }

    public static ObjectNode cellStatus(CellStatus s) {
        ObjectNode n = object().put("id", s.id()).put("name", s.name()).put("state", s.stateText());
        s.assignedCpus().forEach(n.putArray("assigned_cpus")::add);
        s.failedCpus().forEach(n.putArray("failed_cpus")::add);
        if (s.pid() != 0) {
            n.put("pid", s.pid());
        }
        return n;
    }

    /** A {@code cell.list} reply's fields: the partitioning and every cell. */
    public static ObjectNode cellList(CellList list) {
        ObjectNode n = object().put("partitioning", list.partitioning().name().toLowerCase(java.util.Locale.ROOT));
        ArrayNode cells = n.putArray("cells");
        list.cells().forEach(c -> cells.add(cellStatus(c)));
        return n;
    }

    /** A {@code cell.list} reply's fields read back. */
    public static CellList cellList(JsonNode n) throws IOException {
        List<CellStatus> cells = new ArrayList<>();
        for (JsonNode c : array(n, "cells")) {
            cells.add(cellStatus(c));
        }
        return new CellList(partitioning(n), cells);
    }

    public static Partitioning partitioning(JsonNode n) throws IOException {
        String p = text(n, "partitioning");
        try {
            return Partitioning.valueOf(p.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw malformed("partitioning \"" + p + "\"");
        }
    }

    /** A {@code status} reply's fields: the cell list's, and the hypervisor's figures beside them. */
    public static ObjectNode status(DaemonStatus s) {
        ObjectNode n = cellList(s.cells());
        n.put("release", s.release()).put("pid", s.pid()).put("system", s.system())
                .put("started_ms", s.startedMillis()).put("uptime_ms", s.uptimeMillis())
                .put("supervisor_rss", s.supervisorRss());
        n.putObject("pool").put("mem_used", s.pool().memUsed()).put("mem_total", s.pool().memTotal())
                .put("remap_used", s.pool().remapUsed()).put("remap_total", s.pool().remapTotal());
        ObjectNode rss = n.putObject("cell_rss");
        s.cellRss().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> rss.put(Integer.toString(e.getKey()), e.getValue()));
        return n;
    }

    public static DaemonStatus daemonStatus(JsonNode n) throws IOException {
        JsonNode pool = field(n, "pool");
        java.util.Map<Integer, Long> rss = new java.util.HashMap<>();
        JsonNode byCell = field(n, "cell_rss");
        for (var it = byCell.fieldNames(); it.hasNext(); ) {
            String id = it.next();
            try {
                rss.put(Integer.parseInt(id), integer(byCell, id));
            } catch (NumberFormatException e) {
                throw malformed("cell_rss key \"" + id + "\" is no cell id");
            }
        }
        return new DaemonStatus(text(n, "release"), integer(n, "pid"), text(n, "system"), integer(n, "started_ms"),
                integer(n, "uptime_ms"), new DaemonStatus.PoolUsage(integer(pool, "mem_used"),
                        integer(pool, "mem_total"), integer(pool, "remap_used"), integer(pool, "remap_total")),
                integer(n, "supervisor_rss"), cellList(n), rss);
    }

    public static CellStatus cellStatus(JsonNode n) throws IOException {
        String text = text(n, "state");
        CellState state = null;
        for (CellState s : CellState.values()) {
            if (s.text().equals(text)) {
                state = s;
            }
        }
        JsonNode pid = n.get("pid");
        if (pid != null && !pid.canConvertToLong()) {
            throw new IOException("\"pid\" is not a number");
        }
        return new CellStatus(integer(n, "id").intValue(), text(n, "name"), state, cpus(n, "assigned_cpus"),
                cpus(n, "failed_cpus"), pid == null ? 0 : pid.asLong());
    }

    public static ObjectNode statistics(CellStatistics s) {
        ObjectNode n = object().put("id", s.cellId()).put("name", s.cellName());
        n.set("total", counters(s.total()));
        ArrayNode cpus = n.putArray("cpus");
        s.perCpu().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> cpus.addObject().put("cpu", e.getKey()).set("counters", counters(e.getValue())));
        if (s.note() != null) {
            n.put("note", s.note());
        }
        return n;
    }

    public static CellStatistics statistics(JsonNode n) throws IOException {
        Map<Integer, Map<String, Long>> perCpu = new LinkedHashMap<>();
        for (JsonNode cpu : array(n, "cpus")) {
            perCpu.put(integer(cpu, "cpu").intValue(), counters(field(cpu, "counters")));
        }
        JsonNode note = n.get("note");
        if (note != null && !note.isTextual()) {
            throw malformed("note is not a string");
        }
        return new CellStatistics(integer(n, "id").intValue(), text(n, "name"), counters(field(n, "total")), perCpu,
                note == null ? null : note.asText());
    }

    private static ObjectNode counters(Map<String, Long> counters) {
        ObjectNode n = object();
        counters.forEach(n::put);
        return n;
    }

    private static Map<String, Long> counters(JsonNode n) throws IOException {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            if (!e.getValue().isIntegralNumber()) {
                throw malformed("counter " + e.getKey() + " is not an integer");
            }
            m.put(e.getKey(), e.getValue().longValue());
        }
        return m;
    }

    public static ObjectNode chunk(ConsoleChunk c) {
        ObjectNode n = object().put("data", Base64.getEncoder().encodeToString(c.data())).put("missed", c.missed())
                .put("next", c.next());
        if (c.kept().length > 0) {
            n.put("kept", Base64.getEncoder().encodeToString(c.kept()));
        }
        return n;
    }

    public static ConsoleChunk chunk(JsonNode n) throws IOException {
        try {
            byte[] kept = n.hasNonNull("kept") ? Base64.getDecoder().decode(text(n, "kept")) : new byte[0];
            return new ConsoleChunk(Base64.getDecoder().decode(text(n, "data")), integer(n, "missed"),
                    integer(n, "next"), kept);
        } catch (IllegalArgumentException e) {
            throw malformed("console data is not base64");
        }
    }

    public static ObjectNode events(EventBatch b) {
        ObjectNode n = object().put("lost", b.lost()).put("next", b.next());
        ArrayNode list = n.putArray("events");
        b.events().forEach(e -> list.add(event(e)));
        return n;
    }

    /** One event as {@code jailhouse events --json} prints it, the time in ISO 8601 (UTC). */
    public static ObjectNode event(CellEvent e) {
        return object().put("seq", e.seq()).put("time", CellEvent.formatTime(e.timeMillis()))
                .put("event", e.type().text()).put("cell", e.cell()).put("id", e.cellId()).put("detail", e.detail());
    }

    public static EventBatch events(JsonNode n) throws IOException {
        List<CellEvent> events = new ArrayList<>();
        for (JsonNode e : array(n, "events")) {
            events.add(event(e));
        }
        return new EventBatch(events, integer(n, "lost"), integer(n, "next"));
    }

    public static CellEvent event(JsonNode n) throws IOException {
        CellEvent.Type type = CellEvent.Type.ofText(text(n, "event"));
        if (type == null) {
            throw malformed("unknown event \"" + text(n, "event") + "\"");
        }
        long time;
        try {
            time = java.time.Instant.parse(text(n, "time")).toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
            throw malformed("event time is not an ISO 8601 instant");
        }
        return new CellEvent(integer(n, "seq"), time, type, text(n, "cell"), integer(n, "id").intValue(),
                text(n, "detail"));
    }

    public static ObjectNode ivshmemLinks(List<IvshmemLinkStatus> links) {
        ObjectNode n = object();
        ArrayNode list = n.putArray("links");
        for (IvshmemLinkStatus l : links) {
            ObjectNode o = list.addObject().put("bdf", PciDevice.formatBdf(l.bdf())).put("root_peer_id", l.rootPeerId())
                    .put("max_peers", l.maxPeers()).put("vectors", l.vectors()).put("protocol", l.protocol())
                    .put("attached", l.attached());
            ArrayNode peers = o.putArray("peers");
            l.peers().forEach(p -> peers.addObject().put("id", p.id()).put("cell", p.cell()).put("state", p.state()));
        }
        return n;
    }

    public static List<IvshmemLinkStatus> ivshmemLinks(JsonNode n) throws IOException {
        List<IvshmemLinkStatus> out = new ArrayList<>();
        for (JsonNode l : array(n, "links")) {
            List<IvshmemLinkStatus.Peer> peers = new ArrayList<>();
            for (JsonNode p : array(l, "peers")) {
                peers.add(new IvshmemLinkStatus.Peer(int32(p, "id"), text(p, "cell"), integer(p, "state")));
            }
            JsonNode attached = field(l, "attached");
            if (!attached.isBoolean()) {
                throw malformed("\"attached\" is not a boolean");
            }
            out.add(new IvshmemLinkStatus(bdf(l), int32(l, "root_peer_id"), int32(l, "max_peers"), int32(l, "vectors"),
                    int32(l, "protocol"), attached.booleanValue(), peers));
        }
        return out;
    }

    /** An attachment: the device, the sections in the memory file, and the daemon's descriptors. */
    /**
     * The reply to an attach: the attachment's descriptors go with the
     * message ({@link #attachmentFds}); the JSON names each by its place
     * among them.
     */
    public static ObjectNode ivshmemAttachment(IvshmemAttachment a) {
        ObjectNode o = object().put("bdf", PciDevice.formatBdf(a.bdf())).put("peer_id", a.peerId())
                .put("max_peers", a.maxPeers()).put("vectors", a.vectors()).put("protocol", a.protocol())
                .put("memory_file", a.memoryFile().toString());
        o.set("state_table", section(a.stateTable()));
        o.set("rw_section", section(a.readWrite()));
        ArrayNode outputs = o.putArray("output_sections");
        a.outputs().forEach(s -> outputs.add(section(s)));
        int[] at = {0};
        o.put("register_fd", at[0]++);
        a.interruptFds().forEach(fd -> o.withArray("interrupt_fds").add(at[0]++));
        ArrayNode bells = o.putArray("doorbell_fds");
        for (List<Integer> row : a.doorbellFds()) {
            ArrayNode r = bells.addArray();
            row.forEach(fd -> r.add(fd < 0 ? -1 : at[0]++));
        }
        return object().set("attachment", o);
    }

    /** The descriptors that go with {@link #ivshmemAttachment(IvshmemAttachment)}'s JSON, in its order. */
    public static int[] attachmentFds(IvshmemAttachment a) {
        List<Integer> fds = new ArrayList<>();
        fds.add(a.registerFd());
        fds.addAll(a.interruptFds());
        a.doorbellFds().forEach(row -> row.stream().filter(fd -> fd >= 0).forEach(fds::add));
        return fds.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * An attachment from the daemon's reply and the descriptors that came
     * with it: every descriptor is named exactly once, or the reply is malformed.
     */
    public static IvshmemAttachment ivshmemAttachment(JsonNode reply, int[] received) throws IOException {
        JsonNode o = field(reply, "attachment");
        List<IvshmemAttachment.Section> outputs = new ArrayList<>();
        for (JsonNode s : array(o, "output_sections")) {
            outputs.add(section(s));
        }
        boolean[] used = new boolean[received.length];
        int register = descriptor(o.get("register_fd"), received, used);
        List<Integer> fds = new ArrayList<>();
        for (JsonNode f : array(o, "interrupt_fds")) {
            fds.add(descriptor(f, received, used));
        }
        List<List<Integer>> bells = new ArrayList<>();
        for (JsonNode row : array(o, "doorbell_fds")) {
            if (!row.isArray()) {
                throw malformed(row + " is not an array of descriptors");
            }
            List<Integer> r = new ArrayList<>();
            for (JsonNode f : row) {
                r.add(f != null && f.isIntegralNumber() && f.intValue() == -1 ? -1 : descriptor(f, received, used));
            }
            bells.add(r);
        }
        for (boolean u : used) {
            if (!u) {
                throw malformed("the reply brought a descriptor it does not name");
            }
        }
        return new IvshmemAttachment(bdf(o), int32(o, "peer_id"), int32(o, "max_peers"), int32(o, "vectors"),
                int32(o, "protocol"), java.nio.file.Path.of(text(o, "memory_file")), section(field(o, "state_table")),
                section(field(o, "rw_section")), outputs, register, fds, bells);
    }

    /** The received descriptor a JSON index names (each may be named once). */
    private static int descriptor(JsonNode index, int[] received, boolean[] used) throws IOException {
        if (index == null || !index.isIntegralNumber() || !index.canConvertToInt() || index.intValue() < 0
                || index.intValue() >= received.length || used[index.intValue()]) {
            throw malformed(index + " does not name one of the " + received.length + " descriptors of the reply");
        }
        used[index.intValue()] = true;
        return received[index.intValue()];
    }

    private static ObjectNode section(IvshmemAttachment.Section s) {
        return object().put("offset", s.offset()).put("size", s.size());
    }

    private static IvshmemAttachment.Section section(JsonNode n) throws IOException {
        return new IvshmemAttachment.Section(integer(n, "offset"), integer(n, "size"));
    }

    private static int bdf(JsonNode n) throws IOException {
        try {
            return PciDevice.parseBdf(text(n, "bdf"));
        } catch (IllegalArgumentException e) {
            throw malformed("bdf: " + e.getMessage());
        }
    }

    public static JsonNode field(JsonNode n, String name) throws IOException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            throw malformed("missing \"" + name + "\"");
        }
        return v;
    }

    public static String text(JsonNode n, String name) throws IOException {
        JsonNode v = field(n, name);
        if (!v.isTextual()) {
            throw malformed("\"" + name + "\" is not a string");
        }
        return v.asText();
    }

    public static Long integer(JsonNode n, String name) throws IOException {
        JsonNode v = field(n, name);
        if (!v.isIntegralNumber()) {
            throw malformed("\"" + name + "\" is not an integer");
        }
        return v.longValue();
    }

    /** An integer field that must fit an int (a larger one is a malformed reply, not to be truncated). */
    public static int int32(JsonNode n, String name) throws IOException {
        long v = integer(n, name);
        if (v != (int) v) {
            throw malformed("\"" + name + "\" " + v + " is out of range");
        }
        return (int) v;
    }

    public static JsonNode array(JsonNode n, String name) throws IOException {
        JsonNode v = field(n, name);
        if (!v.isArray()) {
            throw malformed("\"" + name + "\" is not an array");
        }
        return v;
    }

    public static List<String> texts(JsonNode n, String name) throws IOException {
        List<String> out = new ArrayList<>();
        JsonNode v = n.get(name);
        if (v == null) {
            return out;
        }
        for (JsonNode e : array(n, name)) {
            out.add(e.asText());
        }
        return out;
    }

    private static List<Integer> cpus(JsonNode n, String name) throws IOException {
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : array(n, name)) {
            out.add(e.asInt());
        }
        return out;
    }

    private static IOException malformed(String what) {
        return new IOException("malformed reply from the daemon: " + what);
    }
}
