package io.jailhouse.cli;

import io.jailhouse.protocol.DaemonInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code jailhouse disable}: destroys every cell (call again if one refuses,
 * as upstream) and ends the daemon. Returns once the daemon has released
 * everything, so that an {@code enable} right after it works.
 */
@Command(name = "disable", mixinStandardHelpOptions = true, description = "Disable the hypervisor, destroying all cells.")
final class DisableCommand extends DaemonCommand {
    static final String IOCTL = "JAILHOUSE_DISABLE";
    static final Duration EXIT_WAIT = Duration.ofSeconds(30);

    @Mixin
    ForceOption force;

    @Override
    int run() throws CommandFailure {
        DaemonInfo info = request(IOCTL, c -> {
            DaemonInfo i = c.ping();
            c.disable(force.force);
            return i;
        });
        // The daemon removes its pid file last, after the hypervisor let go of KVM and memory.
        Path pidFile = runDirectory().pidFile();
        long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
        while (Files.exists(pidFile) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (Files.exists(pidFile)) {
            err().println("jailhouse disable: jailhoused (pid " + info.pid() + ") is still releasing resources");
        }
        return 0;
    }
}
