package io.jailhouse.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.MemoryRegion;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.LoadImage;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * An image of 60 MiB into a cell with 60 MiB of loadable RAM beside
 * tiny-demo's: it travels as a descriptor, lands byte for byte in the
 * cell's memory (read back from the reserved-memory file at the region's
 * physical address), and the cell still runs.
 */
class LargeImageKvmTest extends KvmCellTestBase {
    static final long BIG_PHYS = 0x3a600000L; // the start of qemu-vm's inmate window, below tiny-demo's 0x3ee00000
    static final long BIG_VIRT = 0x40000000L;
    static final int BIG_SIZE = 60 << 20;

    @Test
    void aSixtyMebibyteImageLandsInTheCellByteForByte() throws Exception {
        CellConfig tiny = ConfigFiles.read(CONFIGS.resolve("tiny-demo.yaml"), CellConfig.class);
        List<MemoryRegion> regions = new ArrayList<>(tiny.memoryRegions());
        regions.add(new MemoryRegion(BIG_PHYS, BIG_VIRT, BIG_SIZE,
                MemoryRegion.READ | MemoryRegion.WRITE | MemoryRegion.LOADABLE));
        hv.createCell(tiny.withName("big").withMemoryRegions(regions));

        byte[] image = new byte[BIG_SIZE];
        new Random(60).nextBytes(image);
        Path demo = DEMOS.resolve("tiny-demo.bin");
        long t0 = System.nanoTime();
        hv.loadCell(CellRef.parse("big"), List.of(new LoadImage(demo.toString(), Files.readAllBytes(demo), 0xf0000),
                new LoadImage("big.bin", image, BIG_VIRT)));
        long loadMillis = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("60 MiB image loaded in " + loadMillis + " ms");

        String file = hv.notices().stream().filter(n -> n.startsWith("Cell memory: "))
                .map(n -> n.replaceAll(".* of reserved memory in (\\S+?)[.,](\\s.*)?$", "$1")).findFirst()
                .orElseThrow();
        byte[] landed = new byte[BIG_SIZE];
        try (FileChannel memory = FileChannel.open(Path.of(file), StandardOpenOption.READ)) {
            ByteBuffer into = ByteBuffer.wrap(landed);
            long at = BIG_PHYS;
            while (into.hasRemaining()) {
                int n = memory.read(into, at);
                assertThat(n).as("the reserved memory holds the region").isPositive();
                at += n;
            }
        }
        assertThat(java.util.Arrays.mismatch(landed, image)).as("first differing byte").isEqualTo(-1);

        hv.startCell(CellRef.parse("big"));
        assertThat(awaitConsole("big", "Hello from this tiny cell!")).isNotEmpty();
    }
}
