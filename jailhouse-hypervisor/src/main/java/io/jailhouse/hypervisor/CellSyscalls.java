package io.jailhouse.hypervisor;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.SeccompFilter;
import io.jailhouse.sys.SeccompFilter.ArgumentRule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The system calls a cell process may make once its cell is built (x86-64
 * numbers). The list comes from tracing cell processes through the
 * walkthrough, the hostile inmates, ivshmem and adoption by a new
 * supervisor ({@code strace -f -c}), plus what a JVM does now and then
 * (thread start and end, garbage collection, class loading, the compiler).
 * docs/confinement.md explains each group. A call outside the list kills
 * the process, which fails the cell.
 */
final class CellSyscalls {
    /** Calls that pass whatever their arguments. */
    static final Map<String, Integer> ALLOWED = table(
            // descriptors it holds: the VM and vCPUs (ioctl below), memfds, eventfds, the channel
            "read", 0, "write", 1, "close", 3, "fstat", 5, "lseek", 8, "pread64", 17, "pwrite64", 18,
            "readv", 19, "writev", 20, "dup", 32, "dup3", 292, "fcntl", 72, "ftruncate", 77,
            "stat", 4, "lstat", 6, "newfstatat", 262, "statx", 332, "access", 21, "faccessat", 269,
            "faccessat2", 439, "fstatfs", 138, "getdents64", 217,
            "poll", 7, "ppoll", 271, "memfd_create", 319, "eventfd2", 290,
            // the channel to the supervisor: messages with descriptors, the next supervisor's connection
            "sendmsg", 46, "recvmsg", 47, "accept4", 288, "getsockopt", 55, "shutdown", 48,
            "unlink", 87,
            // memory: the JVM's heap, code cache, thread stacks and the guest's mappings
            "mmap", 9, "mprotect", 10, "munmap", 11, "brk", 12, "mremap", 25, "madvise", 28, "mincore", 27,
            "membarrier", 324,
            // threads, locks, signals (the vCPU kick), time
            "futex", 202, "set_robust_list", 273, "rseq", 334, "sigaltstack", 131, "set_tid_address", 218,
            "rt_sigaction", 13, "rt_sigprocmask", 14, "rt_sigreturn", 15, "restart_syscall", 219,
            "sched_yield", 24, "sched_getaffinity", 204, "sched_getparam", 143, "sched_getscheduler", 145,
            "nanosleep", 35, "clock_nanosleep", 230, "clock_gettime", 228, "clock_getres", 229,
            "gettimeofday", 96, "times", 100,
            // what the process asks of itself and the machine
            "getpid", 39, "gettid", 186, "getuid", 102, "geteuid", 107, "getgid", 104, "getegid", 108,
            "getppid", 110, "uname", 63, "sysinfo", 99, "getrusage", 98, "getrandom", 318, "getcwd", 79,
            "readlink", 89, "readlinkat", 267,
            "exit", 60, "exit_group", 231);

    static final int IOCTL = 16;
    static final int OPENAT = 257;
    static final int CLONE = 56;
    static final int CLONE3 = 435;
    static final int PRCTL = 157;
    static final int TGKILL = 234;
    static final int SCHED_SETAFFINITY = 203;

    /** ioctl's request: type in bits 8 to 15; KVM's is 0xAE. */
    static final int IOCTL_TYPE_MASK = 0xff00;
    static final int KVM_IOCTL_TYPE = 0xAE00;
    /** openat's flags that write or create: O_ACCMODE, O_CREAT, O_TRUNC, O_APPEND, __O_TMPFILE. */
    static final int OPEN_WRITING_FLAGS = 0x3 | 0x40 | 0x200 | 0x400 | 0x410000;
    static final int CLONE_THREAD = 0x10000;
    static final int PR_SET_NAME = 15;
    static final int PR_GET_NAME = 16;

    private CellSyscalls() {
    }

    /**
     * The filter for process {@code pid}: {@link #ALLOWED}, and with
     * arguments checked: ioctl on KVM only (others fail with ENOTTY), openat
     * for reading only (EACCES otherwise; class files load lazily), clone
     * for threads only (clone3 fails with ENOSYS, so glibc uses clone,
     * whose flags a filter can see), prctl for thread names only (EPERM),
     * tgkill on its own threads only, sched_setaffinity on the calling
     * thread only. Everything else kills the process.
     */
    static SeccompFilter filter(int pid) {
        List<ArgumentRule> rules = List.of(
                new ArgumentRule(IOCTL, 1, IOCTL_TYPE_MASK, Set.of(KVM_IOCTL_TYPE), SeccompFilter.errno(Errno.ENOTTY)),
                new ArgumentRule(OPENAT, 2, OPEN_WRITING_FLAGS, Set.of(0), SeccompFilter.errno(Errno.EACCES)),
                new ArgumentRule(CLONE, 0, CLONE_THREAD, Set.of(CLONE_THREAD), SeccompFilter.RET_KILL_PROCESS),
                new ArgumentRule(PRCTL, 0, -1, Set.of(PR_SET_NAME, PR_GET_NAME), SeccompFilter.errno(Errno.EPERM)),
                new ArgumentRule(TGKILL, 0, -1, Set.of(pid), SeccompFilter.RET_KILL_PROCESS),
                new ArgumentRule(SCHED_SETAFFINITY, 0, -1, Set.of(0), SeccompFilter.RET_KILL_PROCESS));
        return SeccompFilter.of(new TreeSet<>(ALLOWED.values()), rules, Map.of(CLONE3, Errno.ENOSYS));
    }

    private static Map<String, Integer> table(Object... namesAndNumbers) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < namesAndNumbers.length; i += 2) {
            m.put((String) namesAndNumbers[i], (Integer) namesAndNumbers[i + 1]);
        }
        return Map.copyOf(m);
    }
}
