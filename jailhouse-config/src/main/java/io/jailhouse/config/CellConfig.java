package io.jailhouse.config;

import java.util.List;
import java.util.Optional;

/**
 * {@code struct jailhouse_cell_desc} (132 bytes) with its variable arrays: a
 * non-root cell config file, or the root cell inside a system config.
 *
 * @param id overwritten with the runtime id when a cell is created; kept for byte-exactness
 * @param cpus the CPU set bitmap; its byte size is {@code cpu_set_size}
 */
public record CellConfig(
        Architecture architecture,
        String name,
        long id,
        long flags,
        Bitmap cpus,
        List<MemoryRegion> memoryRegions,
        List<CacheRegion> cacheRegions,
        List<Irqchip> irqchips,
        List<PioRange> pioRegions,
        List<PciDevice> pciDevices,
        List<PciCapability> pciCaps,
        List<Long> streamIds,
        long vpciIrqBase,
        long cpuResetAddress,
        long msgReplyTimeout,
        Console console) implements JailhouseConfig {

    public static final int DESC_BYTES = 132;
    public static final int NAME_BYTES = 32;
    public static final int NAME_MAXLEN = 31;
    public static final int MAX_CPU_SET_BYTES = 4096;
    public static final int STREAM_ID_BYTES = 4;

    public static final long PASSIVE_COMMREG = 0x00000001L;
    public static final long TEST_DEVICE = 0x00000002L;
    public static final long AARCH32 = 0x00000004L;
    public static final long VIRTUAL_CONSOLE_PERMITTED = 0x40000000L;
    public static final long VIRTUAL_CONSOLE_ACTIVE = 0x80000000L;

    public static final FlagNames FLAG_NAMES = FlagNames.of("cell",
            "passive-commreg", PASSIVE_COMMREG, "test-device", TEST_DEVICE, "aarch32", AARCH32,
            "virtual-console-permitted", VIRTUAL_CONSOLE_PERMITTED,
            "virtual-console-active", VIRTUAL_CONSOLE_ACTIVE);

    public CellConfig {
        checkName(name);
        memoryRegions = List.copyOf(memoryRegions);
        cacheRegions = List.copyOf(cacheRegions);
        irqchips = List.copyOf(irqchips);
        pioRegions = List.copyOf(pioRegions);
        pciDevices = List.copyOf(pciDevices);
        pciCaps = List.copyOf(pciCaps);
        streamIds = List.copyOf(streamIds);
    }

    /**
     * A cell name fits the 32-byte field with its NUL: at most 31 single-byte
     * (ISO-8859-1) characters, none of them NUL.
     */
    public static void checkName(String name) {
        if (name == null) {
            throw new IllegalArgumentException("cell name is missing");
        }
        if (name.length() > NAME_MAXLEN) {
            throw new IllegalArgumentException("cell name \"" + name + "\" has " + name.length()
                    + " characters; at most " + NAME_MAXLEN + " fit");
        }
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (ch == 0 || ch > 0xff) {
                throw new IllegalArgumentException("cell name \"" + name + "\" contains character U+"
                        + String.format("%04X", (int) ch) + ", which the name field cannot hold");
            }
        }
    }

    @Override
    public CellConfig cell() {
        return this;
    }

    public boolean hasFlag(long flag) {
        return (flags & flag) == flag;
    }

    /** Whether memory region {@code index} is a section (state table, R/W, output) of one of the cell's ivshmem devices. */
    public boolean isIvshmemSection(int index) {
        for (PciDevice d : pciDevices) {
            if (d.isIvshmem() && index >= d.shmemRegionsStart() && index < d.shmemRegionsStart() + 2 + d.shmemPeers()) {
                return true;
            }
        }
        return false;
    }

    /** Size of this cell's descriptor plus arrays in a file. */
    public long encodedSize() {
        return DESC_BYTES + arraysSize();
    }

    long arraysSize() {
        return (long) cpus.sizeBytes()
                + (long) MemoryRegion.BYTES * memoryRegions.size()
                + (long) CacheRegion.BYTES * cacheRegions.size()
                + (long) Irqchip.BYTES * irqchips.size()
                + (long) PioRange.BYTES * pioRegions.size()
                + (long) PciDevice.BYTES * pciDevices.size()
                + (long) PciCapability.BYTES * pciCaps.size()
                + (long) STREAM_ID_BYTES * streamIds.size();
    }

    /** The region with {@code COMM_REGION}, if any. */
    public Optional<MemoryRegion> commRegion() {
        return memoryRegions.stream().filter(r -> r.has(MemoryRegion.COMM_REGION)).findFirst();
    }

    public CellConfig withName(String newName) {
        return new CellConfig(architecture, newName, id, flags, cpus, memoryRegions, cacheRegions, irqchips,
                pioRegions, pciDevices, pciCaps, streamIds, vpciIrqBase, cpuResetAddress, msgReplyTimeout, console);
    }

    public CellConfig withFlags(long newFlags) {
        return new CellConfig(architecture, name, id, newFlags, cpus, memoryRegions, cacheRegions, irqchips,
                pioRegions, pciDevices, pciCaps, streamIds, vpciIrqBase, cpuResetAddress, msgReplyTimeout, console);
    }

    public CellConfig withCpus(Bitmap newCpus) {
        return new CellConfig(architecture, name, id, flags, newCpus, memoryRegions, cacheRegions, irqchips,
                pioRegions, pciDevices, pciCaps, streamIds, vpciIrqBase, cpuResetAddress, msgReplyTimeout, console);
    }

    public CellConfig withMemoryRegions(List<MemoryRegion> regions) {
        return new CellConfig(architecture, name, id, flags, cpus, regions, cacheRegions, irqchips,
                pioRegions, pciDevices, pciCaps, streamIds, vpciIrqBase, cpuResetAddress, msgReplyTimeout, console);
    }

    public CellConfig withMsgReplyTimeout(long timeout) {
        return new CellConfig(architecture, name, id, flags, cpus, memoryRegions, cacheRegions, irqchips,
                pioRegions, pciDevices, pciCaps, streamIds, vpciIrqBase, cpuResetAddress, timeout, console);
    }

    public CellConfig withCpuResetAddress(long address) {
        return new CellConfig(architecture, name, id, flags, cpus, memoryRegions, cacheRegions, irqchips,
                pioRegions, pciDevices, pciCaps, streamIds, vpciIrqBase, address, msgReplyTimeout, console);
    }
}
