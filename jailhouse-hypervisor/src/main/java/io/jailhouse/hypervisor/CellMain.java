package io.jailhouse.hypervisor;

import io.jailhouse.boundary.CellChannel;
import io.jailhouse.boundary.CellReply;
import io.jailhouse.boundary.CellRequest;
import io.jailhouse.boundary.HypervisorException;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.config.JailhouseConfig;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.sys.Confinement;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmDevice;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import io.jailhouse.sys.UnixSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The main of a cell process: one non-root cell in a JVM of its own. The
 * supervisor starts it with the path of a socket; the process listens
 * there, takes the supervisor's {@link CellRequest.Create} and serves its
 * requests until {@link CellRequest.Destroy}. The supervisor may start it
 * ahead of need (a spare) and rename the socket when it gives it a cell.
 * When the supervisor goes away the cell keeps running and the process
 * waits for the next supervisor, which adopts it
 * ({@link CellRequest.Hello}); a process without a cell has nothing to wait
 * for and ends.
 *
 * <p>Only the supervisor's user may connect. The process leaves the
 * supervisor's session, so a signal to the supervisor's process group does
 * not stop the cell. Once the cell is built, and before its first
 * instruction, the process confines itself: the user the Create request
 * names, no dumps or ptrace, no new privileges and the seccomp filter of
 * {@link CellSyscalls}.
 */
public final class CellMain {
    /** How long a new process waits for its supervisor to connect and create the cell. */
    static final int CREATE_DEADLINE_MILLIS = 30_000;

    private final Path socketPath;
    private final KvmDevice kvm;
    /** The supervisor's user: the one that may connect, before and after the change of user. */
    private final int supervisorUid = Libc.geteuid();
    private CellMachine cell;
    private CellRequest.Create created;

    private CellMain(Path socketPath, KvmDevice kvm) {
        this.socketPath = socketPath;
        this.kvm = kvm;
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: CellMain SOCKET");
            System.exit(2);
        }
        Path socket = Path.of(args[0]);
        int status;
        boolean hadCell = false;
        try {
            Confinement.leaveSession();
            Libc.installInterruptingSignal(Vcpu.KICK_SIGNAL);
            KvmDevice kvm = KvmDevice.open();
            CellMain main = new CellMain(socket, kvm);
            status = main.serve();
            hadCell = main.created != null;
        } catch (IOException | RuntimeException e) {
            System.err.println("cell process " + Libc.getpid() + ": " + e);
            status = 1;
        }
        if (!hadCell) {
            try {
                // a cell's socket may have been renamed, and its path be another's now: only the
                // supervisor removes it (at destroy); an unused spare's is still its own
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // the supervisor removes a stale socket
            }
        }
        System.out.flush();
        Runtime.getRuntime().halt(status); // vCPU threads are daemons, but nothing else is to run either
    }

    /** Serves supervisors one after the other until the cell is destroyed; the exit status. */
    private int serve() throws IOException {
        boolean served = false;
        try (UnixSocket listener = UnixSocket.listen(socketPath, 4)) {
            while (true) {
                if (served && cell == null) {
                    return 1; // the supervisor that started this process let go of it before giving it a cell
                }
                if (cell == null && !awaitSupervisor(listener)) {
                    return 1;
                }
                UnixSocket connection = listener.accept();
                UnixSocket.Peer peer = connection.peer();
                if (peer.uid() != supervisorUid) {
                    connection.close(); // only the supervisor's user manages this cell
                    continue;
                }
                served = true;
                try (CellChannel channel = new CellChannel(connection)) {
                    Boolean done = serveConnection(channel);
                    if (done != null) {
                        return done ? 0 : 1;
                    }
                }
            }
        }
    }

    /**
     * Before the cell exists: waits for the supervisor to connect, at most
     * {@link #CREATE_DEADLINE_MILLIS} and only while the supervisor that
     * started this process lives; false (said on stderr) when it will not.
     */
    private boolean awaitSupervisor(UnixSocket listener) throws IOException {
        int supervisor = -1;
        // Until it gives this process a cell, the process ends as soon as the supervisor that started
        // it does: a spare whose supervisor was killed, or disabled before the spare was ready, is no use.
        String pid = System.getenv(CellChannel.SUPERVISOR_PID_VARIABLE);
        try {
            if (pid != null) {
                supervisor = Libc.pidfdOpen(Long.parseLong(pid));
            }
        } catch (NativeException | NumberFormatException e) {
            System.err.println("cell process " + Libc.getpid() + ": supervisor " + pid + " is gone");
            return false;
        }
        try {
            int ready = Libc.awaitAny(CREATE_DEADLINE_MILLIS, listener.fd(), supervisor);
            if (ready == 0) {
                return true;
            }
            String why = ready == 1 ? "supervisor " + pid + " ended before it gave this process a cell"
                    : "no supervisor created the cell within " + CREATE_DEADLINE_MILLIS + " ms";
            System.err.println("cell process " + Libc.getpid() + ": " + why);
            return false;
        } catch (NativeException e) {
            throw new IOException(e.getMessage(), e);
        } finally {
            if (supervisor >= 0) {
                try {
                    Libc.close(supervisor);
                } catch (NativeException ignored) {
                    // closing a pidfd: nothing to do about a failure
                }
            }
        }
    }

    /** Serves one supervisor until it hangs up (null), the cell is destroyed (true) or could not be built (false). */
    private Boolean serveConnection(CellChannel channel) throws IOException {
        while (true) {
            CellChannel.Received<CellRequest> in;
            try {
                in = channel.receiveRequest();
            } catch (IOException e) {
                System.err.println("cell process " + Libc.getpid() + ": " + e.getMessage());
                return null; // a supervisor that speaks nonsense is dropped; the cell runs on
            }
            if (in == null) {
                return null;
            }
            CellReply reply;
            int[] replyFds = new int[0];
            boolean exit = false;
            try {
                switch (in.message()) {
                    case CellRequest.Create c -> reply = create(c, in.fds());
                    case CellRequest.Hello h -> {
                        in.closeFds();
                        requireCell();
                        reply = new CellReply.Identity(Libc.getpid(), created, cell.threadIds());
                        replyFds = identityFds();
                    }
                    case CellRequest.Load l -> {
                        try {
                            requireCell();
                            reply = new CellReply.Loaded(cell.load(l.images(), in.fds()));
                        } finally {
                            in.closeFds();
                        }
                    }
                    case CellRequest.Start s -> {
                        in.closeFds();
                        requireCell();
                        reply = new CellReply.Started(cell.start());
                    }
                    case CellRequest.Park p -> {
                        in.closeFds();
                        requireCell();
                        if (p.failed()) {
                            cell.fail();
                        } else {
                            cell.park();
                        }
                        reply = new CellReply.Done();
                    }
                    case CellRequest.Destroy d -> {
                        in.closeFds();
                        requireCell();
                        cell.destroy();
                        reply = new CellReply.Done();
                        exit = true;
                    }
                }
            } catch (HypervisorException e) {
                reply = new CellReply.Failed(e.errno().value(), e.getMessage());
            } catch (RuntimeException e) {
                reply = new CellReply.Failed(Errno.EIO.value(), "cell process " + Libc.getpid() + ": " + e);
            }
            if (in.message() instanceof CellRequest.Create && cell == null) {
                exit = true; // a cell that could not be built: the process has nothing to run
            }
            channel.reply(reply, replyFds);
            if (exit) {
                return reply instanceof CellReply.Done;
            }
        }
    }

    private void requireCell() throws HypervisorException {
        if (cell == null) {
            throw new HypervisorException(Errno.EINVAL, "the cell has not been created");
        }
    }

    /** Builds the cell; the reserved memory's descriptor is closed at once (only the cell's mappings stay). */
    private CellReply create(CellRequest.Create c, int[] fds) throws HypervisorException {
        if (cell != null) {
            new CellChannel.Received<>(c, fds).closeFds();
            throw new HypervisorException(Errno.EEXIST, "the cell exists already");
        }
        int needed = 2;
        for (CellRequest.IvshmemPlan p : c.ivshmem()) {
            needed += p.slots();
        }
        if (fds.length != needed) {
            new CellChannel.Received<>(c, fds).closeFds();
            throw new HypervisorException(Errno.EINVAL, "cell creation came with " + fds.length + " descriptors, "
                    + needed + " expected");
        }
        List<int[]> slotFds = new ArrayList<>();
        int at = 2;
        for (CellRequest.IvshmemPlan p : c.ivshmem()) {
            slotFds.add(Arrays.copyOfRange(fds, at, at + p.slots()));
            at += p.slots();
        }
        try {
            SystemConfig system = decode(c.systemConfig(), "system config", SystemConfig.class);
            CellConfig config = decode(c.cellConfig(), "cell config", CellConfig.class);
            cell = CellMachine.create(kvm, c, system, config, fds[0], fds[1], slotFds);
            created = c;
        } catch (HypervisorException e) {
            slotFds.forEach(DoorbellSlots::closeAll);
            closeQuietly(fds[0]);
            throw e;
        } finally {
            closeQuietly(fds[1]); // the regions stay mapped, nothing else of the reserved memory
        }
        confine();
        return new CellReply.Created(cell.threadIds());
    }

    /**
     * Confines the process before the guest's first instruction. A process
     * that cannot confine itself does not run the cell: the supervisor is
     * told why and the process ends.
     */
    private void confine() throws HypervisorException {
        try {
            // Opens every jar of the class path now (a lookup that finds nothing visits each), so that
            // classes first needed later load from descriptors already open, whoever the process becomes.
            CellMain.class.getClassLoader().getResource("io/jailhouse/hypervisor/none-such");
            if (created.uid() >= 0) {
                if (created.uid() == 0) {
                    throw new NativeException("becoming uid 0 (a cell never runs as root)", Errno.EPERM.value());
                }
                Confinement.becomeUser(created.uid(), created.uid());
            }
            Confinement.forbidDumpsAndPtrace();
            Confinement.install(CellSyscalls.filter(Libc.getpid()));
        } catch (NativeException e) {
            cell.destroy();
            cell = null;
            throw new HypervisorException(Errno.EPERM, "cell process " + Libc.getpid()
                    + " cannot confine itself: " + e.getMessage());
        }
    }

    private static <T extends JailhouseConfig> T decode(byte[] bytes, String what, Class<T> kind)
            throws HypervisorException {
        try {
            JailhouseConfig c = BinaryConfigCodec.decode(bytes, what);
            if (!kind.isInstance(c)) {
                throw new HypervisorException(Errno.EINVAL, "the " + what + " is not a " + kind.getSimpleName());
            }
            return kind.cast(c);
        } catch (ConfigFormatException e) {
            throw new HypervisorException(Errno.EINVAL, e.getMessage());
        }
    }

    /** For adoption: the pages' memfd and every doorbell slot (the kernel duplicates them into the message). */
    private int[] identityFds() {
        List<Integer> out = new ArrayList<>();
        out.add(cell.pagesFd());
        for (int[] s : cell.slotFds()) {
            for (int fd : s) {
                out.add(fd);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (NativeException ignored) {
            // a descriptor that came with a request
        }
    }
}
