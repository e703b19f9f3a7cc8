package io.jailhouse.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs the CLI in-process and captures what it prints. */
record CliRun(int exit, String out, String err) {
    static CliRun of(String... args) {
        return of(new Main(), args);
    }

    /** Runs under {@code main}, e.g. one whose run directory is a test's, as a process would: only its commands modelled. */
    static CliRun of(Main main, String... args) {
        return of(Main.commandLineFor(main, args), args);
    }

    /** Runs with every command modelled (what documentation is made from). */
    static CliRun ofFullTree(String... args) {
        return of(Main.commandLine(), args);
    }

    private static CliRun of(CommandLine cl, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }
}
