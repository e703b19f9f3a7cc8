package io.jailhouse.config;

/**
 * {@code struct jailhouse_system} (488 bytes, the last 132 being the root
 * cell's descriptor) with the root cell's arrays.
 *
 * @param rootCellHeader the 8 bytes at the start of the embedded root cell
 *        descriptor (signature, architecture, revision), which upstream leaves
 *        zero and never checks; kept raw so any file reproduces exactly
 */
public record SystemConfig(
        Architecture architecture,
        long flags,
        MemoryRegion hypervisorMemory,
        Console debugConsole,
        PlatformInfo platform,
        CellConfig rootCell,
        long rootCellHeader) implements JailhouseConfig {

    public static final int HEADER_BYTES = 488;
    /** Bytes of the system header before the embedded root cell descriptor. */
    public static final int ROOT_CELL_OFFSET = 356;

    public static final long VIRTUAL_DEBUG_CONSOLE = 0x0001;
    public static final FlagNames FLAG_NAMES = FlagNames.of("system", "virtual-debug-console", VIRTUAL_DEBUG_CONSOLE);

    @Override
    public CellConfig cell() {
        return rootCell;
    }

    public long encodedSize() {
        return ROOT_CELL_OFFSET + rootCell.encodedSize();
    }

    public boolean hasFlag(long flag) {
        return (flags & flag) == flag;
    }

    /** The x86 arm of the platform info, or null on other architectures. */
    public X86Platform x86() {
        return platform.arch() instanceof X86Platform x ? x : null;
    }
}
