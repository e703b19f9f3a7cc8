package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jailhouse.protocol.Partitioning;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.jailhouse.protocol.ControlClient;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.sys.Libc;

/** The wire protocol: framing and every way a request can be wrong, each answered without harm to others. */
class ProtocolTest {
    static final String PING = "{\"version\":2,\"op\":\"ping\"}";

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
            assertThat(r.get("version").asInt()).isEqualTo(2);
            assertThat(r.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
            assertThat(r.get("partitioning").asText()).isEqualTo("strict");
            assertThat(r.get("system").asText()).isEqualTo("QEMU-VM");
            assertThat(r.get("notices").get(0).asText()).contains("strict partitioning");
        }
    }

    @Test
    void requestsOnOneConnectionAreAnsweredInOrder() throws IOException {
        try (RawConnection c = connect()) {
            c.sendFrame("{\"version\":2,\"op\":\"cell.list\"}");
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
            assertError(c.exchange("{\"version\":1,\"op\":\"ping\"}"), "EPROTO", "protocol version 1 is not supported",
                    "version 2");
            assertError(c.exchange("{\"version\":\"2\",\"op\":\"ping\"}"), "EPROTO", "not supported");
            assertError(c.exchange("{\"op\":\"ping\"}"), "EPROTO", "no \"version\"");
            assertStillServing(c);
        }
    }

    @Test
    void aMessageOverTheLimitOrOfUnknownFramingIsRefusedAndTheConnectionGoesOn() throws Exception {
        int big = memfdOf(new byte[ControlProtocol.MAX_REQUEST_BYTES + 1]);
        try (RawConnection c = connect()) {
            c.sendPacket(new byte[] {1}, big); // framing 1: the message is in the memfd that comes first
            assertError(c.reply(), "EMSGSIZE", (ControlProtocol.MAX_REQUEST_BYTES + 1) + " bytes",
                    "limit is " + ControlProtocol.MAX_REQUEST_BYTES);
            c.sendPacket(new byte[] {7, '{', '}'});
            assertError(c.reply(), "EPROTO", "unknown framing");
            c.sendPacket(new byte[] {1}); // a memfd framing without the memfd
            assertError(c.reply(), "EPROTO", "unknown framing");
            assertStillServing(c);
        } finally {
            Libc.close(big);
        }
        assertThat(io.jailhouse.sys.OpenDescriptors.targets()).as("nothing of the refused messages stays open in the daemon")
                .doesNotContain("memfd:jailhouse-big");
    }

    @Test
    void descriptorsGoOnlyWithLoadsAndEachImageNamesItsOwn() throws Exception {
        int image = memfdOf(new byte[] {(byte) 0xf4});
        int[] pipe = Libc.pipe(Libc.O_CLOEXEC);
        try (RawConnection c = connect()) {
            assertError(c.exchange(PING, image), "EINVAL", "ping takes no descriptors; 1 came with it");
            String load = "{\"version\":2,\"op\":\"cell.load\",\"cell\":{\"name\":\"QEMU-VM\"},\"images\":";
            assertError(c.exchange(load + "[{\"source\":\"a\",\"address\":0,\"length\":1,\"fd\":0}]}"),
                    "EINVAL", "1 images came with 0 descriptors");
            assertError(c.exchange(load + "[{\"source\":\"a\",\"address\":0,\"length\":1,\"fd\":1}]}", image),
                    "EINVAL", "images[0].fd 1 does not name one of the request's 1 descriptors");
            assertError(c.exchange(load + "[{\"source\":\"a\",\"address\":0,\"length\":1,\"fd\":0},"
                    + "{\"source\":\"b\",\"address\":0,\"length\":1,\"fd\":0}]}", image, image),
                    "EINVAL", "images[1].fd 0 does not name");
            assertError(c.exchange(load + "[{\"source\":\"a\",\"address\":0,\"length\":2,\"fd\":0}]}", image),
                    "EINVAL", "image a announces 2 bytes, its file holds 1");
            assertError(c.exchange(load + "[{\"source\":\"fifo\",\"address\":0,\"length\":1,\"fd\":0}]}", pipe[0]),
                    "EINVAL", "image fifo does not come as a memfd");
            int disk = openPlainFile();
            try {
                assertError(c.exchange(load + "[{\"source\":\"disk\",\"address\":0,\"length\":1,\"fd\":0}]}", disk),
                        "EINVAL", "image disk does not come as a memfd but as another kind of file");
            } finally {
                Libc.close(disk);
            }
            assertError(c.exchange(load + "[{\"source\":\"a\",\"address\":0,\"length\":-1,\"fd\":0}]}", image),
                    "EINVAL", "images[0].length must not be negative");
            assertError(c.exchange(load + "[{\"source\":\"a\",\"address\":0,\"length\":1,\"fd\":0}]}", image),
                    "EINVAL", "root cell"); // a well-formed load, refused by the hypervisor
            assertStillServing(c);
        } finally {
            Libc.close(image);
            Libc.close(pipe[0]);
            Libc.close(pipe[1]);
        }
        assertThat(io.jailhouse.sys.OpenDescriptors.targets()).as("every descriptor a request brought is closed once it is answered")
                .doesNotContain("memfd:jailhouse-big", "memfd:jailhouse-test-image (deleted)", "pipe:");
    }

    @Test
    void aMessageInAFileThatIsNotAMemfdIsRefusedUnread() throws Exception {
        // A file on a disk (or FUSE, or NFS) could make the daemon's read of it block.
        int disk = openPlainFile();
        try (RawConnection c = connect()) {
            c.sendPacket(new byte[] {1}, disk);
            assertError(c.reply(), "EPROTO", "a message in a file that is not a memfd");
            assertStillServing(c);
        } finally {
            Libc.close(disk);
        }
    }

    /** A small regular file on the build's disk (not tmpfs: that would pass as a memory file), open for reading. */
    private static int openPlainFile() throws Exception {
        Path f = Path.of("target", "protocol-test-plain-file");
        java.nio.file.Files.write(f, PING.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return Libc.open(f.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
    }

    private static int memfdOf(byte[] bytes) throws Exception {
        return new io.jailhouse.protocol.LoadImage(bytes.length > 100 ? "big" : "test-image", bytes, 0).toMemfd();
    }

    @Test
    void malformedJsonIsRefusedAndTheConnectionGoesOn() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":2,\"op\":"), "EBADMSG", "malformed JSON request");
            assertError(c.exchange("not json at all"), "EBADMSG", "malformed JSON");
            assertError(c.exchange(""), "EBADMSG", "empty request");
            assertError(c.exchange("[1,2]"), "EBADMSG", "must be a JSON object (got array)");
            assertError(c.exchange(PING + " {}"), "EBADMSG", "malformed JSON");
            c.sendPacket(new byte[] {0, (byte) 0xc3, 0x28, 0x7b}); // inline framing, invalid UTF-8
            assertError(c.reply(), "EBADMSG", "malformed JSON");
            assertStillServing(c);
        }
    }

    @Test
    void unknownOpIsRefused() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.frobnicate\"}"), "EOPNOTSUPP",
                    "unknown op \"cell.frobnicate\"", "cell.create");
            assertError(c.exchange("{\"version\":2}"), "EINVAL", "no \"op\"");
            assertError(c.exchange("{\"version\":2,\"op\":7}"), "EINVAL", "\"op\" must be a string");
            assertStillServing(c);
        }
    }

    @Test
    void missingOrWrongFieldsAreNamed() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.start\"}"), "EINVAL", "cell.start", "missing field \"cell\"");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.create\"}"), "EINVAL", "missing field \"config\"");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.load\",\"cell\":{\"id\":1}}"), "EINVAL",
                    "missing field \"images\"");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.destroy\",\"cell\":{\"id\":1,\"name\":\"x\"}}"),
                    "EINVAL", "exactly one of \"id\" and \"name\"");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.destroy\",\"cell\":{\"id\":-3}}"), "EINVAL",
                    "not a non-negative integer");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.destroy\",\"cell\":\"x\"}"), "EINVAL",
                    "must be an object");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.load\",\"cell\":{\"id\":1},\"images\":"
                    + "[{\"source\":\"a\",\"length\":1,\"fd\":0}]}", new int[0]), "EINVAL",
                    "1 images came with 0 descriptors");
            assertError(c.exchange("{\"version\":2,\"op\":\"console.read\",\"wait_ms\":\"soon\"}"), "EINVAL",
                    "\"wait_ms\" must be an integer");
            assertError(c.exchange("{\"version\":2,\"op\":\"ivshmem.attach\"}"), "EINVAL", "missing field \"bdf\"");
            assertError(c.exchange("{\"version\":2,\"op\":\"ivshmem.attach\",\"bdf\":368}"), "EINVAL",
                    "\"bdf\" must be a string");
            assertError(c.exchange("{\"version\":2,\"op\":\"ivshmem.attach\",\"bdf\":\"01:2e.0\"}"), "EINVAL",
                    "bdf \"01:2e.0\" is not BB:DD.F");
            assertError(c.exchange("{\"version\":2,\"op\":\"ivshmem.detach\",\"bdf\":\"01:0e.0\"}"), "ENOENT",
                    "this connection is not attached to ivshmem 01:0e.0");
            assertStillServing(c);
        }
    }

    @Test
    void badBase64IsRefused() throws IOException {
        try (RawConnection c = connect()) {
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.create\",\"config\":\"@@not base64@@\"}"), "EINVAL",
                    "field \"config\" is not valid base64");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.create\",\"config\":\"AAAA\"}"), "EINVAL",
                    "cell configuration");
            assertStillServing(c);
        }
    }

    @Test
    void aConnectionClosedWithItsRequestUnansweredAffectsNobodyElse() throws IOException {
        try (RawConnection c = connect()) {
            c.sendFrame("{\"version\":2,\"op\":\"console.read\",\"position\":1000000,\"wait_ms\":5000}");
        }
        try (RawConnection c = connect()) {
            c.sendPacket(new byte[] {0});
        }
        assertStillServing(null);
    }

    @Test
    void aBlockedClientDoesNotHoldUpOthers() throws IOException {
        try (RawConnection waiting = connect()) {
            waiting.sendFrame("{\"version\":2,\"op\":\"console.read\",\"position\":1000000,\"wait_ms\":5000}");
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
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.start\",\"cell\":{\"id\":1},\"force\":true}"),
                    "EINVAL", "\"force\" is for cell.shutdown, cell.destroy and disable");
            assertError(c.exchange("{\"version\":2,\"op\":\"cell.destroy\",\"cell\":{\"id\":1},\"force\":\"yes\"}"),
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
    void fiveHundredIdleConnectionsCostNoThreadsAndOthersAreAnsweredAtOnce() throws Exception {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        int before = threads.getThreadCount();
        java.util.List<RawConnection> idle = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 500; i++) {
                idle.add(connect());
            }
            try (RawConnection c = connect()) {
                long t0 = System.nanoTime();
                assertThat(c.exchange("{\"version\":2,\"op\":\"cell.list\"}").get("ok").asBoolean()).isTrue();
                assertThat((System.nanoTime() - t0) / 1_000_000).as("ms to answer beside 500 idle connections")
                        .isLessThan(1000);
            }
            assertThat(threads.getThreadCount() - before).as("threads the idle connections cost").isLessThan(10);
        } finally {
            idle.forEach(RawConnection::close);
        }
    }

    @Test
    void largeRequestsBeyondTheBudgetAreRefusedWhileOthersAreAnswered() throws Exception {
        String pad = "x".repeat(200 << 10);
        // large requests that wait (console reads) hold their bytes in flight for a while
        String waiting = "{\"version\":2,\"op\":\"console.read\",\"position\":1000000,\"wait_ms\":5000,\"pad\":\""
                + pad + "\"}";
        int holders = (int) (ConnectionPoller.BUDGET_BYTES / waiting.length());
        List<RawConnection> waiters = new java.util.ArrayList<>();
        try (RawConnection second = connect(); RawConnection small = connect()) {
            for (int i = 0; i < holders; i++) {
                RawConnection w = connect();
                waiters.add(w);
                w.sendFrame(waiting);
            }
            long deadline = System.nanoTime() + 4_000_000_000L;
            JsonNode r;
            String bigPing = "{\"version\":2,\"op\":\"ping\",\"pad\":\"" + pad + "\"}";
            do { // a large ping is answered at once until the waiting ones are all being answered
                for (RawConnection w : waiters) { // one refused while a ping was in flight asks again
                    if (w.readable()) {
                        assertError(w.reply(), "EAGAIN", "try again");
                        w.sendFrame(waiting);
                    }
                }
                r = second.exchange(bigPing);
            } while (r.get("ok").asBoolean() && System.nanoTime() < deadline);
            assertError(r, "EAGAIN", "MiB of requests", "try again");
            assertThat(small.exchange(PING).get("ok").asBoolean()).as("small requests go on").isTrue();
            for (RawConnection w : waiters) {
                assertThat(w.reply().get("ok").asBoolean()).isTrue();
            }
        } finally {
            waiters.forEach(RawConnection::close);
        }
    }

    @Test
    void idleConnectionsHugeAnnouncementsAndAClientReadingNoRepliesNeitherDelayNorGrowTheDaemon() throws Exception {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        assertStillServing(null); // the poller runs once the first connection came
        long poller = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("jailhoused-connections")).findFirst().orElseThrow().threadId();
        List<RawConnection> open = new java.util.ArrayList<>();
        int sixty = Libc.memfdCreate("jailhouse-sixty", Libc.MFD_CLOEXEC);
        try {
            Libc.ftruncate(sixty, 60L << 20); // 60 MiB announced, none of it written
            for (int i = 0; i < 500; i++) {
                open.add(connect());
            }
            long allocatedBefore = threads.getThreadAllocatedBytes(poller);
            RawConnection flooder = connect();
            open.add(flooder);
            for (int i = 0; i < 3; i++) {
                RawConnection c = connect();
                open.add(c);
                c.sendPacket(new byte[] {1}, sixty);
                assertError(c.reply(), "EMSGSIZE", (60L << 20) + " bytes");
            }
            // sends refused requests and never reads a reply: once its queue is full it is dropped
            boolean dropped = false;
            for (int i = 0; i < 100_000 && !dropped; i++) {
                try {
                    flooder.sendPacket(new byte[] {7});
                } catch (IOException e) {
                    dropped = true; // EPIPE or ECONNRESET: the daemon closed it
                }
            }
            try (RawConnection c = connect()) {
                long t0 = System.nanoTime();
                assertThat(c.exchange("{\"version\":2,\"op\":\"cell.list\"}").get("ok").asBoolean()).isTrue();
                assertThat((System.nanoTime() - t0) / 1_000_000).as("ms to answer cell.list").isLessThan(1000);
            }
            assertThat(dropped).as("the client that reads no replies lost its connection").isTrue();
            assertThat(threads.getThreadAllocatedBytes(poller) - allocatedBefore)
                    .as("bytes the poller allocated refusing 60 MiB announcements and a flood")
                    .isLessThan(2L << 20);
            assertThat(daemon.log().lines().filter(l -> l.contains("refused request")).count())
                    .as("log lines of hundreds of refused requests (client-caused lines are budgeted)")
                    .isBetween(3L, 25L);
        } finally {
            open.forEach(RawConnection::close);
            Libc.close(sixty);
        }
    }

    @Test
    void connectionsBeyondTheLimitAreToldWhyAndTheOthersAreServed(@TempDir Path other) throws Exception {
        DaemonLog log = new DaemonLog(new java.io.PrintWriter(new java.io.StringWriter()));
        ControlServer server = ControlServer.bind(other.resolve("c.sock"), log, 2);
        try {
            server.serve(new ControlOperations(daemon.fake(), 1, java.util.List.of(), log),
                    PeerAuthorization.rootAnd(Libc.geteuid()), () -> { });
            try (RawConnection a = new RawConnection(other.resolve("c.sock"));
                    RawConnection b = new RawConnection(other.resolve("c.sock"))) {
                assertThat(a.exchange(PING).get("ok").asBoolean()).isTrue();
                assertThat(b.exchange(PING).get("ok").asBoolean()).isTrue();
                try (RawConnection c = new RawConnection(other.resolve("c.sock"))) {
                    assertError(c.reply(), "EBUSY", "too many connections: 2 are open");
                    assertThat(c.reply()).as("and closed").isNull();
                }
                assertThat(a.exchange(PING).get("ok").asBoolean()).as("the others go on").isTrue();
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) { // the two closed: a new one is served once the server has seen them go
                try (RawConnection d = new RawConnection(other.resolve("c.sock"))) {
                    JsonNode r = d.exchange(PING);
                    if (r != null && r.get("ok").asBoolean()) {
                        break;
                    }
                } catch (IOException refusedAndClosedBeforeThePing) {
                    // still at the limit: the server refused this one and closed it first
                }
                assertThat(System.nanoTime()).as("a connection after the others closed").isLessThan(deadline);
                Thread.sleep(20);
            }
        } finally {
            server.close();
        }
    }

    @Test
    void aUserNeitherRootNorTheDaemonsIsRefused(@TempDir Path other) throws Exception {
        // uid 12345 has no account here; only it may talk to this server, so we may not.
        PeerAuthorization onlySomeoneElse = new PeerAuthorization(Set.of(12345), "uid 12345");
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
