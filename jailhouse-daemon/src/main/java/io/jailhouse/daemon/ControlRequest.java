package io.jailhouse.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.config.PciDevice;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.JsonCodec;

/**
 * A request as the daemon received it, with accessors that check each field
 * and say precisely what is wrong, so a client bug never reaches the
 * hypervisor as a half-understood call.
 */
final class ControlRequest {
    private final ObjectNode body;
    private final String op;

    private ControlRequest(ObjectNode body, String op) {
        this.body = body;
        this.op = op;
    }

    /** Parses a frame's body: a JSON object of our protocol version with a known op. */
    static ControlRequest parse(byte[] frame) throws ProtocolException {
        JsonNode tree;
        try {
            tree = JsonCodec.read(frame);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new ProtocolException(Errno.EBADMSG, "malformed JSON request" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ProtocolException(Errno.EBADMSG, "malformed JSON request: " + e.getMessage());
        }
        if (tree == null || tree.isMissingNode()) {
            throw new ProtocolException(Errno.EBADMSG, "empty request: a JSON object is expected");
        }
        if (!(tree instanceof ObjectNode object)) {
            throw new ProtocolException(Errno.EBADMSG, "a request must be a JSON object (got "
                    + tree.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + ")");
        }
        JsonNode version = object.get("version");
        if (version == null) {
            throw new ProtocolException(Errno.EPROTO,
                    "request has no \"version\" (this daemon speaks protocol version " + ControlProtocol.VERSION + ")");
        }
        if (!version.isIntegralNumber() || version.asLong() != ControlProtocol.VERSION) {
            throw new ProtocolException(Errno.EPROTO, "protocol version " + version + " is not supported (this daemon speaks version "
                    + ControlProtocol.VERSION + ")");
        }
        JsonNode op = object.get("op");
        if (op == null) {
            throw new ProtocolException(Errno.EINVAL, "request has no \"op\"");
        }
        if (!op.isTextual()) {
            throw new ProtocolException(Errno.EINVAL, "field \"op\" must be a string");
        }
        if (!ControlProtocol.OPS.contains(op.asText())) {
            throw new ProtocolException(Errno.EOPNOTSUPP, "unknown op \"" + op.asText() + "\" (known: "
                    + String.join(", ", ControlProtocol.OPS) + ")");
        }
        return new ControlRequest(object, op.asText());
    }

    String op() {
        return op;
    }

    private JsonNode required(String field) throws ProtocolException {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            throw invalid("missing field \"" + field + "\"");
        }
        return n;
    }

    private ProtocolException invalid(String what) {
        return new ProtocolException(Errno.EINVAL, op + ": " + what);
    }

    /** {@code "cell": {"id": N}} or {@code "cell": {"name": "..."}}. */
    CellRef cell() throws ProtocolException {
        JsonNode c = required("cell");
        if (!c.isObject()) {
            throw invalid("field \"cell\" must be an object with \"id\" or \"name\"");
        }
        JsonNode id = c.get("id");
        JsonNode name = c.get("name");
        if ((id == null) == (name == null)) {
            throw invalid("field \"cell\" must have exactly one of \"id\" and \"name\"");
        }
        if (id != null) {
            if (!id.canConvertToInt() || !id.isIntegralNumber() || id.intValue() < 0) {
                throw invalid("cell id " + id + " is not a non-negative integer");
            }
            return CellRef.ofId(id.intValue());
        }
        if (!name.isTextual() || name.asText().isEmpty()) {
            throw invalid("cell name must be a non-empty string");
        }
        return CellRef.ofName(name.asText());
    }

    /** {@code "bdf": "BB:DD.F"}. */
    int bdf() throws ProtocolException {
        JsonNode n = required("bdf");
        if (!n.isTextual()) {
            throw invalid("field \"bdf\" must be a string \"BB:DD.F\"");
        }
        try {
            int bdf = PciDevice.parseBdf(n.asText());
            if (bdf < 0 || bdf > 0xffff) {
                throw invalid("bdf \"" + n.asText() + "\" is not a PCI device");
            }
            return bdf;
        } catch (IllegalArgumentException e) {
            throw invalid("bdf \"" + n.asText() + "\" is not BB:DD.F (" + e.getMessage() + ")");
        }
    }

    byte[] base64(String field) throws ProtocolException {
        return decodeBase64(required(field), "field \"" + field + "\"");
    }

    private byte[] decodeBase64(JsonNode n, String what) throws ProtocolException {
        if (!n.isTextual()) {
            throw invalid(what + " must be a base64 string");
        }
        try {
            return Base64.getDecoder().decode(n.asText());
        } catch (IllegalArgumentException e) {
            throw invalid(what + " is not valid base64: " + e.getMessage());
        }
    }

    /** An optional integer field, {@code fallback} when absent. */
    /** A boolean field; absent is false. */
    boolean flag(String field) throws ProtocolException {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw invalid("field \"" + field + "\" must be true or false");
        }
        return n.booleanValue();
    }

    long integer(String field, long fallback) throws ProtocolException {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw invalid("field \"" + field + "\" must be an integer, not " + n);
        }
        return n.longValue();
    }

    /**
     * {@code "images": [{"source": "...", "address": N, "length": N, "fd": K}, ...]},
     * possibly empty: image K's bytes are the request's descriptor K, and
     * each descriptor is named exactly once.
     */
    List<ImageFile> images(int[] fds) throws ProtocolException {
        JsonNode list = required("images");
        if (!list.isArray()) {
            throw invalid("field \"images\" must be an array");
        }
        if (list.size() != fds.length) {
            throw invalid(list.size() + " images came with " + fds.length + " descriptors (one each)");
        }
        boolean[] used = new boolean[fds.length];
        List<ImageFile> images = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            JsonNode image = list.get(i);
            String at = "images[" + i + "]";
            if (!image.isObject()) {
                throw invalid(at + " must be an object");
            }
            JsonNode source = image.get("source");
            if (source == null || !source.isTextual()) {
                throw invalid(at + ".source must be a string");
            }
            long address = integerAt(image, at, "address");
            long length = integerAt(image, at, "length");
            long fd = integerAt(image, at, "fd");
            if (length < 0) {
                throw invalid(at + ".length must not be negative");
            }
            if (fd < 0 || fd >= fds.length || used[(int) fd]) {
                throw invalid(at + ".fd " + fd + " does not name one of the request's " + fds.length
                        + " descriptors (each once)");
            }
            used[(int) fd] = true;
            ImageFile file = new ImageFile(source.asText(), fds[(int) fd], length, address);
            String problem = file.problem();
            if (problem != null) {
                throw invalid(at + ": " + problem);
            }
            images.add(file);
        }
        return images;
    }

    private long integerAt(JsonNode object, String at, String field) throws ProtocolException {
        JsonNode n = object.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw invalid(at + "." + field + " must be a 64-bit integer");
        }
        return n.longValue();
    }
}
