package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jailhouse.protocol.Partitioning;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlProtocol;

/** The wire protocol: framing and every way a request can be wrong, each answered without harm to others. */
class ProtocolTest {
    static final String PING = "{\"version\":1,\"op\":\"ping\"}";

    @TempDir
    Path tmp;
    RunningDaemon daemon;

    @BeforeEach
    void start() throws Exception {
        daemon = RunningDaemon.start(tmp.resolve("run"), Partitioning.STRICT);
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    RawConnection connect() throws IOException {
        return new RawConnection(daemon.socket());
    }

    static void assertError(JsonNode reply, String errno, String... messageParts) {
        assertThat(reply).as("a reply").isNotNull();
        assertThat(reply.get("ok").asBoolean()).as(reply.toString()).isFalse();
        assertThat(reply.get("errno").asText()).as(reply.toString()).isEqualTo(errno);
        assertThat(reply.get("error").asText()).contains(messageParts);
    }

    /** The daemon still answers on this connection and on a new one. */
    void assertStillServing(RawConnection c) throws IOException {
        if (c != null) {
            assertThat(c.exchange(PING).get("ok").asBoolean()).isTrue();
        }
        try (RawConnection other = connect()) {
            assertThat(other.exchange(PING).get("ok").asBoolean()).isTrue();
        }
    }

    @Test
    void pingSaysVersionPidPartitioningAndSystem() throws IOException {
        try (RawConnection c = connect()) {
            JsonNode r = c.exchange(PING);
            assertThat(r.get("ok").asBoolean()).isTrue();
            assertThat(r.get("version").asInt()).isEqualTo(1);
            assertThat(r.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
            assertThat(r.get("partitioning").asText()).isEqualTo("strict");
            assertThat(r.get("system").asText()).isEqualTo("QEMU-VM");
            assertThat(r.get("notices").get(0).asText()).contains("strict partitioning");
        }
    }

    @Test
    void requestsOnOneConnectionAreAnsweredInOrderEvenWhenSplitAcrossWrites() throws IOException {
        byte[] body = "{\"version\":1,\"op\":\"cell.list\"}".getBytes(StandardCharsets.UTF_8);
        byte[] frame = ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
        try (RawConnection c = connect()) {
            c.sendBytes(Arrays.copyOfRange(frame, 0, 2));
            c.sendBytes(Arrays.copyOfRange(frame, 2, 9));
            c.sendBytes(Arrays.copyOfRange(frame, 9, frame.length));
            c.sendFrame(PING);
            JsonNode first = c.reply();
            JsonNode second = c.reply();
            assertThat(first.get("cells").get(0).get("name").asText()).isEqualTo("QEMU-VM");
            assertThat(second.get("system").asText()).isEqualTo("QEMU-VM");
        }
    }

    @Test
    void wrongOrMissingVersionIsRefused() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":2,\"op\":\"ping\"}"), "EPROTO", "protocol version 2 is not supported",
                    "version 1");
            assertError(c.exchange("{\"version\":\"1\",\"op\":\"ping\"}"), "EPROTO", "not supported");
            assertError(c.exchange("{\"op\":\"ping\"}"), "EPROTO", "no \"version\"");
            assertStillServing(c);
        }
    }

    @Test
    void oversizedLengthGetsAnErrorAndOnlyThatConnectionIsClosed() throws IOException {
        try (RawConnection c = connect()) {
            c.sendBytes(ByteBuffer.allocate(4).putInt(ControlProtocol.MAX_MESSAGE_BYTES + 1).array());
            assertError(c.reply(), "EMSGSIZE", "67108865 bytes", "limit of 67108864");
            assertThat(c.reply()).as("connection closed after the error").isNull();
        }
        try (RawConnection c = connect()) {
            c.sendBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
            assertError(c.reply(), "EMSGSIZE", "4294967295 bytes");
        }
        assertStillServing(null);
    }

    @Test
    void malformedJsonIsRefusedAndTheConnectionGoesOn() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":1,\"op\":"), "EBADMSG", "malformed JSON request");
            assertError(c.exchange("not json at all"), "EBADMSG", "malformed JSON");
            assertError(c.exchange(""), "EBADMSG", "empty request");
            assertError(c.exchange("[1,2]"), "EBADMSG", "must be a JSON object (got array)");
            assertError(c.exchange(PING + " {}"), "EBADMSG", "malformed JSON");
            c.sendBytes(new byte[] {0, 0, 0, 3, (byte) 0xc3, 0x28, 0x7b});
            assertError(c.reply(), "EBADMSG", "malformed JSON");
            assertStillServing(c);
        }
    }

    @Test
    void unknownOpIsRefused() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.frobnicate\"}"), "EOPNOTSUPP",
                    "unknown op \"cell.frobnicate\"", "cell.create");
            assertError(c.exchange("{\"version\":1}"), "EINVAL", "no \"op\"");
            assertError(c.exchange("{\"version\":1,\"op\":7}"), "EINVAL", "\"op\" must be a string");
            assertStillServing(c);
        }
    }

    @Test
    void missingOrWrongFieldsAreNamed() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.start\"}"), "EINVAL", "cell.start", "missing field \"cell\"");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.create\"}"), "EINVAL", "missing field \"config\"");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.load\",\"cell\":{\"id\":1}}"), "EINVAL",
                    "missing field \"images\"");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.destroy\",\"cell\":{\"id\":1,\"name\":\"x\"}}"),
                    "EINVAL", "exactly one of \"id\" and \"name\"");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.destroy\",\"cell\":{\"id\":-3}}"), "EINVAL",
                    "not a non-negative integer");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.destroy\",\"cell\":\"x\"}"), "EINVAL",
                    "must be an object");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.load\",\"cell\":{\"id\":1},\"images\":"
                    + "[{\"source\":\"a\",\"data\":\"AA==\"}]}"), "EINVAL", "images[0].address");
            assertError(c.exchange("{\"version\":1,\"op\":\"console.read\",\"wait_ms\":\"soon\"}"), "EINVAL",
                    "\"wait_ms\" must be an integer");
            assertError(c.exchange("{\"version\":1,\"op\":\"ivshmem.attach\"}"), "EINVAL", "missing field \"bdf\"");
            assertError(c.exchange("{\"version\":1,\"op\":\"ivshmem.attach\",\"bdf\":368}"), "EINVAL",
                    "\"bdf\" must be a string");
            assertError(c.exchange("{\"version\":1,\"op\":\"ivshmem.attach\",\"bdf\":\"01:2e.0\"}"), "EINVAL",
                    "bdf \"01:2e.0\" is not BB:DD.F");
            assertError(c.exchange("{\"version\":1,\"op\":\"ivshmem.detach\",\"bdf\":\"01:0e.0\"}"), "ENOENT",
                    "this connection is not attached to ivshmem 01:0e.0");
            assertStillServing(c);
        }
    }

    @Test
    void badBase64IsRefused() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.create\",\"config\":\"@@not base64@@\"}"), "EINVAL",
                    "field \"config\" is not valid base64");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.load\",\"cell\":{\"name\":\"x\"},\"images\":"
                    + "[{\"source\":\"a\",\"data\":\"AA=?\",\"address\":0}]}"), "EINVAL", "images[0].data is not valid base64");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.create\",\"config\":\"AAAA\"}"), "EINVAL",
                    "cell configuration");
            assertStillServing(c);
        }
    }

    @Test
    void aConnectionDroppedMidFrameAffectsNobodyElse() throws IOException {
        try (RawConnection c = connect()) {
            c.sendBytes(new byte[] {0, 0, 1, 0, '{'});
        }
        try (RawConnection c = connect()) {
            c.sendBytes(new byte[] {0, 0});
        }
        assertStillServing(null);
    }

    @Test
    void aBlockedClientDoesNotHoldUpOthers() throws IOException {
        try (RawConnection waiting = connect()) {
            waiting.sendFrame("{\"version\":1,\"op\":\"console.read\",\"position\":1000000,\"wait_ms\":5000}");
            long t0 = System.nanoTime();
            assertStillServing(null);
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(4000);
        }
    }

    @Test
    void forceIsForShutdownDestroyAndDisableAndReachesTheHypervisor() throws Exception {
        try (ControlClient client = daemon.client()) {
            client.createCell(java.nio.file.Files.readAllBytes(RunningDaemon.config("apic-demo.cell")));
            client.shutdownCell(io.jailhouse.protocol.CellRef.ofName("apic-demo"), true);
            assertThat(daemon.fake().lastCaller.force()).isTrue();
            client.shutdownCell(io.jailhouse.protocol.CellRef.ofName("apic-demo"));
            assertThat(daemon.fake().lastCaller.force()).isFalse();
        }
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.start\",\"cell\":{\"id\":1},\"force\":true}"),
                    "EINVAL", "\"force\" is for cell.shutdown, cell.destroy and disable");
            assertError(c.exchange("{\"version\":1,\"op\":\"cell.destroy\",\"cell\":{\"id\":1},\"force\":\"yes\"}"),
                    "EINVAL", "field \"force\" must be true or false");
            assertStillServing(c);
        }
        assertThat(daemon.fake().cellNames()).containsExactly("QEMU-VM", "apic-demo");
    }

    @Test
    void theCurrentUserIsAccepted() throws IOException {
        try (RawConnection c = connect()) {
            assertThat(c.exchange(PING).get("ok").asBoolean()).isTrue();
        }
    }

    @Test
    void aUserNeitherRootNorTheDaemonsIsRefused(@TempDir Path other) throws Exception {
        // uid 12345 has no account here; only it may talk to this server, so we may not.
        var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        PeerAuthorization onlySomeoneElse = new PeerAuthorization(Set.of(lookup.lookupPrincipalByName("12345")), "uid 12345");
        DaemonLog log = new DaemonLog(new java.io.PrintWriter(new java.io.StringWriter()));
        ControlServer server = ControlServer.bind(other.resolve("c.sock"), log);
        try {
            server.serve(new ControlOperations(daemon.fake(), 1, java.util.List.of(), log), onlySomeoneElse, () -> { });
            try (RawConnection c = new RawConnection(other.resolve("c.sock"))) {
                // The refusal comes unasked: the server speaks first and hangs up.
                assertError(c.reply(), "EACCES", "may not control the hypervisor", "only uid 12345");
                assertThat(c.reply()).isNull();
            }
        } finally {
            server.close();
        }
        assertThat(other.resolve("c.sock")).doesNotExist();
    }
}
