package io.jailhouse.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The protocol's JSON against an ObjectMapper's, which it replaces, on the same inputs. */
class JsonCodecTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static final List<String> SAMPLES = List.of(
            "{}", "[]", "0", "\"x\"", "null", "true",
            "{\"ok\":true,\"partitioning\":\"strict\",\"cells\":[{\"id\":1,\"name\":\"tiny-demo\",\"state\":\"running\","
                    + "\"assigned_cpus\":[2,3],\"failed_cpus\":[],\"pid\":4242}]}",
            "{\"n\":2147483647,\"m\":2147483648,\"big\":123456789012345678901234567890,\"neg\":-9223372036854775808,"
                    + "\"f\":1.5,\"e\":-2.5E-3}",
            "{\"s\":\"\\u0000 \\\" \\\\ \\n \\u00e9 \\ud83d\\ude00\",\"nested\":{\"a\":[[],[{}],[1,[2,[3]]]]},\"z\":null}",
            "[1,\"two\",{\"three\":[false,null]}]");

    @Test
    void readsTheTreesAMapperReads() throws Exception {
        for (String s : SAMPLES) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            JsonNode ours = JsonCodec.read(b);
            JsonNode theirs = MAPPER.readTree(b);
            assertThat(ours).as(s).isEqualTo(theirs);
            assertThat(ours.getNodeType()).isEqualTo(theirs.getNodeType());
        }
        JsonNode n = JsonCodec.read(SAMPLES.get(7).getBytes(StandardCharsets.UTF_8));
        assertThat(n.get("n").isInt()).isTrue();
        assertThat(n.get("m").isLong()).isTrue();
        assertThat(n.get("big").isBigInteger()).isTrue();
        assertThat(n.get("f").isDouble()).isTrue();
    }

    @Test
    void writesWhatAMapperWrites() throws Exception {
        ObjectMapper pretty = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        for (String s : SAMPLES) {
            JsonNode tree = MAPPER.readTree(s);
            assertThat(JsonCodec.write(tree)).as(s).isEqualTo(MAPPER.writeValueAsBytes(tree));
            assertThat(JsonCodec.pretty(tree)).as(s).isEqualTo(pretty.writeValueAsString(tree));
        }
    }

    @Test
    void aRepeatedKeyKeepsItsLastValueAndEmptyInputIsMissing() throws Exception {
        assertThat(JsonCodec.read("{\"a\":1,\"a\":2}".getBytes(StandardCharsets.UTF_8)).get("a").asInt()).isEqualTo(2);
        assertThat(JsonCodec.read(new byte[0]).isMissingNode()).isTrue();
        assertThat(JsonCodec.read("  \n".getBytes(StandardCharsets.UTF_8)).isMissingNode()).isTrue();
    }

    @Test
    void refusesTrailingContentAndBrokenInputWithItsLocation() {
        assertThatThrownBy(() -> JsonCodec.read("{\"a\":1} {\"b\":2}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(JsonProcessingException.class).hasMessageContaining("Trailing token");
        assertThatThrownBy(() -> JsonCodec.read("{\"a\":[1,2}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(JsonProcessingException.class)
                .satisfies(e -> assertThat(((JsonProcessingException) e).getLocation().getColumnNr()).isEqualTo(10));
        assertThatThrownBy(() -> JsonCodec.read("{\"a\":".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(JsonProcessingException.class);
        assertThatThrownBy(() -> JsonCodec.read("[1,]".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(JsonProcessingException.class);
    }

    @Test
    void deepNestingIsRefusedByTheParserNotTheStack() throws Exception {
        byte[] deep = ("[".repeat(5000) + "]".repeat(5000)).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> JsonCodec.read(deep)).isInstanceOf(JsonProcessingException.class)
                .hasMessageContaining("nesting depth");
        // What can be read can be written back; the generator has the same bound.
        byte[] limit = ("[".repeat(1000) + "]".repeat(1000)).getBytes(StandardCharsets.UTF_8);
        assertThat(JsonCodec.write(JsonCodec.read(limit))).isEqualTo(limit);
        com.fasterxml.jackson.databind.node.ArrayNode tree = JsonCodec.array();
        com.fasterxml.jackson.databind.node.ArrayNode inner = tree;
        for (int i = 0; i < 1000; i++) {
            inner = inner.addArray();
        }
        assertThatThrownBy(() -> JsonCodec.write(tree)).hasRootCauseMessage(
                "Document nesting depth (1001) exceeds the maximum allowed (1000, from "
                        + "`StreamWriteConstraints.getMaxNestingDepth()`)");
    }
}
