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

    // int open(const char *path, int flags, ...): the mode is the variadic argument.
    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // int ioctl(int fd, unsigned long request, ...): one handle per kind of third argument,
    // because a variadic call site fixes the argument's type.
    private static final MethodHandle IOCTL_VALUE = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_POINTER = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));

    private static final ThreadLocal<MemorySegment> CALL_STATE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private Libc() {
    }

    // Binding native functions is what this class is for; the launcher grants native access.
    @SuppressWarnings("restricted")
    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        MemorySegment symbol = C.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("the C library has no symbol '" + name + "'"));
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        System.arraycopy(extra, 0, options, 0, extra.length);
        options[extra.length] = CAPTURE_ERRNO;
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static MemorySegment callState() {
        return CALL_STATE_BUFFER.get();
    }

    private static int errno(MemorySegment state) {
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
                int fd = (int) OPEN.invokeExact(state, cPath, flags, mode);
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
            r = (int) CLOSE.invokeExact(state, fd);
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
            r = (int) IOCTL_VALUE.invokeExact(state, fd, request.code(), arg);
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
            r = (int) IOCTL_POINTER.invokeExact(state, fd, request.code(), arg);
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
}
