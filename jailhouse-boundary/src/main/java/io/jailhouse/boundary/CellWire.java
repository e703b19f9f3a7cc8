package io.jailhouse.boundary;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The encoding of the cell channel's messages: a tag byte, then the fields
 * in order (big-endian integers, length-prefixed byte strings and UTF-8
 * text). Decoding checks every length against what is left, so a bad
 * message is refused in bounded time and memory.
 */
final class CellWire {
    private static final int CREATE = 1;
    private static final int LOAD = 2;
    private static final int START = 3;
    private static final int PARK = 4;
    private static final int DESTROY = 5;
    private static final int HELLO = 6;
    private static final int FAILED = 0x41;
    private static final int DONE = 0x42;
    private static final int CREATED = 0x43;
    private static final int LOADED = 0x44;
    private static final int STARTED = 0x45;
    private static final int IDENTITY = 0x46;
    /** More list entries than this are refused (ivshmem devices, images, warnings, CPUs). */
    static final int MAX_ENTRIES = 4096;

    private CellWire() {
    }

    static byte[] encode(CellRequest request) {
        return write(out -> {
            switch (request) {
                case CellRequest.Create c -> {
                    out.writeByte(CREATE);
                    writeCreate(out, c);
                }
                case CellRequest.Load l -> {
                    out.writeByte(LOAD);
                    out.writeInt(l.images().size());
                    for (CellRequest.Image i : l.images()) {
                        out.writeLong(i.address());
                        out.writeLong(i.length());
                        writeText(out, i.source());
                    }
                }
                case CellRequest.Start s -> out.writeByte(START);
                case CellRequest.Park p -> {
                    out.writeByte(PARK);
                    out.writeBoolean(p.failed());
                }
                case CellRequest.Destroy d -> out.writeByte(DESTROY);
                case CellRequest.Hello h -> out.writeByte(HELLO);
            }
        });
    }

    static byte[] encode(CellReply reply) {
        return write(out -> {
            switch (reply) {
                case CellReply.Failed f -> {
                    out.writeByte(FAILED);
                    out.writeInt(f.errno());
                    writeText(out, f.message());
                }
                case CellReply.Done d -> out.writeByte(DONE);
                case CellReply.Created c -> {
                    out.writeByte(CREATED);
                    writeInts(out, c.threadIds());
                }
                case CellReply.Loaded l -> {
                    out.writeByte(LOADED);
                    out.writeBoolean(l.becameLoadable());
                }
                case CellReply.Started s -> {
                    out.writeByte(STARTED);
                    out.writeInt(s.warnings().size());
                    for (String w : s.warnings()) {
                        writeText(out, w);
                    }
                }
                case CellReply.Identity i -> {
                    out.writeByte(IDENTITY);
                    out.writeLong(i.pid());
                    writeCreate(out, i.create());
                    writeInts(out, i.threadIds());
                }
            }
        });
    }

    static CellRequest decodeRequest(byte[] bytes) throws IOException {
        DataInputStream in = reader(bytes);
        int tag = in.readUnsignedByte();
        CellRequest r = switch (tag) {
            case CREATE -> readCreate(in, bytes.length);
            case LOAD -> {
                int n = count(in);
                List<CellRequest.Image> images = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    images.add(new CellRequest.Image(in.readLong(), in.readLong(), readText(in, bytes.length)));
                }
                yield new CellRequest.Load(images);
            }
            case START -> new CellRequest.Start();
            case PARK -> new CellRequest.Park(in.readBoolean());
            case DESTROY -> new CellRequest.Destroy();
            case HELLO -> new CellRequest.Hello();
            default -> throw new IOException("unknown cell request " + tag);
        };
        end(in);
        return r;
    }

    static CellReply decodeReply(byte[] bytes) throws IOException {
        DataInputStream in = reader(bytes);
        int tag = in.readUnsignedByte();
        CellReply r = switch (tag) {
            case FAILED -> new CellReply.Failed(in.readInt(), readText(in, bytes.length));
            case DONE -> new CellReply.Done();
            case CREATED -> new CellReply.Created(readInts(in));
            case LOADED -> new CellReply.Loaded(in.readBoolean());
            case STARTED -> {
                int n = count(in);
                List<String> warnings = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    warnings.add(readText(in, bytes.length));
                }
                yield new CellReply.Started(warnings);
            }
            case IDENTITY -> new CellReply.Identity(in.readLong(), readCreate(in, bytes.length), readInts(in));
            default -> throw new IOException("unknown cell reply " + tag);
        };
        end(in);
        return r;
    }

    private static void writeCreate(DataOutputStream out, CellRequest.Create c) throws IOException {
        out.writeInt(c.cellId());
        writeBytes(out, c.systemConfig());
        writeBytes(out, c.cellConfig());
        writeInts(out, c.hostCpus());
        out.writeInt(c.emulations().size());
        for (String e : c.emulations()) {
            writeText(out, e);
        }
        out.writeInt(c.ivshmem().size());
        for (CellRequest.IvshmemPlan p : c.ivshmem()) {
            out.writeInt(p.deviceIndex());
            out.writeInt(p.slots());
        }
        out.writeInt(c.uid());
    }

    private static CellRequest.Create readCreate(DataInputStream in, int limit) throws IOException {
        int id = in.readInt();
        byte[] system = readBytes(in, limit);
        byte[] cell = readBytes(in, limit);
        int[] hostCpus = readInts(in);
        int n = count(in);
        List<String> emulations = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            emulations.add(readText(in, limit));
        }
        n = count(in);
        List<CellRequest.IvshmemPlan> plans = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            plans.add(new CellRequest.IvshmemPlan(in.readInt(), in.readInt()));
        }
        int uid = in.readInt();
        return new CellRequest.Create(id, system, cell, hostCpus, emulations, plans, uid);
    }

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] write(Body body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            body.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // not for a byte array
        }
        return bytes.toByteArray();
    }

    private static DataInputStream reader(byte[] bytes) throws IOException {
        if (bytes.length == 0) {
            throw new EOFException("empty cell message");
        }
        return new DataInputStream(new ByteArrayInputStream(bytes));
    }

    private static void end(DataInputStream in) throws IOException {
        if (in.available() != 0) {
            throw new IOException(in.available() + " bytes after the end of a cell message");
        }
    }

    private static int count(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_ENTRIES) {
            throw new IOException("a list of " + n + " entries in a cell message");
        }
        return n;
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(DataInputStream in, int limit) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > limit) {
            throw new IOException("a byte string of " + n + " bytes in a cell message of " + limit);
        }
        return in.readNBytes(n);
    }

    private static void writeText(DataOutputStream out, String s) throws IOException {
        writeBytes(out, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String readText(DataInputStream in, int limit) throws IOException {
        return new String(readBytes(in, limit), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void writeInts(DataOutputStream out, int[] v) throws IOException {
        out.writeInt(v.length);
        for (int x : v) {
            out.writeInt(x);
        }
    }

    private static int[] readInts(DataInputStream in) throws IOException {
        int n = count(in);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = in.readInt();
        }
        return v;
    }
}
