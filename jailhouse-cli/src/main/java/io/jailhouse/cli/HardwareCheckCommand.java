package io.jailhouse.cli;

import io.jailhouse.cli.hardware.HardwareCheck;
import io.jailhouse.cli.hardware.HardwareReport;
import io.jailhouse.cli.hardware.KvmStatus;
import io.jailhouse.config.host.HostRoot;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jailhouse hardware check [SYSCONFIG]}. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check whether this host can run the hypervisor, and optionally a system configuration.",
            "Exit status: 0 passed, 1 essential checks skipped, 2 failed."})
final class HardwareCheckCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SYSCONFIG",
            description = "System configuration to check against this host.")
    Path sysconfig;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        HostRoot host = HostRoot.live();
        HardwareReport report = new HardwareCheck(host, KvmStatus.probe(host), Runtime.version(),
                System.getenv("PATH")).run(sysconfig);
        PrintWriter out = spec.commandLine().getOut();
        report.render().forEach(out::println);
        out.flush();
        return report.exitCode();
    }
}
