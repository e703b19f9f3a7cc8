package io.jailhouse.cli;

import io.jailhouse.cli.linux.BzImage;
import io.jailhouse.cli.linux.LinuxBootException;
import io.jailhouse.cli.linux.LinuxBootLayout;
import io.jailhouse.cli.linux.LinuxBootParams;
import io.jailhouse.config.BinaryConfigCodec;
import io.jailhouse.config.CellConfig;
import io.jailhouse.config.ConfigFiles;
import io.jailhouse.config.ConfigFormatException;
import io.jailhouse.protocol.CellRef;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.LoadImage;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jailhouse cell linux CELLCONFIG KERNEL [-i INITRD] [-c CMDLINE] [-w FILE] [-k FACTOR]}:
 * boots a Linux bzImage in a new cell (x86, spec 14), as upstream's
 * jailhouse-cell-linux does: creates the cell (or takes the one of that
 * name), loads linux-loader at 0, the kernel, the initrd and the boot
 * parameters at 0x1000, and starts it. With {@code -w} it only writes the
 * parameters and prints the commands that would do the same.
 */
@Command(name = "linux", mixinStandardHelpOptions = true,
        description = "Boot Linux in a non-root cell (x86).")
final class CellLinuxCommand extends DaemonCommand {
    /** Where the loader is below the project's top directory (as upstream's inmates/tools/x86). */
    static final String LOADER = "inmates/tools/x86/linux-loader.bin";

    @Parameters(index = "0", paramLabel = "CELLCONFIG", description = "cell configuration (.cell, .yaml, .json, .c)")
    Path config;

    @Parameters(index = "1", paramLabel = "KERNEL", description = "the kernel: an x86 bzImage")
    Path kernel;

    @Option(names = {"-i", "--initrd"}, paramLabel = "FILE", description = "initrd or initramfs for the kernel")
    Path initrd;

    @Option(names = {"-c", "--cmdline"}, paramLabel = "\"STRING\"", description = "kernel command line")
    String cmdline;

    @Option(names = {"-w", "--write-params"}, paramLabel = "FILE",
            description = "only write the boot parameters to FILE and print the commands that boot Linux with them")
    Path writeParams;

    @Option(names = {"-k", "--kernel-decomp-factor"}, paramLabel = "FACTOR",
            description = {"place the initrd at the kernel's load address plus FACTOR times its size",
                "(upstream's; never inside the kernel's decompression space)"})
    Integer factor;

    @Option(names = {"-a", "--arch"}, paramLabel = "ARCH", description = "target architecture: x86")
    String arch;

    @Option(names = {"-d", "--dtb"}, paramLabel = "DTB", description = "device tree (arm and arm64 only; not used on x86)")
    Path dtb;

    @Override
    int run() throws CommandFailure {
        if (arch != null && !arch.equals("x86")) {
            throw new CommandFailure("cell linux: architecture \"" + arch + "\" is not supported here (x86 only)");
        }
        if (factor != null && (factor < 1 || factor > 64)) {
            throw new CommandFailure("cell linux: --kernel-decomp-factor " + factor + " is out of range (1 to 64)");
        }
        if (dtb != null) {
            err().println("cell linux: --dtb is for arm and arm64; not used on x86");
        }
        CellCreateCommand.checkReadable(config);
        CellConfig cell;
        try {
            cell = ConfigFiles.read(config, CellConfig.class);
        } catch (ConfigFormatException e) {
            throw CommandFailure.of(CellCreateCommand.IOCTL, Errno.EINVAL, e.getMessage());
        }
        java.io.PrintWriter progress = Main.of(spec).errorsToTerminal() ? err() : null;
        byte[] kernelBytes = CellLoadCommand.read(kernel.toString(), progress);
        byte[] initrdBytes = initrd == null ? new byte[0] : CellLoadCommand.read(initrd.toString(), progress);
        byte[] cmdlineBytes = cmdline == null ? new byte[0] : CellLoadCommand.nativeBytes(cmdline);

        byte[] params;
        LinuxBootLayout layout;
        try {
            BzImage image = BzImage.parse(kernel.toString(), kernelBytes);
            layout = LinuxBootLayout.of(cell, image, initrdBytes.length,
                    factor == null ? OptionalInt.empty() : OptionalInt.of(factor), cmdlineBytes.length);
            params = LinuxBootParams.encode(image, layout, cmdlineBytes);
        } catch (LinuxBootException e) {
            throw new CommandFailure("cell linux: " + e.getMessage());
        }

        Path loader = loaderPath();
        if (writeParams != null) {
            writeParams(params, layout, loader, cell);
            return 0;
        }
        byte[] loaderBytes = CellLoadCommand.read(loader.toString());
        if (loaderBytes.length > LinuxBootLayout.LOADER_SIZE) {
            throw new CommandFailure("cell linux: " + loader + " has " + loaderBytes.length + " bytes; the loader is "
                    + LinuxBootLayout.LOADER_SIZE);
        }
        List<LoadImage> images = new ArrayList<>();
        images.add(new LoadImage(loader.toString(), loaderBytes, LinuxBootLayout.LOADER_ADDRESS));
        images.add(new LoadImage(kernel.toString(), kernelBytes, layout.kernelAddress()));
        if (initrd != null) {
            images.add(new LoadImage(initrd.toString(), initrdBytes, layout.initrdAddress()));
        }
        // Last: it overwrites the loader image's gap at [0x1000, 0x3000) kept for it.
        images.add(new LoadImage("boot parameters", params, LinuxBootLayout.PARAMS_ADDRESS));

        byte[] binary = BinaryConfigCodec.encode(cell);
        CellRef ref = CellRef.ofName(cell.name());
        request(CellCreateCommand.IOCTL, c -> {
            try {
                return c.createCell(binary);
            } catch (ControlException e) {
                if (e.errno() == Errno.EEXIST) {
                    return null; // as upstream: a cell of that name is booted again
                }
                throw e;
            }
        });
        request(CellLoadCommand.IOCTL, c -> {
            c.loadCell(ref, images);
            return null;
        });
        List<String> warnings = request(CellStartCommand.IOCTL, c -> c.startCell(ref));
        warnings.forEach(err()::println);
        return 0;
    }

    /**
     * The loader next to this build: {@code HOME/inmates/tools/x86/linux-loader.bin},
     * HOME from {@code -Djailhouse.home} or else {@code $JAILHOUSE_HOME}.
     */
    private static Path loaderPath() throws CommandFailure {
        String home = System.getProperty("jailhouse.home", System.getenv("JAILHOUSE_HOME"));
        if (home == null || home.isEmpty()) {
            throw new CommandFailure("cell linux: JAILHOUSE_HOME is not set, so " + LOADER
                    + " cannot be found (bin/jailhouse sets it)");
        }
        return Path.of(home).resolve(LOADER);
    }

    private void writeParams(byte[] params, LinuxBootLayout layout, Path loader, CellConfig cell)
            throws CommandFailure {
        try {
            Files.write(writeParams, params);
        } catch (IOException e) {
            throw CommandFailure.opening(writeParams, e);
        }
        StringBuilder load = new StringBuilder("jailhouse cell load ").append(cell.name()).append(' ')
                .append(loader).append(" -a 0x").append(Long.toHexString(LinuxBootLayout.LOADER_ADDRESS))
                .append(' ').append(kernel).append(" -a 0x").append(Long.toHexString(layout.kernelAddress()));
        if (initrd != null) {
            load.append(' ').append(initrd).append(" -a 0x").append(Long.toHexString(layout.initrdAddress()));
        }
        load.append(' ').append(writeParams).append(" -a 0x").append(Long.toHexString(LinuxBootLayout.PARAMS_ADDRESS));
        out().println("Boot parameters written. Start Linux with the following commands (adjusting paths as needed):");
        out().println();
        out().println("jailhouse cell create " + config);
        out().println(load);
        out().println("jailhouse cell start " + cell.name());
    }
}
