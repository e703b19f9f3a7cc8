package io.jailhouse.bench;

import io.jailhouse.protocol.ControlClient;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.UnixSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Hostile clients against a daemon started with {@code bin/jailhouse
 * enable}: 500 idle connections, three clients that announce 60 MiB
 * messages (sparse memfds) and never read the refusal, and one that floods
 * refused packets without reading a reply. Meanwhile a well-behaved client
 * times {@code cell list}; the supervisor's resident memory is read before
 * and after.
 *
 * <p>Usage: {@code bench/run clients [ROUNDS]}, as root.
 */
public final class HostileClients {
    private HostileClients() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path top = Path.of(System.getProperty("jailhouse.home", ".")).toAbsolutePath();
        DaemonUnderTest d = DaemonUnderTest.onQemuVm(top, "clients");
        if (d.enable().status() != 0) {
            throw new IllegalStateException("enable failed");
        }
        List<UnixSocket> open = new ArrayList<>();
        int sixty = Libc.memfdCreate("sixty-mib", Libc.MFD_CLOEXEC);
        try {
            long pid = d.pid();
            double quiet = medianListMillis(d, rounds);
            long rssBefore = DaemonUnderTest.Usage.of(pid).rssKiB();
            for (int i = 0; i < 500; i++) {
                open.add(UnixSocket.connect(d.run.socket()));
            }
            Libc.ftruncate(sixty, 60L << 20);
            for (int i = 0; i < 3; i++) {
                UnixSocket s = UnixSocket.connect(d.run.socket());
                open.add(s);
                s.send(new byte[] {1}, sixty); // a message in a memfd, of 60 MiB
            }
            UnixSocket flooder = UnixSocket.connect(d.run.socket());
            open.add(flooder);
            int sent = 0;
            try {
                for (; sent < 100_000; sent++) {
                    flooder.send(new byte[] {7});
                }
            } catch (io.jailhouse.sys.NativeException e) {
                // the daemon dropped it once its replies piled up
            }
            double hostile = medianListMillis(d, rounds);
            long rssAfter = DaemonUnderTest.Usage.of(pid).rssKiB();
            DaemonUnderTest.Usage u = DaemonUnderTest.Usage.of(pid);
            System.out.printf("cell list, median of %d: %.2f ms alone, %.2f ms beside 500 idle connections, three "
                    + "60 MiB announcements and a flooder (dropped after %d packets)%n", rounds, quiet, hostile, sent);
            System.out.printf("supervisor RSS: %.1f MiB before, %.1f MiB after (+%.1f MiB); %d descriptors, %d threads%n",
                    rssBefore / 1024.0, rssAfter / 1024.0, (rssAfter - rssBefore) / 1024.0, u.descriptors(), u.threads());
        } finally {
            for (UnixSocket s : open) {
                s.closeQuietly();
            }
            Libc.close(sixty);
            d.jailhouse("disable");
        }
    }

    private static double medianListMillis(DaemonUnderTest d, int rounds) throws Exception {
        List<Double> t = new ArrayList<>();
        try (ControlClient c = d.client()) {
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                c.cells();
                t.add((System.nanoTime() - t0) / 1e6);
            }
        }
        t.sort(null);
        return t.get(t.size() / 2);
    }
}
