package io.jailhouse.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.protocol.CellList;
import io.jailhouse.protocol.CellState;
import io.jailhouse.protocol.CellStatistics;
import io.jailhouse.protocol.CellStatus;
import io.jailhouse.protocol.ConsoleChunk;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.JsonCodec;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.protocol.RunDirectory;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The workload the build trains the CLI's AOT cache with (JEP 483/514):
 * the commands users run most, in one JVM, so that the classes, links and
 * lambdas they need are in the cache. The lifecycle commands talk to a
 * stand-in daemon on a socket of their own whose replies are made by the
 * protocol's own encoders; no hypervisor is involved, so the build trains
 * the same cache on any machine.
 *
 * <p>Run by the build as {@code java -XX:AOTCacheOutput=... AotTraining}.
 */
public final class AotTraining {
    /** Each command line once, with its output thrown away. */
    static final List<List<String>> COMMANDS = List.of(
            List.of("--version"), List.of("--help"), List.of("cell", "--help"), List.of("cell", "list"),
            List.of("cell", "list", "--json"), List.of("cell", "stats", "demo"), List.of("cell", "stats", "1", "--json"),
            List.of("console"), List.of("cell", "console", "demo"), List.of("cell", "start", "demo"),
            List.of("cell", "shutdown", "demo"), List.of("cell", "destroy", "demo"), List.of("ivshmem", "list"),
            List.of("cell", "list", "--no-such-option"), List.of("no-such-command"));

    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("jailhouse-aot-training");
        RunDirectory run = RunDirectory.locate(dir.toString(), Map.of());
        try (StandInDaemon daemon = StandInDaemon.start(run.socket())) {
            PrintStream out = System.out;
            PrintStream err = System.err;
            PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
            int failed = 0;
            try {
                System.setOut(nowhere);
                System.setErr(nowhere);
                for (List<String> command : COMMANDS) {
                    String[] a = command.toArray(String[]::new);
                    int exit = Main.commandLineFor(new Main(run, null, null), a).execute(a);
                    // The wrong arguments are meant to fail; any other failure means the workload went stale.
                    if (exit != 0 && !command.contains("--no-such-option") && !command.contains("no-such-command")) {
                        failed++;
                        err.println("AOT training: jailhouse " + String.join(" ", command) + " exited " + exit);
                    }
                }
            } finally {
                System.setOut(out);
                System.setErr(err);
            }
            if (failed > 0) {
                // thrown, not System.exit, so that the training's directory is still removed
                throw new IllegalStateException(failed + " training commands failed");
            }
            System.out.println("  AOT     trained on " + COMMANDS.size() + " commands, " + daemon.requests()
                    + " requests");
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** Answers each op with a reply of the shape the daemon gives, one connection at a time. */
    static final class StandInDaemon implements AutoCloseable {
        private final UnixSocket listener;
        private final Path socket;
        private final Thread thread;
        private volatile int requests;

        private StandInDaemon(UnixSocket listener, Path socket) {
            this.listener = listener;
            this.socket = socket;
            this.thread = new Thread(this::serve, "aot-training-daemon");
            thread.setDaemon(true);
        }

        static StandInDaemon start(Path socket) throws IOException {
            StandInDaemon d = new StandInDaemon(UnixSocket.listen(socket, 4), socket);
            d.thread.start();
            return d;
        }

        int requests() {
            return requests;
        }

        private void serve() {
            while (true) {
                UnixSocket s;
                try {
                    s = listener.accept();
                } catch (IOException e) {
                    return; // closed
                }
                try (ControlChannel c = ControlChannel.daemonEnd(s)) {
                    ControlChannel.Frame f;
                    while ((f = c.read()) != null) {
                        f.closeFds();
                        requests++;
                        c.write(JsonCodec.write(reply(JsonCodec.read(f.body()).path("op").asText())));
                    }
                } catch (IOException e) {
                    // the command went away mid-request: the next one connects anew
                }
            }
        }

        static ObjectNode reply(String op) {
            CellStatus demo = new CellStatus(1, "demo", CellState.RUNNING, List.of(2, 3), List.of(), 4242);
            ObjectNode body = switch (op) {
                case ControlProtocol.CELL_LIST -> ControlMessages.cellList(new CellList(Partitioning.STRICT, List.of(
                        new CellStatus(0, "root", CellState.RUNNING, List.of(0, 1), List.of()), demo)));
                case ControlProtocol.CELL_STATS -> {
                    Map<String, Long> counters = new LinkedHashMap<>();
                    CellStatistics.NAMES.forEach(name -> counters.put(name, 7L));
                    Map<Integer, Map<String, Long>> perCpu = new LinkedHashMap<>();
                    perCpu.put(2, counters);
                    perCpu.put(3, counters);
                    yield ControlMessages.statistics(new CellStatistics(1, "demo", counters, perCpu));
                }
                case ControlProtocol.CONSOLE_READ, ControlProtocol.CELL_CONSOLE_READ -> ControlMessages.chunk(
                        new ConsoleChunk("Hello from the cell\n".getBytes(StandardCharsets.US_ASCII), 0, 20));
                case ControlProtocol.IVSHMEM_LIST -> ControlMessages.ivshmemLinks(new ArrayList<>());
                case ControlProtocol.CELL_START, ControlProtocol.CELL_SHUTDOWN, ControlProtocol.CELL_DESTROY ->
                        ControlMessages.object();
                default -> null;
            };
            return body == null ? ControlMessages.errorReply(Errno.EOPNOTSUPP,
                    "the training daemon does not serve \"" + op + "\"") : ControlMessages.okReply(body);
        }

        @Override
        public void close() throws IOException {
            listener.shutdown(); // wakes the accept; closing alone would not
            listener.close();
            Files.deleteIfExists(socket);
        }
    }
}
