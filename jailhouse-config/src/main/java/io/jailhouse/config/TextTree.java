package io.jailhouse.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Builds a Jackson tree from a YAML or JSON document in which every scalar is
 * kept as the text the user wrote. YAML 1.1 resolvers would turn
 * {@code 00:02.0} into a sexagesimal float and {@code 010} into octal; config
 * values (BDFs, hex addresses, sizes like {@code 1M}, CPU ranges) are parsed
 * by the codec instead, with errors that name the entry.
 */
final class TextTree {
    /** Nesting deeper than any config needs; a guard against hostile input. */
    private static final int MAX_DEPTH = 32;

    private TextTree() {
    }

    static JsonNode read(JsonFactory factory, byte[] content, String source) throws ConfigFormatException {
        try (JsonParser p = factory.createParser(content)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new ConfigFormatException(source, null, "the document is empty");
            }
            JsonNode root = value(p, t, 0, source);
            if (p.nextToken() != null) {
                throw new ConfigFormatException(source, "line " + p.currentLocation().getLineNr(),
                        "more than one document");
            }
            return root;
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null ? null : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new ConfigFormatException(source, where, e.getOriginalMessage().lines().findFirst().orElse("syntax error"));
        } catch (IOException e) {
            throw new ConfigFormatException(source, null, e.getMessage());
        }
    }

    private static JsonNode value(JsonParser p, JsonToken t, int depth, String source)
            throws IOException, ConfigFormatException {
        if (depth > MAX_DEPTH) {
            throw new ConfigFormatException(source, "line " + p.currentLocation().getLineNr(), "nested too deeply");
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        switch (t) {
            case START_OBJECT -> {
                ObjectNode o = f.objectNode();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    if (o.has(name)) {
                        throw new ConfigFormatException(source, "line " + p.currentLocation().getLineNr(),
                                "key '" + name + "' appears twice");
                    }
                    o.set(name, value(p, p.nextToken(), depth + 1, source));
                }
                return o;
            }
            case START_ARRAY -> {
                ArrayNode a = f.arrayNode();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) {
                    a.add(value(p, v, depth + 1, source));
                }
                return a;
            }
            case VALUE_NULL -> {
                return f.nullNode();
            }
            default -> {
                return f.textNode(p.getText());
            }
        }
    }
}
