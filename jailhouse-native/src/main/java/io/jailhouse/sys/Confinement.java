package io.jailhouse.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * What a cell process does to itself so that it can do no more than run its
 * cell (as Firecracker's jailer does for a VMM): leave the supervisor's
 * session, forbid gaining privileges, drop capabilities, and install a
 * seccomp filter on every thread.
 */
public final class Confinement {
    private static final MethodHandle SETSID = Libc.downcall("setsid", FunctionDescriptor.of(JAVA_INT));

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
            r = (int) SETSID.invokeExact(state);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("setsid downcall", t);
        }
        if (r < 0 && Libc.errno(state) != Errno.EPERM.value()) { // EPERM: a group leader already
            throw new NativeException("setsid", Libc.errno(state));
        }
    }
}
