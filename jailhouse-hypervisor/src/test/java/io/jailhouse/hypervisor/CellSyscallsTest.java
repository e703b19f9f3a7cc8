package io.jailhouse.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jailhouse.sys.Errno;
import io.jailhouse.sys.SeccompFilter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class CellSyscallsTest {
    static final int X86_64 = 0xc000003e;
    static final Path UNISTD = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
    private final SeccompFilter filter = CellSyscalls.filter(4242);

    @Test
    void everyNumberIsTheKernelsForItsName() throws IOException {
        if (!Files.isReadable(UNISTD)) {
            System.err.println("SKIPPED: " + UNISTD + " is missing (Debian's linux-libc-dev): "
                    + "the syscall numbers are not checked against the kernel's headers");
            assumeTrue(false, UNISTD + " missing");
        }
        Map<String, Integer> kernel = new HashMap<>();
        Matcher m = Pattern.compile("#define __NR_(\\w+) (\\d+)").matcher(Files.readString(UNISTD));
        while (m.find()) {
            kernel.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        CellSyscalls.ALLOWED.forEach((name, nr) -> assertThat(nr).as(name).isEqualTo(kernel.get(name)));
        assertThat(CellSyscalls.IOCTL).isEqualTo(kernel.get("ioctl"));
        assertThat(CellSyscalls.OPENAT).isEqualTo(kernel.get("openat"));
        assertThat(CellSyscalls.CLONE).isEqualTo(kernel.get("clone"));
        assertThat(CellSyscalls.CLONE3).isEqualTo(kernel.get("clone3"));
        assertThat(CellSyscalls.PRCTL).isEqualTo(kernel.get("prctl"));
        assertThat(CellSyscalls.TGKILL).isEqualTo(kernel.get("tgkill"));
        assertThat(CellSyscalls.SCHED_SETAFFINITY).isEqualTo(kernel.get("sched_setaffinity"));
    }

    @Test
    void whatCouldReachBeyondTheCellKillsTheProcess() {
        for (int nr : new int[] {41 /* socket */, 42 /* connect */, 59 /* execve */, 322 /* execveat */,
                62 /* kill */, 101 /* ptrace */, 310 /* process_vm_readv */, 311 /* process_vm_writev */,
                57 /* fork */, 2 /* open */, 165 /* mount */, 105 /* setuid */, 126 /* capset */,
                434 /* pidfd_open */, 438 /* pidfd_getfd */, 321 /* bpf */, 298 /* perf_event_open */}) {
            assertThat(filter.verdict(X86_64, nr)).as("syscall %d", nr).isEqualTo(SeccompFilter.RET_KILL_PROCESS);
        }
        assertThat(filter.verdict(X86_64, CellSyscalls.CLONE, 0x11)).as("fork through clone")
                .isEqualTo(SeccompFilter.RET_KILL_PROCESS);
        assertThat(filter.verdict(X86_64, CellSyscalls.TGKILL, 1, 1, 9)).as("another process's thread")
                .isEqualTo(SeccompFilter.RET_KILL_PROCESS);
        assertThat(filter.verdict(X86_64, CellSyscalls.SCHED_SETAFFINITY, 4243)).as("another thread's CPUs")
                .isEqualTo(SeccompFilter.RET_KILL_PROCESS);
    }

    @Test
    void whatTheJvmAndTheCellNeedPasses() {
        assertThat(filter.verdict(X86_64, CellSyscalls.IOCTL, 7, 0xae80 /* KVM_RUN */))
                .isEqualTo(SeccompFilter.RET_ALLOW);
        assertThat(filter.verdict(X86_64, CellSyscalls.CLONE, 0x3d0f00 /* pthread_create's flags */))
                .isEqualTo(SeccompFilter.RET_ALLOW);
        assertThat(filter.verdict(X86_64, CellSyscalls.OPENAT, -100, 0, 0x80000 /* O_RDONLY|O_CLOEXEC */))
                .isEqualTo(SeccompFilter.RET_ALLOW);
        assertThat(filter.verdict(X86_64, CellSyscalls.TGKILL, 4242, 4250, 34)).isEqualTo(SeccompFilter.RET_ALLOW);
        assertThat(filter.verdict(X86_64, CellSyscalls.SCHED_SETAFFINITY, 0)).isEqualTo(SeccompFilter.RET_ALLOW);
        assertThat(filter.verdict(X86_64, CellSyscalls.PRCTL, CellSyscalls.PR_SET_NAME))
                .isEqualTo(SeccompFilter.RET_ALLOW);
        for (int nr : CellSyscalls.ALLOWED.values()) {
            assertThat(filter.verdict(X86_64, nr)).isEqualTo(SeccompFilter.RET_ALLOW);
        }
    }

    @Test
    void whatTheJvmCopesWithBeingRefusedFailsWithAnErrno() {
        assertThat(filter.verdict(X86_64, CellSyscalls.IOCTL, 1, 0x5401 /* TCGETS */))
                .isEqualTo(SeccompFilter.errno(Errno.ENOTTY));
        assertThat(filter.verdict(X86_64, CellSyscalls.OPENAT, -100, 0, 0x241 /* O_WRONLY|O_CREAT|O_TRUNC */))
                .isEqualTo(SeccompFilter.errno(Errno.EACCES));
        assertThat(filter.verdict(X86_64, CellSyscalls.OPENAT, -100, 0, 2 /* O_RDWR */))
                .isEqualTo(SeccompFilter.errno(Errno.EACCES));
        assertThat(filter.verdict(X86_64, CellSyscalls.PRCTL, 4 /* PR_SET_DUMPABLE */))
                .isEqualTo(SeccompFilter.errno(Errno.EPERM));
        assertThat(filter.verdict(X86_64, CellSyscalls.CLONE3)).isEqualTo(SeccompFilter.errno(Errno.ENOSYS));
    }
}
