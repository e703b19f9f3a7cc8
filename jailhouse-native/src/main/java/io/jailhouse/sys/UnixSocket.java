package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Unix-domain {@code SOCK_SEQPACKET} socket: reliable, ordered messages
 * whose boundaries are kept, each of which can carry file descriptors
 * ({@code SCM_RIGHTS}). This is how descriptors (memfds, eventfds, a VM's
 * memory) cross between processes; java.nio's Unix sockets cannot pass them.
 * Calls block: use them from platform threads.
 */
public final class UnixSocket implements AutoCloseable {
    static final int AF_UNIX = 1;
    static final int SOCK_SEQPACKET = 5;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    static final int SO_PEERCRED = 17;
    static final int SO_SNDTIMEO = 21;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_TRUNC = 0x20;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** Linux refuses more per message (SCM_MAX_FD). */
    public static final int MAX_FDS = 253;
    static final int SUN_PATH_BYTES = 108;
    static final long SOCKADDR_UN_BYTES = 2 + SUN_PATH_BYTES;
    static final long MSGHDR_BYTES = 56;
    static final long IOVEC_BYTES = 16;
    static final long CMSG_HEADER_BYTES = 16;

    // Bound on first use, as in Libc.
    private static final class Socket {
        static final MethodHandle H = Libc.downcall("socket",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final class Socketpair {
        static final MethodHandle H = Libc.downcall("socketpair",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    }
    private static final class Bind {
        static final MethodHandle H = Libc.downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Listen {
        static final MethodHandle H = Libc.downcall("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final class Accept4 {
        static final MethodHandle H = Libc.downcall("accept4",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    }
    private static final class Connect {
        static final MethodHandle H = Libc.downcall("connect",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Sendmsg {
        static final MethodHandle H = Libc.downcall("sendmsg",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Sendto {
        static final MethodHandle H = Libc.downcall("sendto",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Recvmsg {
        static final MethodHandle H = Libc.downcall("recvmsg",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Getsockopt {
        static final MethodHandle H = Libc.downcall("getsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    }
    private static final class Setsockopt {
        static final MethodHandle H = Libc.downcall("setsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Shutdown {
        static final MethodHandle H = Libc.downcall("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    /** A message as received: its bytes and the descriptors that came with it (the receiver's to close). */
    public record Message(byte[] data, int[] fds) {
    }

    /** The process at the other end, as the kernel saw it connect ({@code SO_PEERCRED}). */
    public record Peer(int pid, int uid, int gid) {
    }

    private volatile int fd;

    private UnixSocket(int fd) {
        this.fd = fd;
    }

    public int fd() {
        if (fd < 0) {
            throw new IllegalStateException("socket is closed");
        }
        return fd;
    }

    /** Two connected sockets (a channel to hand to a child, or for tests). */
    public static UnixSocket[] pair() throws NativeException {
        MemorySegment state = Libc.callState();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(JAVA_INT, 2);
            int r = (int) Socketpair.H.invokeExact(state, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
            Libc.check(r, state, "socketpair(AF_UNIX, SOCK_SEQPACKET)");
            return new UnixSocket[] {new UnixSocket(fds.getAtIndex(JAVA_INT, 0)), new UnixSocket(fds.getAtIndex(JAVA_INT, 1))};
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("socketpair downcall", t);
        }
    }

    /** A socket listening at {@code path} (which must not exist). */
    public static UnixSocket listen(Path path, int backlog) throws NativeException {
        UnixSocket s = open();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = address(a, path);
            MemorySegment state = Libc.callState();
            int r = (int) Bind.H.invokeExact(state, s.fd, addr, (int) SOCKADDR_UN_BYTES);
            Libc.check(r, state, "bind(" + path + ")");
            r = (int) Listen.H.invokeExact(state, s.fd, backlog);
            Libc.check(r, state, "listen(" + path + ")");
            return s;
        } catch (NativeException | RuntimeException | Error e) {
            s.closeQuietly();
            throw e;
        } catch (Throwable t) {
            s.closeQuietly();
            throw new AssertionError("bind downcall", t);
        }
    }

    /** Connects to the socket listening at {@code path}. */
    public static UnixSocket connect(Path path) throws NativeException {
        UnixSocket s = open();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = address(a, path);
            MemorySegment state = Libc.callState();
            int r;
            do {
                r = (int) Connect.H.invokeExact(state, s.fd, addr, (int) SOCKADDR_UN_BYTES);
            } while (r < 0 && Libc.errno(state) == Errno.EINTR.value());
            Libc.check(r, state, "connect(" + path + ")");
            return s;
        } catch (NativeException | RuntimeException | Error e) {
            s.closeQuietly();
            throw e;
        } catch (Throwable t) {
            s.closeQuietly();
            throw new AssertionError("connect downcall", t);
        }
    }

    /** Waits for and takes the next connection. */
    public UnixSocket accept() throws NativeException {
        MemorySegment state = Libc.callState();
        int r;
        try {
            do {
                r = (int) Accept4.H.invokeExact(state, fd(), MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
            } while (r < 0 && Libc.errno(state) == Errno.EINTR.value());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("accept4 downcall", t);
        }
        Libc.check(r, state, "accept4");
        return new UnixSocket(r);
    }

    private static UnixSocket open() throws NativeException {
        return open(SOCK_SEQPACKET, "SOCK_SEQPACKET");
    }

    private static UnixSocket open(int type, String typeName) throws NativeException {
        MemorySegment state = Libc.callState();
        int r;
        try {
            r = (int) Socket.H.invokeExact(state, AF_UNIX, type | SOCK_CLOEXEC, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("socket downcall", t);
        }
        Libc.check(r, state, "socket(AF_UNIX, " + typeName + ")");
        return new UnixSocket(r);
    }

    /**
     * Sends one datagram to the {@code SOCK_DGRAM} socket at {@code address}:
     * a path, or {@code @name} for the abstract namespace (as systemd's
     * NOTIFY_SOCKET gives it). A socket of its own each time, closed after.
     */
    public static void sendDatagram(String address, byte[] message) throws NativeException {
        byte[] name = address.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length >= SUN_PATH_BYTES || (name[0] != '/' && name[0] != '@')) {
            throw new IllegalArgumentException("datagram socket address \"" + address
                    + "\": a path or @name of at most " + (SUN_PATH_BYTES - 1) + " bytes");
        }
        UnixSocket s = open(SOCK_DGRAM, "SOCK_DGRAM");
        MemorySegment state = Libc.callState();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(SOCKADDR_UN_BYTES, 8);
            addr.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(name, 0, addr, JAVA_BYTE, 2, name.length);
            int length = 2 + name.length;
            if (name[0] == '@') {
                addr.set(JAVA_BYTE, 2, (byte) 0); // abstract: a leading NUL, and the length says where it ends
            } else {
                length = (int) SOCKADDR_UN_BYTES;
            }
            MemorySegment buf = a.allocate(Math.max(1, message.length));
            MemorySegment.copy(message, 0, buf, JAVA_BYTE, 0, message.length);
            long r;
            do {
                r = (long) Sendto.H.invokeExact(state, s.fd, buf, (long) message.length, MSG_NOSIGNAL, addr, length);
            } while (r < 0 && Libc.errno(state) == Errno.EINTR.value());
            Libc.check((int) Math.max(r, -1), state, "sendto(" + address + ")");
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("sendto downcall", t);
        } finally {
            s.closeQuietly(); // our own socket, sent or not
        }
    }

    private static MemorySegment address(Arena a, Path path) {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length >= SUN_PATH_BYTES) {
            throw new IllegalArgumentException("socket path " + path + " is " + bytes.length + " bytes; at most "
                    + (SUN_PATH_BYTES - 1) + " fit");
        }
        MemorySegment addr = a.allocate(SOCKADDR_UN_BYTES, 8);
        addr.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, addr, JAVA_BYTE, 2, bytes.length);
        return addr;
    }

    /** A {@code struct msghdr} with one {@code iovec} of {@code length} bytes at {@code buf}, no control yet. */
    private static MemorySegment header(Arena a, MemorySegment buf, long length) {
        MemorySegment iov = a.allocate(IOVEC_BYTES, 8);
        iov.set(ADDRESS, 0, buf);
        iov.set(JAVA_LONG, 8, length);
        MemorySegment msg = a.allocate(MSGHDR_BYTES, 8);
        msg.set(ADDRESS, 16, iov);
        msg.set(JAVA_LONG, 24, 1);
        return msg;
    }

    private static long cmsgSpace(int fds) {
        return CMSG_HEADER_BYTES + ((4L * fds + 7) & ~7L);
    }

    /**
     * Sends one message with {@code fds} attached (duplicated into the
     * receiver; the sender keeps its own).
     *
     * @throws NativeException EPIPE when the other end is gone
     */
    public void send(byte[] data, int... fds) throws NativeException {
        send(MSG_NOSIGNAL, data, fds);
    }

    /**
     * Sends like {@link #send} if that does not block: false when the
     * receiver's queue is full (it is not reading), and nothing was sent.
     */
    public boolean sendNow(byte[] data, int... fds) throws NativeException {
        try {
            send(MSG_NOSIGNAL | MSG_DONTWAIT, data, fds);
            return true;
        } catch (NativeException e) {
            if (e.errno() == Errno.EAGAIN) {
                return false;
            }
            throw e;
        }
    }

    /**
     * Bounds how long a send waits for a receiver that does not read: past
     * it the send fails with EAGAIN (0: wait forever).
     */
    public void setSendTimeout(int millis) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment timeval = a.allocate(16, 8);
            timeval.set(JAVA_LONG, 0, millis / 1000);
            timeval.set(JAVA_LONG, 8, (millis % 1000) * 1000L);
            MemorySegment state = Libc.callState();
            int r = (int) Setsockopt.H.invokeExact(state, fd(), SOL_SOCKET, SO_SNDTIMEO, timeval, 16);
            Libc.check(r, state, "setsockopt(SO_SNDTIMEO)");
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("setsockopt downcall", t);
        }
    }

    private void send(int flags, byte[] data, int... fds) throws NativeException {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException(fds.length + " descriptors in one message; at most " + MAX_FDS);
        }
        if (data.length == 0 && fds.length == 0) {
            throw new IllegalArgumentException("an empty message reads as the end of the connection");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            MemorySegment msg = header(a, buf, data.length);
            if (fds.length > 0) {
                MemorySegment control = a.allocate(cmsgSpace(fds.length), 8);
                control.set(JAVA_LONG, 0, CMSG_HEADER_BYTES + 4L * fds.length);
                control.set(JAVA_INT, 8, SOL_SOCKET);
                control.set(JAVA_INT, 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    control.set(JAVA_INT, CMSG_HEADER_BYTES + 4L * i, fds[i]);
                }
                msg.set(ADDRESS, 32, control);
                msg.set(JAVA_LONG, 40, control.byteSize());
            }
            MemorySegment state = Libc.callState();
            long r;
            do {
                r = (long) Sendmsg.H.invokeExact(state, fd(), msg, flags);
            } while (r < 0 && Libc.errno(state) == Errno.EINTR.value());
            if (r < 0) {
                throw new NativeException("sendmsg", Libc.errno(state));
            }
            if (r != data.length) {
                throw new NativeException("sendmsg", Errno.EMSGSIZE.value());
            }
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("sendmsg downcall", t);
        }
    }

    /**
     * Receives one message of at most {@code maxBytes} with at most
     * {@code maxFds} descriptors (close-on-exec in this process).
     *
     * @return the message, or null when the other end closed
     * @throws NativeException EMSGSIZE when the message or its descriptors
     *         did not fit (what did arrive is closed: nothing leaks)
     */
    public Message receive(int maxBytes, int maxFds) throws NativeException {
        if (maxFds > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors come in one message");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, maxBytes));
            MemorySegment msg = header(a, buf, maxBytes);
            // Room for one more than asked, so that too many descriptors are seen and closed, not lost.
            MemorySegment control = a.allocate(cmsgSpace(maxFds + 1), 8);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, control.byteSize());
            MemorySegment state = Libc.callState();
            long r;
            do {
                r = (long) Recvmsg.H.invokeExact(state, fd(), msg, MSG_CMSG_CLOEXEC);
            } while (r < 0 && Libc.errno(state) == Errno.EINTR.value());
            if (r < 0) {
                throw new NativeException("recvmsg", Libc.errno(state));
            }
            int flags = msg.get(JAVA_INT, 48);
            int[] fds = descriptors(control, msg.get(JAVA_LONG, 40));
            if (r == 0 && fds.length == 0) {
                return null; // SOCK_SEQPACKET: a zero-length read without data is the end
            }
            if ((flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || fds.length > maxFds) {
                for (int f : fds) {
                    Libc.close(f);
                }
                throw new NativeException("recvmsg (a message over " + maxBytes + " bytes or " + maxFds
                        + " descriptors)", Errno.EMSGSIZE.value());
            }
            byte[] data = new byte[(int) r];
            MemorySegment.copy(buf, JAVA_BYTE, 0, data, 0, (int) r);
            return new Message(data, fds);
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("recvmsg downcall", t);
        }
    }

    /** The SCM_RIGHTS descriptors in the control buffer that recvmsg filled ({@code length} bytes). */
    private static int[] descriptors(MemorySegment control, long length) {
        int[] fds = new int[0];
        long o = 0;
        while (o + CMSG_HEADER_BYTES <= length) {
            long len = control.get(JAVA_LONG, o);
            if (len < CMSG_HEADER_BYTES || o + len > length) {
                break;
            }
            if (control.get(JAVA_INT, o + 8) == SOL_SOCKET && control.get(JAVA_INT, o + 12) == SCM_RIGHTS) {
                int n = (int) ((len - CMSG_HEADER_BYTES) / 4);
                int[] more = Arrays.copyOf(fds, fds.length + n);
                for (int i = 0; i < n; i++) {
                    more[fds.length + i] = control.get(JAVA_INT, o + CMSG_HEADER_BYTES + 4L * i);
                }
                fds = more;
            }
            o += (len + 7) & ~7L;
        }
        return fds;
    }

    /**
     * Waits up to {@code timeoutMillis} until a message (or the end) can be
     * received without blocking.
     *
     * @return false on timeout
     */
    public boolean awaitReadable(int timeoutMillis) throws NativeException {
        return Libc.awaitAny(timeoutMillis, fd()) >= 0;
    }

    /** Who is at the other end (for a connected or accepted socket). */
    public Peer peer() throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = a.allocate(12, 4);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 12);
            MemorySegment state = Libc.callState();
            int r = (int) Getsockopt.H.invokeExact(state, fd(), SOL_SOCKET, SO_PEERCRED, cred, len);
            Libc.check(r, state, "getsockopt(SO_PEERCRED)");
            return new Peer(cred.get(JAVA_INT, 0), cred.get(JAVA_INT, 4), cred.get(JAVA_INT, 8));
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("getsockopt downcall", t);
        }
    }

    /**
     * Ends both directions: a thread blocked in receive on this socket
     * returns (null). Nothing once the socket is closed; never concurrent
     * with {@link #close}, so it cannot reach a reused descriptor number.
     */
    public synchronized void shutdown() throws NativeException {
        if (fd < 0) {
            return;
        }
        MemorySegment state = Libc.callState();
        int r;
        try {
            r = (int) Shutdown.H.invokeExact(state, fd, 2);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("shutdown downcall", t);
        }
        Libc.check(r, state, "shutdown");
    }

    public void closeQuietly() {
        try {
            close();
        } catch (NativeException ignored) {
            // failing already
        }
    }

    @Override
    public synchronized void close() throws NativeException {
        if (fd >= 0) {
            int f = fd;
            fd = -1;
            Libc.close(f);
        }
    }
}
