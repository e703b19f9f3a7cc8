package io.jailhouse.hypervisor;

import io.jailhouse.hypervisor.pci.DoorbellRouting;
import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.hypervisor.pci.IvshmemLink;
import io.jailhouse.hypervisor.pci.IvshmemPeer;
import io.jailhouse.hypervisor.pci.RootIvshmemPeer;
import io.jailhouse.sys.KvmVm;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ivshmem doorbells delivered by the kernel (the contract of
 * {@link DoorbellRouting}): for each wired (target, vector) an eventfd, bound
 * in the target's VM by an irqfd to a GSI routed as that vector's MSI, and
 * in every peer's VM an ioeventfd on its DOORBELL register matching
 * {@code target << 16 | vector}. A doorbell write that matches never leaves
 * the kernel; every other write exits to the daemon, whose device model
 * applies upstream's rules (and delivers in one-shot mode). For the root
 * cell's peer the eventfd is the attached program's interrupt eventfd for
 * that vector, signalled by the ioeventfds directly (no VM, no irqfd).
 *
 * <p>The other way, the attached program has a doorbell eventfd per (target
 * peer, vector) ({@link RootDoorbells}). While a cell's (target, vector) is
 * wired, that eventfd is a second irqfd on the same GSI, so the program's
 * doorbell reaches the cell in the kernel too; while it is not, the
 * daemon's register thread watches it and applies upstream's rules. The
 * watch ends after the irqfd comes (a count pending then is handed to the
 * irqfd) and starts after it goes (KVM drops the irqfd's view of the count,
 * which holds only doorbells it delivered, and the watch sees whatever
 * comes later), so each doorbell is delivered once, by the rules of its
 * moment.
 *
 * <p>Called on vCPU threads of any peer and on the management thread; one
 * monitor serializes the wiring (rare: drivers program MSI-X and
 * INT_CONTROL at start-up), never the doorbells themselves.
 */
final class KernelDoorbells implements DoorbellRouting {
    /** GSIs for MSI routes start above the IOAPIC's pins, whose default routes are kept. */
    static final int FIRST_GSI = KvmVm.IOAPIC_PINS;

    /** One wired-or-not (target, vector). */
    private static final class Route {
        final int eventFd;
        /** The MSI's GSI in the target's VM; -1 for the root's peer, which has no VM. */
        final int gsi;
        boolean wired;
        long address;
        int data;
        /** The root program's doorbell eventfd for this (target, vector) is bound as an irqfd too. */
        boolean rootBound;

        Route(int eventFd, int gsi) {
            this.eventFd = eventFd;
            this.gsi = gsi;
        }
    }

    private final Map<IvshmemDevice, Cell> cellOf = new HashMap<>();
    private final Map<IvshmemPeer, Route[]> routes = new HashMap<>();
    private final Map<IvshmemDevice, Long> doorbell = new HashMap<>();
    private final Map<Cell, Integer> nextGsi = new HashMap<>();
    private final Map<IvshmemLink, RootDoorbells> rootDoorbells = new HashMap<>();

    /** The doorbells of a program attached as the root's peer of one link. */
    interface RootDoorbells {
        /** The eventfd that rings {@code vector} of peer {@code target}, or -1 if there is none. */
        int fd(int target, int vector);

        /** Whether the daemon reads that eventfd (the Java path) rather than the kernel. */
        void watch(int target, int vector, boolean watched);
    }
    private int wiredDoorbells;

    /** A device joins (before it is attached to its link). */
    synchronized void register(IvshmemDevice device, Cell cell) {
        cellOf.put(device, cell);
    }

    /**
     * A program attached to the root's peer: its interrupt eventfds, one per
     * vector (owned by the caller, which closes them after {@link #forgetRoot}).
     */
    synchronized void registerRoot(RootIvshmemPeer peer, int[] interruptFds, RootDoorbells doorbells) {
        Route[] rs = new Route[interruptFds.length];
        for (int v = 0; v < rs.length; v++) {
            rs[v] = new Route(interruptFds[v], -1);
        }
        routes.put(peer, rs);
        rootDoorbells.put(peer.link(), doorbells);
        for (IvshmemDevice target : senders(peer.link())) {
            Route[] trs = routes.get(target);
            for (int v = 0; trs != null && v < trs.length; v++) {
                if (trs[v] != null && trs[v].wired) {
                    bindRootDoorbell(target, v, trs[v], true);
                }
            }
        }
    }

    /** The program detached (its peer unwired every vector before): drop its eventfds. */
    synchronized void forgetRoot(RootIvshmemPeer peer) {
        for (IvshmemDevice target : senders(peer.link())) {
            Route[] trs = routes.get(target);
            for (int v = 0; trs != null && v < trs.length; v++) {
                if (trs[v] != null) {
                    bindRootDoorbell(target, v, trs[v], false);
                }
            }
        }
        rootDoorbells.remove(peer.link());
        Route[] rs = routes.remove(peer);
        for (int v = 0; rs != null && v < rs.length; v++) {
            if (rs[v].wired) {
                for (IvshmemDevice sender : senders(peer.link())) {
                    assign(sender, peer, v, rs[v], false);
                }
                rs[v].wired = false;
            }
        }
    }

    /** A device leaves (after its link detached it, which unwired its routes and doorbell): close its eventfds. */
    synchronized void forget(IvshmemDevice device) {
        Route[] rs = routes.remove(device);
        if (rs != null) {
            for (Route r : rs) {
                if (r != null) {
                    closeQuietly(r.eventFd);
                }
            }
        }
        Cell cell = cellOf.remove(device);
        doorbell.remove(device);
        if (cell != null && !cellOf.containsValue(cell)) {
            nextGsi.remove(cell);
        }
    }

    /** ioeventfds currently wired, over all VMs (for tests and statistics). */
    synchronized int wiredDoorbells() {
        return wiredDoorbells;
    }

    @Override
    public synchronized void update(IvshmemPeer target, int vector, boolean wired, long msiAddress, int msiData) {
        if (target instanceof RootIvshmemPeer root) {
            updateRoot(root, vector, wired);
            return;
        }
        IvshmemDevice device = (IvshmemDevice) target;
        Cell cell = cellOf.get(device);
        if (cell == null) {
            return;
        }
        try {
            Route r = route(device, cell, vector);
            if (wired) {
                r.address = msiAddress;
                r.data = msiData;
                commitRoutes(cell);
                if (!r.wired) {
                    drain(r.eventFd); // a doorbell while unwired is dropped, as upstream drops it
                    cell.vm().irqfd(r.eventFd, r.gsi, 0);
                    r.wired = true;
                    for (IvshmemDevice sender : senders(target.link())) {
                        assign(sender, target, vector, r, true);
                    }
                    bindRootDoorbell(device, vector, r, true);
                }
            } else if (r.wired) {
                bindRootDoorbell(device, vector, r, false);
                for (IvshmemDevice sender : senders(target.link())) {
                    assign(sender, target, vector, r, false);
                }
                cell.vm().irqfd(r.eventFd, r.gsi, KvmVm.IRQFD_DEASSIGN);
                r.wired = false;
            }
        } catch (NativeException e) {
            // The Java path still delivers: the wiring is only an acceleration.
            cell.report("ivshmem " + target.link() + ": in-kernel doorbell for peer " + target.peerId()
                    + " vector " + vector + " not wired: " + e.getMessage() + "\n");
        }
    }

    /**
     * Binds (or unbinds) the root program's doorbell eventfd for
     * {@code (target, vector)} as an irqfd on the route's GSI, handing it
     * from the daemon's watch to the kernel (or back). Without a program on
     * the link, nothing to do.
     */
    private void bindRootDoorbell(IvshmemDevice target, int vector, Route r, boolean on) {
        RootDoorbells rd = rootDoorbells.get(target.link());
        Cell cell = cellOf.get(target);
        int fd = rd == null ? -1 : rd.fd(target.peerId(), vector);
        if (fd < 0 || cell == null || r.rootBound == on) {
            return;
        }
        try {
            if (on) {
                // KVM injects for a count pending at assignment without taking it: take it here and
                // write it back once bound, so that the irqfd, not also the watch, delivers it
                boolean pending = drain(fd);
                cell.vm().irqfd(fd, r.gsi, 0);
                r.rootBound = true;
                if (pending) {
                    signal(fd);
                }
                rd.watch(target.peerId(), vector, false);
            } else {
                cell.vm().irqfd(fd, r.gsi, KvmVm.IRQFD_DEASSIGN);
                r.rootBound = false;
                rd.watch(target.peerId(), vector, true);
            }
        } catch (NativeException e) {
            // The daemon's watch still delivers (it is kept on when binding fails).
            cell.report("ivshmem " + target.link() + ": root doorbell for peer " + target.peerId() + " vector "
                    + vector + (on ? " not wired: " : " not unwired: ") + e.getMessage() + "\n");
        }
    }

    /** Root doorbell eventfds bound as irqfds now, over all links (for tests). */
    synchronized int boundRootDoorbells() {
        int n = 0;
        for (Route[] rs : routes.values()) {
            for (Route r : rs) {
                n += r != null && r.rootBound ? 1 : 0;
            }
        }
        return n;
    }

    /** The root's vector {@code vector} becomes (un)wired: the senders' ioeventfds signal the program's eventfd. */
    private void updateRoot(RootIvshmemPeer root, int vector, boolean wired) {
        Route[] rs = routes.get(root);
        if (rs == null || vector >= rs.length || rs[vector].wired == wired) {
            return;
        }
        Route r = rs[vector];
        r.wired = wired;
        for (IvshmemDevice sender : senders(root.link())) {
            assign(sender, root, vector, r, wired);
        }
    }

    @Override
    public synchronized void doorbellMoved(IvshmemDevice sender, long address) {
        if (!cellOf.containsKey(sender)) {
            return;
        }
        assignAll(sender, false); // at the old address
        if (address < 0) {
            doorbell.remove(sender);
        } else {
            doorbell.put(sender, address);
        }
        assignAll(sender, true); // at the new one
    }

    /** (De)assigns, at the sender's current doorbell address, every wired route of its link. */
    private void assignAll(IvshmemDevice sender, boolean on) {
        for (int id = 0; id < IvshmemLink.MAX_PEERS; id++) {
            IvshmemPeer target = sender.link().peer(id);
            Route[] rs = target == null ? null : routes.get(target);
            for (int v = 0; rs != null && v < rs.length; v++) {
                if (rs[v] != null && rs[v].wired) {
                    assign(sender, target, v, rs[v], on);
                }
            }
        }
    }

    private Route route(IvshmemDevice target, Cell cell, int vector) throws NativeException {
        Route[] rs = routes.computeIfAbsent(target, t -> new Route[Math.max(t.vectors(), 1)]);
        if (rs[vector] == null) {
            int gsi = nextGsi.merge(cell, 1, Integer::sum) - 1 + FIRST_GSI;
            rs[vector] = new Route(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), gsi);
        }
        return rs[vector];
    }

    /** Rewrites the target cell's GSI table: the IOAPIC's defaults plus every wired-or-pending MSI route. */
    private void commitRoutes(Cell cell) throws NativeException {
        List<KvmVm.MsiRoute> msi = new ArrayList<>();
        for (Map.Entry<IvshmemPeer, Route[]> e : routes.entrySet()) {
            if (cellOf.get(e.getKey()) != cell) {
                continue;
            }
            for (Route r : e.getValue()) {
                if (r != null && (r.wired || r.address != 0)) {
                    msi.add(new KvmVm.MsiRoute(r.gsi, r.address, r.data));
                }
            }
        }
        cell.vm().setGsiRouting(msi, true);
    }

    /** (De)assigns the ioeventfd in {@code sender}'s VM that rings (target, vector). */
    private void assign(IvshmemDevice sender, IvshmemPeer target, int vector, Route r, boolean on) {
        Long address = doorbell.get(sender);
        Cell cell = cellOf.get(sender);
        if (address == null || cell == null) {
            return;
        }
        try {
            cell.vm().ioeventfd(address, 4, r.eventFd, KvmVm.IOEVENTFD_DATAMATCH | (on ? 0 : KvmVm.IOEVENTFD_DEASSIGN),
                    (long) target.peerId() << 16 | vector);
            wiredDoorbells += on ? 1 : -1;
        } catch (NativeException e) {
            cell.report("ivshmem " + sender.link() + ": doorbell of peer " + sender.peerId() + " to peer "
                    + target.peerId() + " vector " + vector + (on ? " not wired: " : " not unwired: ")
                    + e.getMessage() + "\n");
        }
    }

    /** The peers of {@code link} that can ring in the kernel: cells' devices with a VM. */
    private List<IvshmemDevice> senders(IvshmemLink link) {
        List<IvshmemDevice> out = new ArrayList<>();
        for (int id = 0; id < IvshmemLink.MAX_PEERS; id++) {
            if (link.peer(id) instanceof IvshmemDevice d && cellOf.containsKey(d)) {
                out.add(d);
            }
        }
        return out;
    }

    /** Takes an eventfd's count; whether there was one (EAGAIN when nothing is pending). */
    private static boolean drain(int eventFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment counter = a.allocate(8);
            return Libc.read(eventFd, counter) == 8;
        }
    }

    private static void signal(int eventFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(8);
            one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1);
            Libc.write(eventFd, one);
        }
    }

    private static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (NativeException ignored) {
            // Nothing to do about a descriptor that will not close.
        }
    }
}
