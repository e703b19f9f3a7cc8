package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The C library calls this project makes, bound with the FFM linker. Every
 * call captures {@code errno} in the same native call
 * ({@link Linker.Option#captureCallState}), so no JVM activity between the
 * call and the read can overwrite it; a failure becomes a
 * {@link NativeException} naming the call and the errno.
 *
 * <p>The capture buffer is one small segment per thread, allocated on the
 * thread's first call and reused afterwards, so steady-state calls allocate no
 * native memory.
 */
public final class Libc {
    /** {@code open} flags (Linux x86-64 values). */
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_EXCL = 0x80;
    public static final int O_TRUNC = 0x200;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup C = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    // Each function is bound in a holder class of its own, so it is bound on first use: binding
    // costs several milliseconds in a cold JVM, and a CLI command uses a handful of the functions
    // the hypervisor does. A holder's field is still a constant the JIT folds into the call.

    // int open(const char *path, int flags, ...): the mode is the variadic argument.
    private static final class Open {
        static final MethodHandle H = downcall("open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    }
    private static final class Close {
        static final MethodHandle H = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }
    // int ioctl(int fd, unsigned long request, ...): one handle per kind of third argument,
    // because a variadic call site fixes the argument's type.
    private static final class IoctlValue {
        static final MethodHandle H = downcall("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
    }
    private static final class IoctlPointer {
        static final MethodHandle H = downcall("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    }

    private static final class Mmap {
        static final MethodHandle H = downcall("mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    }
    private static final class Munmap {
        static final MethodHandle H = downcall("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    }
    private static final class Ftruncate {
        static final MethodHandle H = downcall("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    }
    private static final class Fallocate {
        static final MethodHandle H = downcall("fallocate",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    }
    private static final class MemfdCreate {
        static final MethodHandle H = downcall("memfd_create",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Eventfd {
        static final MethodHandle H = downcall("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final class Read {
        static final MethodHandle H = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }
    private static final class Write {
        static final MethodHandle H = downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }
    private static final class SchedSetaffinity {
        static final MethodHandle H = downcall("sched_setaffinity",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    }
    private static final class Gettid {
        static final MethodHandle H = downcall("gettid", FunctionDescriptor.of(JAVA_INT));
    }
    private static final class Getpid {
        static final MethodHandle H = downcall("getpid", FunctionDescriptor.of(JAVA_INT));
    }
    private static final class Isatty {
        static final MethodHandle H = downcall("isatty", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }
    private static final class Setpriority {
        static final MethodHandle H = downcall("setpriority",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final class Geteuid {
        static final MethodHandle H = downcall("geteuid", FunctionDescriptor.of(JAVA_INT));
    }
    private static final class Tgkill {
        static final MethodHandle H = downcall("tgkill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }
    // long syscall(long number, ...): for pidfd_open, which older C libraries do not wrap.
    private static final class Syscall2 {
        static final MethodHandle H = downcall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    }
    private static final long SYS_PIDFD_OPEN = 434;
    // close_range(first, last, flags): with CLOSE_RANGE_CLOEXEC it marks rather than closes (Linux 5.11).
    private static final class Syscall3 {
        static final MethodHandle H = downcall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }
    private static final long SYS_CLOSE_RANGE = 436;
    private static final long CLOSE_RANGE_CLOEXEC = 4;
    private static final class Execve {
        static final MethodHandle H = downcall("execve", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    }
    // int fcntl(int fd, int cmd, ...): only commands with no third argument are used.
    private static final class Fcntl {
        static final MethodHandle H = downcall("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final int F_GET_SEALS = 1034;
    private static final class Fstat {
        static final MethodHandle H = downcall("fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    }
    private static final class Pread {
        static final MethodHandle H = downcall("pread",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    }
    private static final class Pwrite {
        static final MethodHandle H = downcall("pwrite",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    }
    private static final class Kill {
        static final MethodHandle H = downcall("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final class Pipe2 {
        static final MethodHandle H = downcall("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }
    private static final class Poll {
        static final MethodHandle H = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    }
    private static final class Sigaction {
        static final MethodHandle H = downcall("sigaction",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    }

    /** {@code mmap} protections and flags (Linux x86-64). */
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_HUGETLB = 4;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    public static final int FALLOC_FL_PUNCH_HOLE = 2;
    /** {@code poll} events. */
    public static final short POLLIN = 1;
    public static final short POLLOUT = 4;
    public static final short POLLERR = 8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;
    /** {@code struct pollfd}: int fd, short events, short revents. */
    public static final long POLLFD_BYTES = 8;
    /** {@code struct sigaction} of glibc on x86-64: handler, 128-byte mask, flags, restorer. */
    private static final long SIGACTION_BYTES = 152;
    private static final long SIGACTION_FLAGS_OFFSET = 136;
    /** The size of glibc's {@code cpu_set_t}: 1024 CPUs. */
    public static final int CPU_SET_BYTES = 128;

    private static final ThreadLocal<MemorySegment> CALL_STATE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private Libc() {
    }

    // Binding native functions is what this class is for; the launcher grants native access.
    @SuppressWarnings("restricted")
    static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        MemorySegment symbol = C.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("the C library has no symbol '" + name + "'"));
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        System.arraycopy(extra, 0, options, 0, extra.length);
        options[extra.length] = CAPTURE_ERRNO;
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    static MemorySegment callState() {
        return CALL_STATE_BUFFER.get();
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /**
     * Opens a file; retries when interrupted by a signal.
     *
     * @return the file descriptor
     * @throws NativeException {@code open(PATH): ENOENT (...)} and the like
     */
    public static int open(String path, int flags, int mode) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            MemorySegment state = callState();
            while (true) {
                int fd = (int) Open.H.invokeExact(state, cPath, flags, mode);
                if (fd >= 0) {
                    return fd;
                }
                int err = errno(state);
                if (err != Errno.EINTR.value()) {
                    throw new NativeException("open(" + path + ")", err);
                }
            }
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("open downcall", t);
        }
    }

    /**
     * Closes a file descriptor. Not retried on EINTR: Linux has released the
     * descriptor even then, and a retry could close one another thread just got.
     */
    public static void close(int fd) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Close.H.invokeExact(state, fd);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("close downcall", t);
        }
        if (r != 0) {
            throw new NativeException("close(fd " + fd + ")", errno(state));
        }
    }

    /**
     * An ioctl whose argument is a value (or none: pass 0).
     *
     * @return the call's non-negative result
     * @throws NativeException {@code ioctl(NAME): ERRNO (...)}
     */
    public static int ioctl(int fd, IoctlRequest request, long arg) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) IoctlValue.H.invokeExact(state, fd, request.code(), arg);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("ioctl downcall", t);
        }
        if (r < 0) {
            throw new NativeException("ioctl(" + request.name() + ")", errno(state));
        }
        return r;
    }

    /**
     * An ioctl whose argument points to memory (a struct the kernel reads or
     * fills).
     */
    public static int ioctl(int fd, IoctlRequest request, MemorySegment arg) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) IoctlPointer.H.invokeExact(state, fd, request.code(), arg);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("ioctl downcall", t);
        }
        if (r < 0) {
            throw new NativeException("ioctl(" + request.name() + ")", errno(state));
        }
        return r;
    }

    /**
     * The hot-path ioctl: no exception, no allocation. Returns the result, or
     * the negated errno on failure (e.g. {@code -EINTR} when a vCPU is kicked).
     */
    public static int ioctlRaw(int fd, long request, long arg) {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) IoctlValue.H.invokeExact(state, fd, request, arg);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("ioctl downcall", t);
        }
        return r < 0 ? -errno(state) : r;
    }

    /**
     * Maps {@code length} bytes of {@code fd} (or anonymous memory with fd -1
     * and {@link #MAP_ANONYMOUS}) and returns the mapping as a segment of that
     * length in the global scope: only {@link MemoryMapping} calls it, and
     * puts the segment in an arena whose close unmaps it.
     */
    @SuppressWarnings("restricted") // the kernel gave us exactly this many bytes
    static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) throws NativeException {
        MemorySegment state = callState();
        MemorySegment address;
        try {
            address = (MemorySegment) Mmap.H.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd, offset);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("mmap downcall", t);
        }
        if (address.address() == -1L) {
            throw new NativeException("mmap(" + length + " bytes, fd " + fd + ", offset 0x"
                    + Long.toHexString(offset) + ")", errno(state));
        }
        return address.reinterpret(length);
    }

    static void munmap(MemorySegment mapping) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Munmap.H.invokeExact(state, mapping, mapping.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("munmap downcall", t);
        }
        check(r, state, "munmap");
    }

    public static void ftruncate(int fd, long length) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Ftruncate.H.invokeExact(state, fd, length);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("ftruncate downcall", t);
        }
        check(r, state, "ftruncate(fd " + fd + ", " + length + ")");
    }

    /**
     * {@code fallocate}; with {@link #FALLOC_FL_PUNCH_HOLE} it frees a range of
     * a shared-memory file, which then reads as zeros: how returned cell memory
     * is cleared without touching every page.
     */
    public static void fallocate(int fd, int mode, long offset, long length) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Fallocate.H.invokeExact(state, fd, mode, offset, length);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("fallocate downcall", t);
        }
        check(r, state, "fallocate(fd " + fd + ", 0x" + Long.toHexString(offset) + "+0x" + Long.toHexString(length) + ")");
    }

    /** An anonymous memory file ({@code memfd_create}). */
    public static int memfdCreate(String name, int flags) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState();
            int fd = (int) MemfdCreate.H.invokeExact(state, arena.allocateFrom(name), flags);
            check(fd, state, "memfd_create(" + name + ")");
            return fd;
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("memfd_create downcall", t);
        }
    }

    public static int eventfd(int initialValue, int flags) throws NativeException {
        MemorySegment state = callState();
        int fd;
        try {
            fd = (int) Eventfd.H.invokeExact(state, initialValue, flags);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("eventfd downcall", t);
        }
        check(fd, state, "eventfd");
        return fd;
    }

    /** Reads up to {@code buffer.byteSize()} bytes; returns the count, or the negated errno (EAGAIN, EINTR). */
    public static long read(int fd, MemorySegment buffer) {
        MemorySegment state = callState();
        long r;
        try {
            r = (long) Read.H.invokeExact(state, fd, buffer, buffer.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("read downcall", t);
        }
        return r < 0 ? -errno(state) : r;
    }

    /** Writes {@code buffer}; returns the count, or the negated errno. */
    public static long write(int fd, MemorySegment buffer) {
        MemorySegment state = callState();
        long r;
        try {
            r = (long) Write.H.invokeExact(state, fd, buffer, buffer.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("write downcall", t);
        }
        return r < 0 ? -errno(state) : r;
    }

    /** Pins the calling thread to the given host CPUs. */
    public static void pinCurrentThread(java.util.BitSet cpus) throws NativeException {
        if (cpus.isEmpty() || cpus.length() > CPU_SET_BYTES * 8) {
            throw new IllegalArgumentException("CPU set " + cpus + " is empty or beyond " + (CPU_SET_BYTES * 8) + " CPUs");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(CPU_SET_BYTES);
            long[] words = cpus.toLongArray();
            for (int i = 0; i < words.length; i++) {
                mask.set(JAVA_LONG, i * 8L, words[i]);
            }
            MemorySegment state = callState();
            int r = (int) SchedSetaffinity.H.invokeExact(state, 0, (long) CPU_SET_BYTES, mask);
            check(r, state, "sched_setaffinity(" + cpus + ")");
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("sched_setaffinity downcall", t);
        }
    }

    /** The kernel thread id of the calling thread. */
    public static int gettid() {
        try {
            return (int) Gettid.H.invokeExact(callState());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("gettid downcall", t);
        }
    }

    /** The effective user id of this process. */
    public static int geteuid() {
        try {
            return (int) Geteuid.H.invokeExact(callState());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("geteuid downcall", t);
        }
    }

    /**
     * Sets thread {@code tid}'s nice value ({@code setpriority(PRIO_PROCESS,
     * tid, nice)}; Linux keeps it per thread, and a thread starts with its
     * creator's). Lowering it needs CAP_SYS_NICE.
     */
    public static void setNice(int tid, int nice) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Setpriority.H.invokeExact(state, 0, tid, nice);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("setpriority downcall", t);
        }
        check(r, state, "setpriority(" + tid + ", " + nice + ")");
    }

    /** Whether descriptor {@code fd} is a terminal (false for anything else, a closed descriptor included). */
    public static boolean isatty(int fd) {
        try {
            return (int) Isatty.H.invokeExact(callState(), fd) == 1;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("isatty downcall", t);
        }
    }

    public static int getpid() {
        try {
            return (int) Getpid.H.invokeExact(callState());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("getpid downcall", t);
        }
    }

    /** Sends {@code signal} to one thread of this process; false if that thread is gone (ESRCH). */
    public static boolean tgkill(int pid, int tid, int signal) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Tgkill.H.invokeExact(state, pid, tid, signal);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("tgkill downcall", t);
        }
        if (r != 0 && errno(state) == Errno.ESRCH.value()) {
            return false;
        }
        check(r, state, "tgkill(" + tid + ", " + signal + ")");
        return true;
    }

    /**
     * Installs a handler for {@code signal} that does nothing, so that the
     * signal only interrupts a blocking system call (KVM_RUN returns EINTR)
     * instead of killing the process. Java cannot supply a C function that is
     * safe to run in signal context (an upcall would enter the JVM from a
     * signal handler), so the handler is a libc function that ignores its
     * argument and has no effect: {@code getpid}, which POSIX lists as
     * async-signal-safe. No SA_RESTART, so the interrupted call returns EINTR.
     */
    public static void installInterruptingSignal(int signal) throws NativeException {
        MemorySegment handler = C.find("getpid").orElseThrow();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment action = arena.allocate(SIGACTION_BYTES, 8);
            action.set(ADDRESS, 0, handler);
            action.set(JAVA_INT, SIGACTION_FLAGS_OFFSET, 0);
            MemorySegment state = callState();
            int r = (int) Sigaction.H.invokeExact(state, signal, action, MemorySegment.NULL);
            check(r, state, "sigaction(" + signal + ")");
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("sigaction downcall", t);
        }
    }

    /** A descriptor referring to process {@code pid} ({@code pidfd_open}, Linux 5.3+). */
    /**
     * Replaces this process with {@code argv} run from {@code path} with
     * {@code environment} ("NAME=value" strings): same pid, same standard
     * streams; every other descriptor is closed on the way (close-on-exec),
     * since the JVM opens its jars without it. Flush what is buffered first.
     * Returns only by throwing: the reason the program could not be run.
     */
    public static NativeException execve(String path, java.util.List<String> argv, java.util.List<String> environment) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = callState();
            long r = (long) Syscall3.H.invokeExact(state, SYS_CLOSE_RANGE, 3L, 0xffff_ffffL, CLOSE_RANGE_CLOEXEC);
            if (r < 0) {
                return new NativeException("close_range(3, ~0, CLOSE_RANGE_CLOEXEC)", errno(state));
            }
            int ignored = (int) Execve.H.invokeExact(state, a.allocateFrom(path), strings(a, argv), strings(a, environment));
            return new NativeException("execve(" + path + ")", errno(state));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("execve downcall", t);
        }
    }

    /** A NULL-terminated {@code char *[]} of {@code values}, in {@code a}. */
    private static MemorySegment strings(Arena a, java.util.List<String> values) {
        MemorySegment array = a.allocate(ADDRESS, values.size() + 1L);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ADDRESS, i, a.allocateFrom(values.get(i)));
        }
        array.setAtIndex(ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }

    public static int pidfdOpen(long pid) throws NativeException {
        MemorySegment state = callState();
        long r;
        try {
            r = (long) Syscall2.H.invokeExact(state, SYS_PIDFD_OPEN, pid, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("syscall downcall", t);
        }
        check((int) Math.max(r, Integer.MIN_VALUE), state, "pidfd_open(" + pid + ")");
        return (int) r;
    }

    /**
     * A pipe ({@code pipe2}): element 0 the read end, 1 the write end.
     *
     * @param flags {@link #O_CLOEXEC}, {@link #O_NONBLOCK}
     */
    public static int[] pipe(int flags) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            MemorySegment state = callState();
            int r = (int) Pipe2.H.invokeExact(state, fds, flags);
            check(r, state, "pipe2");
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("pipe2 downcall", t);
        }
    }

    /**
     * What {@code fstat} says of a descriptor: its type and permission bits,
     * its size in bytes, and its {@code st_blksize} (the huge page size on
     * hugetlbfs).
     */
    public record FileStatus(int mode, long size, long blockSize) {
        public static final int S_IFMT = 0xf000;
        public static final int S_IFREG = 0x8000;

        public boolean isRegularFile() {
            return (mode & S_IFMT) == S_IFREG;
        }
    }

    /** {@code struct stat} of x86-64: st_mode at 24, st_size at 48, st_blksize at 56, 144 bytes. */
    private static final long STAT_BYTES = 144;

    public static FileStatus fstat(int fd) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(STAT_BYTES, 8);
            MemorySegment state = callState();
            int r = (int) Fstat.H.invokeExact(state, fd, st);
            check(r, state, "fstat(fd " + fd + ")");
            return new FileStatus(st.get(JAVA_INT, 24), st.get(JAVA_LONG, 48), st.get(JAVA_LONG, 56));
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("fstat downcall", t);
        }
    }

    /**
     * The seals of a memfd ({@code F_GET_SEALS}).
     *
     * @throws NativeException EINVAL when {@code fd} is not a memory file
     *         (memfd, tmpfs or hugetlbfs), which is how a file that could
     *         block its reader (FUSE, NFS) is told apart
     */
    public static int seals(int fd) throws NativeException {
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Fcntl.H.invokeExact(state, fd, F_GET_SEALS);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("fcntl downcall", t);
        }
        check(r, state, "fcntl(fd " + fd + ", F_GET_SEALS)");
        return r;
    }

    /** The size of the file behind {@code fd}. */
    public static long fileSize(int fd) throws NativeException {
        return fstat(fd).size();
    }

    /** Reads at {@code offset} without moving the file position; the count, or the negated errno. */
    public static long pread(int fd, MemorySegment buffer, long offset) {
        MemorySegment state = callState();
        long r;
        try {
            r = (long) Pread.H.invokeExact(state, fd, buffer, buffer.byteSize(), offset);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("pread downcall", t);
        }
        return r < 0 ? -errno(state) : r;
    }

    /** Writes at {@code offset} without moving the file position; the count, or the negated errno. */
    public static long pwrite(int fd, MemorySegment buffer, long offset) {
        MemorySegment state = callState();
        long r;
        try {
            r = (long) Pwrite.H.invokeExact(state, fd, buffer, buffer.byteSize(), offset);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("pwrite downcall", t);
        }
        return r < 0 ? -errno(state) : r;
    }

    /**
     * Sends {@code signal} to process {@code pid}.
     *
     * @return false when there is no such process (ESRCH)
     */
    public static boolean kill(long pid, int signal) throws NativeException {
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("process id " + pid);
        }
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Kill.H.invokeExact(state, (int) pid, signal);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("kill downcall", t);
        }
        if (r < 0 && errno(state) == Errno.ESRCH.value()) {
            return false;
        }
        check(r, state, "kill(" + pid + ", " + signal + ")");
        return true;
    }

    /** Sets entry {@code index} of a {@code struct pollfd} array to wait for {@code events} on {@code fd}. */
    public static void setPollFd(MemorySegment pollFds, int index, int fd, short events) {
        pollFds.set(JAVA_INT, index * POLLFD_BYTES, fd);
        pollFds.set(ValueLayout.JAVA_SHORT, index * POLLFD_BYTES + 4, events);
        pollFds.set(ValueLayout.JAVA_SHORT, index * POLLFD_BYTES + 6, (short) 0);
    }

    /** The {@code revents} of entry {@code index} after {@link #poll}. */
    public static short pollEvents(MemorySegment pollFds, int index) {
        return pollFds.get(ValueLayout.JAVA_SHORT, index * POLLFD_BYTES + 6);
    }

    /**
     * Waits for the events of {@code count} {@code struct pollfd} entries in
     * {@code pollFds} (see {@link #setPollFd}) for up to {@code timeoutMillis}
     * (negative: forever). Allocation-free.
     *
     * @return the number of entries with events (0 on timeout), or the negated errno (EINTR)
     */
    public static int poll(MemorySegment pollFds, int count, int timeoutMillis) {
        if (count < 0 || count * POLLFD_BYTES > pollFds.byteSize()) {
            throw new IllegalArgumentException(count + " pollfd entries do not fit " + pollFds.byteSize() + " bytes");
        }
        MemorySegment state = callState();
        int r;
        try {
            r = (int) Poll.H.invokeExact(state, pollFds, (long) count, timeoutMillis);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("poll downcall", t);
        }
        return r < 0 ? -errno(state) : r;
    }

    /**
     * Waits up to {@code timeoutMillis} (negative: forever) until one of
     * {@code fds} can be read without blocking or has ended (negative
     * descriptors are skipped); an interrupted wait goes on to the same
     * deadline.
     *
     * @return the index in {@code fds} of the first that is ready, or -1 on timeout
     */
    public static int awaitAny(int timeoutMillis, int... fds) throws NativeException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfds = a.allocate(fds.length * POLLFD_BYTES, 8);
            for (int i = 0; i < fds.length; i++) {
                setPollFd(pfds, i, fds[i], POLLIN);
            }
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            while (true) {
                int left = (int) Math.max(0, (deadline - System.nanoTime()) / 1_000_000L);
                int r = poll(pfds, fds.length, timeoutMillis < 0 ? -1 : left);
                if (r == 0) {
                    return -1;
                }
                if (r > 0) {
                    for (int i = 0; i < fds.length; i++) {
                        if (pollEvents(pfds, i) != 0) {
                            return i;
                        }
                    }
                }
                if (r < 0 && r != -Errno.EINTR.value()) {
                    throw new NativeException("poll", -r);
                }
            }
        }
    }

    static void check(int r, MemorySegment state, String call) throws NativeException {
        if (r < 0) {
            throw new NativeException(call, errno(state));
        }
    }
}
