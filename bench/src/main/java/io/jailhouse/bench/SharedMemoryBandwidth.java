package io.jailhouse.bench;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.SystemConfig;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.daemon.ConsoleLog;
import io.jailhouse.daemon.Hypervisor;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.protocol.Partitioning;
import io.jailhouse.sys.MemoryMapping;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Copy bandwidth in an ivshmem shared-memory section: {@code shmem-copy}
 * (rep movsq, 16 KiB blocks) in the ivshmem-demo cell's R/W section, the
 * same image on the C floor in ordinary guest RAM, and the same block copy
 * on the host (MemorySegment.copy of a shared mapping), in one run.
 *
 * <p>Usage: {@code SharedMemoryBandwidth [ROUNDS]}, run from the project root.
 */
public final class SharedMemoryBandwidth {
    private static final Pattern RESULT = Pattern.compile("shmem-copy: (\\d+) x (\\d+) bytes, (\\d+) cycles, (\\d+) MiB/s");
    private static final int BLOCK = 16384;

    private SharedMemoryBandwidth() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path top = Path.of(System.getProperty("jailhouse.home", "."));
        Path image = top.resolve("inmates/tests/x86/shmem-copy.bin");
        String cmdline = "addr=0x3f0f1000 size=" + BLOCK + " rounds=" + rounds;
        SystemConfig system = ConfigFiles.read(top.resolve("configs/x86/qemu-vm.yaml"), SystemConfig.class);
        String cell;
        try (EnabledHypervisor enabled = EnabledHypervisor.enable(system)) {
            Hypervisor hv = enabled.hv();
            CellConfig config = ConfigFiles.read(top.resolve("configs/x86/ivshmem-demo.yaml"), CellConfig.class);
            hv.createCell(config);
            CellRef ref = CellRef.parse(config.name());
            hv.loadCell(ref, List.of(new LoadImage(image.toString(), Files.readAllBytes(image), 0xf0000),
                    new LoadImage("string", (cmdline + "\0").getBytes(StandardCharsets.ISO_8859_1), 0xf1000)));
            hv.startCell(ref);
            ConsoleLog console = hv.cellConsole(ref);
            long deadline = System.nanoTime() + 600_000_000_000L;
            cell = console.read(0, 1 << 20).text();
            while (!cell.contains("shmem-copy done") && System.nanoTime() < deadline) {
                Thread.sleep(100);
                cell = console.read(0, 1 << 20).text();
            }
        }
        String floor = new KvmFloor(top).console(image, 0, "addr=0x40000 size=" + BLOCK + " rounds=" + rounds,
                "shmem-copy done");

        double hostMib;
        try (MemoryMapping m = MemoryMapping.anonymous(2 * BLOCK)) {
            MemorySegment s = m.segment();
            int hostRounds = 200_000;
            for (int i = 0; i < 20_000; i++) {
                MemorySegment.copy(s, 0, s, BLOCK, BLOCK); // warm-up
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < hostRounds; i++) {
                MemorySegment.copy(s, 0, s, BLOCK, BLOCK);
            }
            long ns = System.nanoTime() - t0;
            hostMib = (double) BLOCK * hostRounds / (ns / 1e9) / (1024 * 1024);
        }
        long cellMib = mib(cell, "cell");
        long floorMib = mib(floor, "floor");
        System.out.printf("copy of %d-byte blocks: cell (ivshmem R/W section) %d MiB/s, C floor guest RAM %d MiB/s,"
                + " host %.0f MiB/s; cell/host %.4f, cell/floor %.2f%n", BLOCK, cellMib, floorMib, hostMib,
                cellMib / hostMib, (double) cellMib / floorMib);
    }

    private static long mib(String out, String who) {
        Matcher m = RESULT.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException(who + ": no shmem-copy result in:\n" + out);
        }
        return Long.parseLong(m.group(4));
    }
}
