package io.jailhouse.cli;

import io.jailhouse.config.PciDevice;
import io.jailhouse.protocol.ControlException;
import io.jailhouse.protocol.DaemonUnavailableException;
import io.jailhouse.protocol.IvshmemLinkStatus;
import io.jailhouse.ivshmem.IvshmemEndpoint;
import io.jailhouse.sys.Errno;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code jailhouse ivshmem ...}: the root cell's side of its ivshmem links
 * from a shell, through {@link IvshmemEndpoint} (docs/ivshmem.md). Not an
 * upstream command: upstream's root cell reaches the links through a
 * kernel driver instead.
 */
@Command(name = "ivshmem", mixinStandardHelpOptions = true,
        description = "Act as the root cell's peer of an ivshmem link: list, dump, ring, watch.")
final class IvshmemCommand {
    private IvshmemCommand() {
    }

    /** Turns {@code BB:DD.F} into a BDF for picocli, naming the text when it is not one. */
    static final class BdfConverter implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            try {
                int bdf = PciDevice.parseBdf(value);
                if (bdf < 0 || bdf > 0xffff) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is not a PCI device BB:DD.F");
                }
                return bdf;
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a PCI device BB:DD.F ("
                        + e.getMessage() + ")");
            }
        }
    }

    /** A daemon command that attaches to one link for its duration. */
    abstract static class Attaching extends DaemonCommand {
        @CommandLine.Parameters(index = "0", paramLabel = "BDF", converter = BdfConverter.class,
                description = "the link: the BDF of the root cell's ivshmem device, e.g. 01:0e.0")
        int bdf;

        /** Attaches, runs {@link #with}, detaches (also when it fails). */
        @Override
        final int run() throws CommandFailure {
            IvshmemEndpoint endpoint;
            try {
                endpoint = IvshmemEndpoint.attach(runDirectory().socket(), bdf);
            } catch (DaemonUnavailableException e) {
                throw CommandFailure.of("ivshmem attach", Errno.EINVAL, e.getMessage());
            } catch (ControlException e) {
                throw CommandFailure.of("ivshmem attach", e.errno(), e.getMessage());
            } catch (IOException e) {
                throw CommandFailure.of("ivshmem attach", Errno.EIO, e.getMessage());
            }
            try (endpoint) {
                return with(endpoint);
            } catch (IOException e) {
                throw CommandFailure.of("ivshmem " + PciDevice.formatBdf(bdf), Errno.EIO, e.getMessage());
            }
        }

        abstract int with(IvshmemEndpoint endpoint) throws IOException, CommandFailure;
    }

    static String describe(IvshmemEndpoint e) {
        return String.format("ivshmem %s: root cell peer %d of %d, %d MSI-X vector(s), protocol 0x%04x",
                PciDevice.formatBdf(e.bdf()), e.id(), e.maxPeers(), e.vectors(), e.protocol());
    }

    /** The state table, one line per peer. */
    static String stateTable(IvshmemEndpoint e) {
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < e.maxPeers(); p++) {
            sb.append(String.format("  state[%d] = 0x%08x%s%n", p, e.state(p), p == e.id() ? "  (root)" : ""));
        }
        return sb.toString();
    }

    /** {@code bytes} bytes of {@code s} from the start, 16 per line, as hexdump -C without the text column. */
    static String hex(MemorySegment s, long bytes) {
        StringBuilder sb = new StringBuilder();
        long n = Math.min(bytes, s.byteSize());
        for (long at = 0; at < n; at += 16) {
            sb.append(String.format("  %04x:", at));
            for (long i = at; i < Math.min(at + 16, n); i++) {
                sb.append(String.format(" %02x", s.get(ValueLayout.JAVA_BYTE, i)));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String linkTable(java.util.List<IvshmemLinkStatus> links) {
        if (links.isEmpty()) {
            return "The root cell has no ivshmem links.\n";
        }
        StringBuilder sb = new StringBuilder(String.format("%-9s%-11s%-7s%-9s%-10s%s%n", "BDF", "Root peer", "Peers",
                "Vectors", "Protocol", "Attached"));
        for (IvshmemLinkStatus l : links) {
            sb.append(String.format("%-9s%-11d%-7d%-9d0x%04x    %s%n", PciDevice.formatBdf(l.bdf()), l.rootPeerId(),
                    l.maxPeers(), l.vectors(), l.protocol(), l.attached() ? "yes" : "no"));
            for (IvshmemLinkStatus.Peer p : l.peers()) {
                sb.append(String.format("  peer %-3d%-26s state 0x%08x%n", p.id(), "\"" + p.cell() + "\"", p.state()));
            }
        }
        return sb.toString();
    }
}
