package io.jailhouse.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;

/**
 * The protocol's JSON: trees read and written with Jackson's streaming
 * parser and generator, without an ObjectMapper. A mapper's configuration,
 * introspection and serializer caches cost a command about 50 ms at start
 * and serve nothing here: messages are trees, never bound to classes.
 *
 * <p>Reading keeps an ObjectMapper's {@code readTree} behaviour: integers
 * become int, long or big-integer nodes by size, floating-point numbers
 * double nodes, a repeated key keeps its last value, empty input is the
 * missing node. Trailing content after the value is refused, strings are
 * bounded by the longest message, and nesting by Jackson's default depth;
 * the tree is built without recursion.
 */
public final class JsonCodec {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(ControlProtocol.MAX_REPLY_BYTES).build())
            .build();

    private JsonCodec() {
    }

    public static ObjectNode object() {
        return NODES.objectNode();
    }

    public static ArrayNode array() {
        return NODES.arrayNode();
    }

    /**
     * The tree of one JSON value.
     *
     * @throws JsonParseException (a {@code JsonProcessingException}) for malformed
     *         JSON or trailing content, with its location
     */
    public static JsonNode read(byte[] json) throws IOException {
        try (JsonParser p = FACTORY.createParser(json)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                return MissingNode.getInstance();
            }
            JsonNode tree = readValue(p, t);
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw new JsonParseException(p, "Trailing token (of type " + trailing
                        + ") found after value (bound as JsonNode): not allowed");
            }
            return tree;
        }
    }

    /** Reads the value that starts at {@code first}; containers are filled with an explicit stack. */
    private static JsonNode readValue(JsonParser p, JsonToken first) throws IOException {
        if (!first.isStructStart()) {
            return scalar(p, first);
        }
        JsonNode root = first == JsonToken.START_OBJECT ? NODES.objectNode() : NODES.arrayNode();
        ArrayDeque<JsonNode> open = new ArrayDeque<>();
        open.push(root);
        while (!open.isEmpty()) {
            JsonNode container = open.peek();
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new JsonParseException(p, "Unexpected end of input inside a "
                        + (container.isObject() ? "JSON object" : "JSON array"));
            }
            if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                open.pop();
                continue;
            }
            String name = null;
            if (container.isObject()) {
                // FIELD_NAME, then the value (the parser enforces the alternation)
                name = p.currentName();
                t = p.nextToken();
            }
            JsonNode value;
            if (t == JsonToken.START_OBJECT) {
                value = NODES.objectNode();
            } else if (t == JsonToken.START_ARRAY) {
                value = NODES.arrayNode();
            } else {
                value = scalar(p, t);
            }
            if (container instanceof ObjectNode o) {
                o.set(name, value);
            } else {
                ((ArrayNode) container).add(value);
            }
            if (t.isStructStart()) {
                open.push(value);
            }
        }
        return root;
    }

    private static JsonNode scalar(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case VALUE_STRING -> NODES.textNode(p.getText());
            case VALUE_NUMBER_INT -> switch (p.getNumberType()) {
                case INT -> NODES.numberNode(p.getIntValue());
                case LONG -> NODES.numberNode(p.getLongValue());
                default -> NODES.numberNode(p.getBigIntegerValue());
            };
            case VALUE_NUMBER_FLOAT -> NODES.numberNode(p.getDoubleValue());
            case VALUE_TRUE -> NODES.booleanNode(true);
            case VALUE_FALSE -> NODES.booleanNode(false);
            case VALUE_NULL -> NODES.nullNode();
            default -> throw new JsonParseException(p, "Unexpected token " + t);
        };
    }

    /** The compact UTF-8 text of {@code tree}. */
    public static byte[] write(JsonNode tree) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            writeValue(g, tree);
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory", e);
        }
        return out.toByteArray();
    }

    /** {@code tree} indented as Jackson's default pretty printer does (what {@code --json} prints). */
    public static String pretty(JsonNode tree) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            writeValue(g, tree);
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory", e);
        }
        return out.toString();
    }

    /**
     * Writes without recursion: a stack of where each open container is;
     * whether one is an object or an array is the generator's context.
     */
    private static void writeValue(JsonGenerator g, JsonNode root) throws IOException {
        ArrayDeque<Iterator<?>> open = new ArrayDeque<>();
        JsonNode next = root;
        String name = null;
        while (true) {
            if (next != null) {
                if (name != null) {
                    g.writeFieldName(name);
                }
                if (next.isObject()) {
                    g.writeStartObject();
                    open.push(next.properties().iterator());
                } else if (next.isArray()) {
                    g.writeStartArray();
                    open.push(next.elements());
                } else {
                    scalar(g, next);
                }
            }
            if (open.isEmpty()) {
                return;
            }
            Iterator<?> it = open.peek();
            if (!it.hasNext()) {
                open.pop();
                if (g.getOutputContext().inObject()) {
                    g.writeEndObject();
                } else {
                    g.writeEndArray();
                }
                next = null;
                name = null;
                continue;
            }
            Object e = it.next();
            if (e instanceof Map.Entry<?, ?> entry) {
                name = (String) entry.getKey();
                next = (JsonNode) entry.getValue();
            } else {
                name = null;
                next = (JsonNode) e;
            }
        }
    }

    private static void scalar(JsonGenerator g, JsonNode n) throws IOException {
        switch (n.getNodeType()) {
            case STRING -> g.writeString(n.textValue());
            case BOOLEAN -> g.writeBoolean(n.booleanValue());
            case NULL, MISSING -> g.writeNull();
            case NUMBER -> {
                switch (n.numberType()) {
                    case INT -> g.writeNumber(n.intValue());
                    case LONG -> g.writeNumber(n.longValue());
                    case BIG_INTEGER -> g.writeNumber(n.bigIntegerValue());
                    case FLOAT -> g.writeNumber(n.floatValue());
                    case DOUBLE -> g.writeNumber(n.doubleValue());
                    default -> g.writeNumber(n.decimalValue());
                }
            }
            case BINARY -> g.writeBinary(n.binaryValue());
            default -> throw new IllegalArgumentException("cannot write a JSON node of type " + n.getNodeType());
        }
    }
}
