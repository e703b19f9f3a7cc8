package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Messages with descriptors between two sockets: what a cell process and the supervisor exchange. */
class UnixSocketTest {
    @TempDir
    Path tmp;

    @Test
    void aMemfdAndAnEventfdCrossAndStayTheSameObjects() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        int memfd = Libc.memfdCreate("shared", Libc.MFD_CLOEXEC);
        int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            Libc.ftruncate(memfd, 4096);
            a.send("here".getBytes(StandardCharsets.UTF_8), memfd, efd);
            UnixSocket.Message m = b.receive(64, 4);
            assertThat(new String(m.data(), StandardCharsets.UTF_8)).isEqualTo("here");
            assertThat(m.fds()).hasSize(2).doesNotContain(memfd, efd);
            try (MemoryMapping mine = MemoryMapping.ofFile(memfd, 0, 4096);
                    MemoryMapping theirs = MemoryMapping.ofFile(m.fds()[0], 0, 4096)) {
                theirs.segment().set(ValueLayout.JAVA_LONG, 0, 0x1234);
                assertThat(mine.segment().get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0x1234);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment one = arena.allocate(8);
                one.set(ValueLayout.JAVA_LONG, 0, 3);
                Libc.write(m.fds()[1], one);
                assertThat(Libc.read(efd, one)).isEqualTo(8);
                assertThat(one.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(3);
            }
            for (int f : m.fds()) {
                Libc.close(f);
            }
            a.send(new byte[] {1, 2, 3});
            assertThat(b.receive(3, 0).data()).containsExactly(1, 2, 3);
            assertThat(b.peer().pid()).isEqualTo(Libc.getpid());
        } finally {
            Libc.close(memfd);
            Libc.close(efd);
        }
    }

    @Test
    void aListeningSocketAcceptsAndTellsWhoConnected() throws Exception {
        Path path = tmp.resolve("cell.sock");
        try (UnixSocket server = UnixSocket.listen(path, 4)) {
            assertThat(path).exists();
            CompletableFuture<UnixSocket> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.accept();
                } catch (NativeException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (UnixSocket client = UnixSocket.connect(path); UnixSocket peer = accepted.get(10, TimeUnit.SECONDS)) {
                assertThat(peer.peer().pid()).isEqualTo(Libc.getpid());
                assertThat(peer.peer().uid()).isEqualTo(client.peer().uid());
                client.send("hello".getBytes(StandardCharsets.UTF_8));
                assertThat(peer.receive(16, 0).data()).isEqualTo("hello".getBytes(StandardCharsets.UTF_8));
                client.close();
                assertThat(peer.receive(16, 0)).as("the end of the connection").isNull();
            }
        }
        assertThatThrownBy(() -> UnixSocket.connect(tmp.resolve("nobody.sock"))).isInstanceOfSatisfying(
                NativeException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        assertThatThrownBy(() -> UnixSocket.listen(tmp.resolve("x".repeat(120)), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 107");
    }

    @Test
    void whatDoesNotFitIsRefusedAndItsDescriptorsClosed() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            a.send(new byte[100]);
            assertThatThrownBy(() -> b.receive(10, 0)).isInstanceOfSatisfying(NativeException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EMSGSIZE));
            long open = OpenDescriptors.count();
            a.send(new byte[] {1}, efd, efd, efd);
            assertThatThrownBy(() -> b.receive(10, 2)).isInstanceOfSatisfying(NativeException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EMSGSIZE));
            assertThat(OpenDescriptors.count()).as("the descriptors that came are closed").isEqualTo(open);
            assertThatThrownBy(() -> a.send(new byte[0])).isInstanceOf(IllegalArgumentException.class);
            // the connection is still good
            a.send(new byte[] {7}, efd);
            UnixSocket.Message m = b.receive(1, 1);
            assertThat(m.data()).containsExactly(7);
            Libc.close(m.fds()[0]);
        } finally {
            Libc.close(efd);
        }
    }

    @Test
    void shutdownWakesAThreadWaitingToReceive() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            CompletableFuture<UnixSocket.Message> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return b.receive(16, 0);
                } catch (NativeException e) {
                    throw new IllegalStateException(e);
                }
            });
            b.shutdown();
            assertThat(waiting.get(10, TimeUnit.SECONDS)).isNull();
            assertThatThrownBy(() -> a.send(new byte[] {1})).isInstanceOfSatisfying(NativeException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EPIPE));
        }
    }
}
