package io.jailhouse.sys;

import java.io.IOException;

/**
 * A system call that failed, with the call and the errno it set, e.g.
 * {@code ioctl(KVM_CREATE_VM): EINVAL (Invalid argument)}.
 *
 * <p>Checked, and an {@link IOException}: a failing OS call is an expected
 * outcome (no /dev/kvm, no permission, a cell asking for too much) that every
 * caller must decide about, and it composes with the {@code java.nio.file} code
 * around it. The vCPU hot path does not use exceptions at all; it checks return
 * values.
 */
public final class NativeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /**
     * @param call what was called, with the detail that identifies it:
     *        {@code open(/dev/kvm)}, {@code ioctl(KVM_CHECK_EXTENSION)}
     */
    public NativeException(String call, int errno) {
        super(call + ": " + Errno.describe(errno));
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    /** The raw errno value. */
    public int errnoValue() {
        return errno;
    }

    /** The errno as an enum constant, or null if {@link Errno} does not name it. */
    public Errno errno() {
        return Errno.of(errno);
    }

    /** {@code EINVAL}, or {@code errno N}. */
    public String errnoName() {
        return Errno.nameOf(errno);
    }

    public boolean is(Errno e) {
        return errno == e.value();
    }
}
