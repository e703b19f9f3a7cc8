/*
 * Jailhouse for Java - the root cell's counterpart of ivshmem-demo: a Linux
 * program that is the root cell's peer of an ivshmem link, doing what the
 * ivshmem-demo inmate does in a cell.
 *
 *   ./run [BDF] [--target PEER] [--count N] [--period MS]
 *
 * Attaches to the link (default 01:0e.0, where the bundled qemu-vm config
 * makes the root peer 0), enables its interrupts, writes STATE = id + 1,
 * then every period rings vector id + 1 of the target peer (default 1).
 * Every interrupt is counted per vector; the count of vector "id" (what the
 * peers ring with their default targets) goes to the R/W section at word id
 * and, times 10, to word 0 of the root's output section, and the shared
 * memory is dumped as ivshmem-demo dumps it. With --count, it stops after
 * that many doorbells and one more period.
 */

import io.jailhouse.config.PciDevice;
import io.jailhouse.ivshmem.IvshmemEndpoint;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;

public final class RootPeerDemo {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static void main(String[] args) throws Exception {
        int bdf = PciDevice.parseBdf("01:0e.0");
        int target = 1;
        long count = 0;
        long periodMs = 1000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--target" -> target = Integer.parseInt(args[++i]);
                case "--count" -> count = Long.parseLong(args[++i]);
                case "--period" -> periodMs = Math.max(1, Long.parseLong(args[++i]));
                default -> bdf = PciDevice.parseBdf(args[i]);
            }
        }
        String runDir = System.getenv().getOrDefault("JAILHOUSE_RUN_DIR", "/run/jailhouse");
        try (IvshmemEndpoint ivshmem = IvshmemEndpoint.attach(Path.of(runDir, "control.sock"), bdf)) {
            int id = ivshmem.id();
            System.out.printf("IVSHMEM: attached to %s as root cell peer %d of %d%n", PciDevice.formatBdf(bdf), id,
                    ivshmem.maxPeers());
            ivshmem.enableInterrupts(true);
            ivshmem.setState(id + 1);
            publish(ivshmem, 0);
            // as ivshmem-demo: vector id + 1 (0 without MSI-X), if the link has that many
            int vector = ivshmem.vectors() > id + 1 ? id + 1 : 0;
            long start = System.nanoTime();
            long sent = 0;
            while (count == 0 || sent < count) {
                serveUntil(ivshmem, start + (sent + 1) * periodMs * 1_000_000);
                System.out.printf("%nIVSHMEM: sending IRQ %d to peer %d%n", vector, target);
                ivshmem.ring(target, vector);
                sent++;
            }
            serveUntil(ivshmem, start + (sent + 1) * periodMs * 1_000_000);
            System.out.printf("IVSHMEM: done, %d doorbell(s) sent, interrupts per vector: %d %d %d %d%n", sent,
                    ivshmem.interrupts(0), count(ivshmem, 1), count(ivshmem, 2), count(ivshmem, 3));
        }
    }

    private static long count(IvshmemEndpoint ivshmem, int vector) {
        return vector < ivshmem.interruptCount() ? ivshmem.interrupts(vector) : 0;
    }

    /** Takes interrupts until {@code dueNanos} (System.nanoTime). */
    private static void serveUntil(IvshmemEndpoint ivshmem, long dueNanos) throws Exception {
        long left;
        while ((left = dueNanos - System.nanoTime()) > 0) {
            int fired = ivshmem.awaitInterrupts(Duration.ofNanos(left));
            for (int v = 0; v < ivshmem.interruptCount(); v++) {
                if ((fired & 1 << v) != 0) {
                    int id = ivshmem.id();
                    long value = id < ivshmem.interruptCount() ? ivshmem.interrupts(id) : ivshmem.interrupts(0);
                    publish(ivshmem, value);
                    System.out.printf("%nIVSHMEM: got interrupt %d (#%d)%n", v, ivshmem.interrupts(v));
                    dump(ivshmem);
                }
            }
        }
    }

    /** The count in the R/W section at word id and, times 10, in word 0 of the own output section (if present). */
    private static void publish(IvshmemEndpoint ivshmem, long value) {
        MemorySegment rw = ivshmem.readWriteSection();
        if (rw.byteSize() >= 4L * ivshmem.id() + 4) {
            rw.set(U32, 4L * ivshmem.id(), (int) value);
        }
        MemorySegment out = ivshmem.ownOutputSection();
        if (out.byteSize() >= 4) {
            out.set(U32, 0, (int) value * 10);
        }
    }

    private static void dump(IvshmemEndpoint ivshmem) {
        for (int p = 0; p < Math.min(3, ivshmem.maxPeers()); p++) {
            System.out.printf("state[%d] = %d%n", p, ivshmem.state(p));
        }
        MemorySegment rw = ivshmem.readWriteSection();
        for (int p = 0; p < 3 && 4L * p + 4 <= rw.byteSize(); p++) {
            System.out.printf("rw[%d] = %d%n", p, rw.get(U32, 4L * p));
        }
        for (int p = 0; p < Math.min(3, ivshmem.maxPeers()); p++) {
            MemorySegment out = ivshmem.outputSection(p);
            System.out.printf("in@0x%04x = %d%n", p * out.byteSize(), out.byteSize() >= 4 ? out.get(U32, 0) : 0);
        }
    }
}
