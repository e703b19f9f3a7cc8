package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jailhouse.sys.SeccompFilter.ArgumentRule;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SeccompFilterTest {
    static final int X86_64 = SeccompFilter.AUDIT_ARCH_X86_64;
    static final int KILL = SeccompFilter.RET_KILL_PROCESS;
    static final int ALLOW = SeccompFilter.RET_ALLOW;

    private final SeccompFilter filter = SeccompFilter.of(Set.of(0, 1, 60),
            List.of(new ArgumentRule(16, 1, 0xff00, Set.of(0xae00), SeccompFilter.errno(Errno.ENOTTY)),
                    new ArgumentRule(234, 0, -1, Set.of(77, 78, 79), KILL)),
            Map.of(435, Errno.ENOSYS));

    @Test
    void allowedCallsPassAndEverythingElseKills() {
        assertThat(filter.verdict(X86_64, 0)).isEqualTo(ALLOW);
        assertThat(filter.verdict(X86_64, 60)).isEqualTo(ALLOW);
        assertThat(filter.verdict(X86_64, 2)).isEqualTo(KILL);
        assertThat(filter.verdict(X86_64, 59)).as("execve").isEqualTo(KILL);
    }

    @Test
    void anotherArchitectureOrTheX32AbiIsKilledWhateverTheNumber() {
        assertThat(filter.verdict(0x40000003 /* i386 */, 0)).isEqualTo(KILL);
        assertThat(filter.verdict(X86_64, 0x40000000)).isEqualTo(KILL);
        assertThat(filter.verdict(X86_64, 0x40000001)).isEqualTo(KILL);
    }

    @Test
    void argumentRulesLookAtTheMaskedArgumentAndAnswerOtherwiseWhenNoValueMatches() {
        assertThat(filter.verdict(X86_64, 16, 5, 0xae01L)).as("KVM_CREATE_VM").isEqualTo(ALLOW);
        assertThat(filter.verdict(X86_64, 16, 5, 0xc008ae67L)).as("a KVM ioctl with size and direction")
                .isEqualTo(ALLOW);
        assertThat(filter.verdict(X86_64, 16, 1, 0x5401L)).as("TCGETS")
                .isEqualTo(SeccompFilter.RET_ERRNO | Errno.ENOTTY.value());
        for (int v : new int[] {77, 78, 79}) {
            assertThat(filter.verdict(X86_64, 234, v, 0, 0)).isEqualTo(ALLOW);
        }
        assertThat(filter.verdict(X86_64, 234, 80, 0, 0)).isEqualTo(KILL);
    }

    @Test
    void refusedCallsFailWithTheirErrno() {
        assertThat(filter.verdict(X86_64, 435)).isEqualTo(SeccompFilter.RET_ERRNO | Errno.ENOSYS.value());
    }

    @Test
    void theProgramIsEightBytesPerInstructionAndNeverBeyondWhatTheKernelTakes() {
        // 6 (arch, x32) + ioctl rule 6 + tgkill rule 8 + 2 refused + 6 allowed + final return
        assertThat(filter.program()).hasSize(8 * (6 + 6 + 8 + 2 + 6 + 1));
        SeccompFilter huge = SeccompFilter.of(Set.copyOf(IntStream.range(0, 3000).boxed().toList()), List.of(),
                Map.of());
        assertThatThrownBy(huge::program).hasMessageContaining("4096");
        assertThatThrownBy(() -> new ArgumentRule(1, 6, -1, Set.of(1), KILL)).isInstanceOf(
                IllegalArgumentException.class);
    }
}
