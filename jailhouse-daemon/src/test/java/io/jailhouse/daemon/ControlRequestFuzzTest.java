package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.FuzzCorpus;
import io.jailhouse.sys.OpenDescriptors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Fuzz target: control requests as a hostile client sends them, mutated from
 * the corpus of well-formed ones (every op, configs in base64) and handed to
 * the daemon's request handling over a hypervisor that answers as the real
 * one does. Every request gets a reply that is {@code ok} or names an errno
 * with a message; none is answered by an exception (which the daemon would
 * log as "failed unexpectedly"); the descriptors that come with requests
 * are all closed.
 */
@Tag("fuzz")
class ControlRequestFuzzTest {
    private static final List<byte[]> CORPUS = FuzzCorpus.of("control-requests");

    private StringWriter logText;
    private ControlOperations operations;
    private ControlOperations.Session session;
    private long descriptorsBefore;

    @BeforeProperty
    void setUp() throws Exception {
        logText = new StringWriter();
        DaemonLog log = new DaemonLog(new PrintWriter(logText));
        operations = new ControlOperations(new FakeHypervisor(RunningDaemon.systemConfig(), Partitioning.RELAXED),
                1, List.of(), log);
        session = operations.session();
        descriptorsBefore = OpenDescriptors.count();
    }

    @AfterProperty
    void tearDown() throws Exception {
        session.close();
        // A leak is growth; the JVM may meanwhile close a descriptor of its own (a cleaned-up earlier
        // test's file, a jar), which is no concern of the requests'.
        assertThat(OpenDescriptors.count()).as("descriptors open after the run (each request's are closed)")
                .isLessThanOrEqualTo(descriptorsBefore);
    }

    /** Values of every JSON type, and the absurd ones: ids beyond 64 bits, negatives, huge exponents. */
    private static final List<String> ODD_VALUES = List.of("null", "true", "0", "-1", "1.5", "1e400", "-0",
            "18446744073709551616", "9223372036854775807", "-9223372036854775808", "340282366920938463463374607431768211456",
            "\"\"", "\"x\"", "\"01:0e.0\"", "\"-1\"", "[]", "[1,2]", "{}", "{\"id\":1}", "{\"name\":\"tiny-demo\"}",
            "{\"id\":-5}", "{\"id\":1e30}", "\"AAAA\"", "[{\"source\":\"a\",\"address\":-4096,\"length\":1,\"fd\":0}]",
            "[{\"source\":\"a\",\"address\":983040,\"length\":18446744073709551615,\"fd\":0}]");

    /** One structural edit: a field's value replaced, a field removed, or an unknown one added. */
    record JsonEdit(int kind, int field, String value) {
        byte[] apply(byte[] request) {
            try {
                var tree = (com.fasterxml.jackson.databind.node.ObjectNode) io.jailhouse.protocol.JsonCodec
                        .read(request);
                List<String> names = new java.util.ArrayList<>();
                tree.fieldNames().forEachRemaining(names::add);
                JsonNode v = io.jailhouse.protocol.JsonCodec.read(value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                if (names.isEmpty()) { // every field removed by earlier edits
                    tree.set("x" + field, v);
                    return io.jailhouse.protocol.JsonCodec.write(tree);
                }
                String name = names.get(Math.floorMod(field, names.size()));
                switch (kind) {
                    case 0 -> tree.set(name, v);
                    case 1 -> tree.remove(name);
                    case 2 -> { // inside a nested object or array, where there is one
                        JsonNode inner = tree.get(name);
                        if (inner instanceof com.fasterxml.jackson.databind.node.ObjectNode o && o.size() > 0) {
                            o.set(o.fieldNames().next(), v);
                        } else if (inner instanceof com.fasterxml.jackson.databind.node.ArrayNode a && !a.isEmpty()
                                && a.get(0) instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
                            List<String> inside = new java.util.ArrayList<>();
                            o.fieldNames().forEachRemaining(inside::add);
                            o.set(inside.get(Math.floorMod(field >> 4, inside.size())), v);
                        } else {
                            tree.set(name, v);
                        }
                    }
                    default -> tree.set("x" + field, v);
                }
                return io.jailhouse.protocol.JsonCodec.write(tree);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Provide
    Arbitrary<byte[]> requests() {
        Arbitrary<JsonEdit> edit = net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, 1 << 20), Arbitraries.of(ODD_VALUES)).as(JsonEdit::new);
        Arbitrary<byte[]> structural = net.jqwik.api.Combinators.combine(Arbitraries.of(CORPUS),
                edit.list().ofMinSize(1).ofMaxSize(3)).as((r, edits) -> {
                    byte[] b = r;
                    for (JsonEdit e : edits) {
                        b = e.apply(b);
                    }
                    return b;
                });
        return Arbitraries.oneOf(structural, FuzzCorpus.mutations(CORPUS, 4));
    }

    @Example
    void everyCorpusRequestIsAnsweredAsWellFormed() throws Exception {
        for (byte[] request : CORPUS) {
            JsonNode reply = answer(request, 1);
            if (!reply.get("ok").asBoolean()) {
                // A well-formed request may still be refused by the hypervisor (a cell that is not there).
                assertThat(reply.get("errno").asText()).as(new String(request)).isIn("ENOENT", "EEXIST", "EINVAL",
                        "EBUSY", "EPERM", "ENODEV");
            }
        }
    }

    @Property(edgeCases = net.jqwik.api.EdgeCasesMode.NONE) // edge values are in the inputs; generated ones grow with the tries
    void everyRequestGetsAnOkOrAnErrnoAndNoneAnException(@ForAll("requests") byte[] request,
            @ForAll @IntRange(min = 0, max = 2) int descriptors) throws Exception {
        JsonNode reply = answer(request, descriptors);
        // Both outcomes must be common, or the mutations only ever test one path.
        net.jqwik.api.statistics.Statistics.collect(reply.get("ok").asBoolean() ? "ok" : "refused");
        net.jqwik.api.statistics.Statistics.coverage(c -> {
            c.check("ok").percentage(p -> p > 1.0);
            c.check("refused").percentage(p -> p > 20.0);
        });
    }

    private JsonNode answer(byte[] request, int descriptors) throws Exception {
        int[] fds = new int[descriptors];
        for (int i = 0; i < descriptors; i++) {
            fds[i] = new LoadImage("fuzz", new byte[4096], 0).toMemfd();
        }
        ControlOperations.Reply reply = operations.handle(request, fds, session, ControlOperations.DETACHED);
        // A reply's descriptors stay the hypervisor's: the client gets copies of them.
        JsonNode body = reply.body();
        assertThat(body.get("ok").isBoolean()).as("%s", body).isTrue();
        if (!body.get("ok").asBoolean()) {
            String errno = body.get("errno").asText();
            assertThat(Arrays.stream(Errno.values()).map(Enum::name)).as("%s", body).contains(errno);
            assertThat(body.get("error").asText()).as("%s", body).isNotBlank().doesNotContain("Exception", "\tat ");
        }
        assertThat(logText.toString()).as("the daemon's log after %s", new String(request))
                .doesNotContain("failed unexpectedly");
        return body;
    }
}
