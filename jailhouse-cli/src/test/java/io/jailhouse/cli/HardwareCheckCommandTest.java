package io.jailhouse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code jailhouse hardware check} on the machine the tests run on, whatever it has. */
class HardwareCheckCommandTest {
    @Test
    void verdictMatchesExitStatus() {
        ConfigCreateCommandTest.Run r = ConfigCreateCommandTest.run("hardware", "check");
        System.out.print(r.out());
        String[] lines = r.out().split("\n");
        assertThat(lines[0]).startsWith("Feature").contains("Availability");
        String verdict = lines[lines.length - 1];
        switch (r.status()) {
            case 0 -> assertThat(verdict).isEqualTo("Check passed!");
            case 1 -> assertThat(verdict).startsWith("Check incomplete:");
            case 2 -> assertThat(verdict).isEqualTo("Check FAILED!");
            default -> throw new AssertionError("exit status " + r.status() + ": " + r.err());
        }
    }
}
