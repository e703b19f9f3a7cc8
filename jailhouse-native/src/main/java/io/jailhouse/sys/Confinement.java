package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * What a cell process does to itself so that it can do no more than run its
 * cell (as Firecracker's jailer does for a VMM): leave the supervisor's
 * session, become a user of its own (which drops every capability),
 * forbid dumps and ptrace, forbid gaining privileges, and install a
 * seccomp filter on every thread.
 */
public final class Confinement {
    private static final class Setsid {
        static final MethodHandle H = Libc.downcall("setsid", FunctionDescriptor.of(JAVA_INT));
    }
    // int prctl(int option, ...): the four further arguments as longs
    private static final class Prctl {
        static final MethodHandle H = Libc.downcall("prctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }
    private static final class SyscallPtr {
        static final MethodHandle H = Libc.downcall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(1));
    }
    private static final class Setgroups {
        static final MethodHandle H = Libc.downcall("setgroups",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    }
    private static final class Setresgid {
        static final MethodHandle H = Libc.downcall("setresgid",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }
    private static final class Setresuid {
        static final MethodHandle H = Libc.downcall("setresuid",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }
    static final int PR_SET_DUMPABLE = 4;
    static final int PR_SET_NO_NEW_PRIVS = 38;
    static final int PR_GET_SECCOMP = 21;
    static final long SYS_SECCOMP = 317;
    static final long SECCOMP_SET_MODE_FILTER = 1;
    static final long SECCOMP_FILTER_FLAG_TSYNC = 1;

    private Confinement() {
    }

    /**
     * Starts a session of its own: signals for the supervisor's terminal or
     * process group (Ctrl-C, a service manager stopping the supervisor's
     * group) do not reach this process.
     */
    public static void leaveSession() throws NativeException {
        MemorySegment state = Libc.callState();
        int r;
        try {
            r = (int) Setsid.H.invokeExact(state);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("setsid downcall", t);
        }
        if (r < 0 && Libc.errno(state) != Errno.EPERM.value()) { // EPERM: a group leader already
            throw new NativeException("setsid", Libc.errno(state));
        }
    }

    private static int prctl(int option, long arg) throws NativeException {
        MemorySegment state = Libc.callState();
        int r;
        try {
            r = (int) Prctl.H.invokeExact(state, option, arg, 0L, 0L, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("prctl downcall", t);
        }
        Libc.check(r, state, "prctl(" + option + ")");
        return r;
    }

    /**
     * Not dumpable: no core file, and processes of the same user cannot
     * ptrace this one or read its memory through /proc.
     */
    public static void forbidDumpsAndPtrace() throws NativeException {
        prctl(PR_SET_DUMPABLE, 0);
    }

    /**
     * Becomes user {@code uid} and group {@code gid} with no supplementary
     * groups, for real, effective and saved ids. Leaving uid 0 clears every
     * capability; glibc applies the change to every thread of the process.
     */
    public static void becomeUser(int uid, int gid) throws NativeException {
        MemorySegment state = Libc.callState();
        try {
            Libc.check((int) Setgroups.H.invokeExact(state, 0L, MemorySegment.NULL), state, "setgroups");
            Libc.check((int) Setresgid.H.invokeExact(state, gid, gid, gid), state, "setresgid(" + gid + ")");
            Libc.check((int) Setresuid.H.invokeExact(state, uid, uid, uid), state, "setresuid(" + uid + ")");
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("setresuid downcall", t);
        }
    }

    /**
     * Sets no_new_privs and installs {@code filter} on every thread of the
     * process at once ({@code SECCOMP_FILTER_FLAG_TSYNC}); threads started
     * later inherit it. It cannot be removed or loosened.
     */
    public static void install(SeccompFilter filter) throws NativeException {
        prctl(PR_SET_NO_NEW_PRIVS, 1);
        byte[] program = filter.program();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment insns = a.allocate(program.length, 8);
            MemorySegment.copy(program, 0, insns, JAVA_BYTE, 0, program.length);
            MemorySegment fprog = a.allocate(16, 8); // struct sock_fprog { u16 len; struct sock_filter *filter; }
            fprog.set(JAVA_SHORT, 0, (short) (program.length / 8));
            fprog.set(ADDRESS, 8, insns);
            MemorySegment state = Libc.callState();
            long r = (long) SyscallPtr.H.invokeExact(state, SYS_SECCOMP, SECCOMP_SET_MODE_FILTER,
                    SECCOMP_FILTER_FLAG_TSYNC, fprog);
            if (r > 0) {
                throw new NativeException("seccomp (thread " + r + " could not be synchronized)", Errno.EAGAIN.value());
            }
            Libc.check((int) r, state, "seccomp(SECCOMP_SET_MODE_FILTER)");
        } catch (NativeException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("seccomp downcall", t);
        }
    }

    /** 0 none, 1 strict, 2 filter: the calling thread's seccomp mode. */
    public static int seccompMode() throws NativeException {
        return prctl(PR_GET_SECCOMP, 0);
    }
}
