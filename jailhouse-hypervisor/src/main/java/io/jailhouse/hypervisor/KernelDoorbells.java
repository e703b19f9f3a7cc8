package io.jailhouse.hypervisor;

import io.jailhouse.boundary.MessageBudget;
import io.jailhouse.hypervisor.pci.DoorbellRouting;
import io.jailhouse.hypervisor.pci.IvshmemDevice;
import io.jailhouse.sys.KvmVm;
import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * ivshmem doorbells in the kernel for one cell's VM (the contract of
 * {@link DoorbellRouting}): for each of its devices, ioeventfds on the
 * device's DOORBELL register into every doorbell slot of the link (so a
 * matching write never leaves the kernel, whichever process the target
 * lives in), and for each of its vectors either an irqfd binding its own
 * slot to a GSI routed as that vector's MSI (wired) or the
 * {@link DoorbellWatch} reading that slot (not wired).
 *
 * <p>Called on this cell's vCPU threads and on its channel thread; one
 * monitor serializes the wiring (rare: drivers program MSI-X and
 * INT_CONTROL at start-up), never the doorbells themselves.
 *
 * <p>A guest can re-program as fast as it can exit (an MSI-X mask bit or
 * INT_CONTROL toggled in a loop). Wiring a vector costs ioctls, so it has a
 * budget per cell: {@value #REWIRE_BURST} at once, then
 * {@value #REWIRES_PER_SECOND} a second. Beyond it a vector that becomes
 * deliverable stays with the watch (the Java path, which applies the same
 * rules) until it is next programmed within the budget: delivery stays
 * right, only the shortcut waits. What the wiring reports (failures, such as
 * two devices decoding their doorbell at one address) is budgeted too.
 */
final class KernelDoorbells implements DoorbellRouting {
    /** GSIs for MSI routes start above the IOAPIC's pins, whose default routes are kept. */
    static final int FIRST_GSI = KvmVm.IOAPIC_PINS;
    static final int REWIRE_BURST = 64;
    static final int REWIRES_PER_SECOND = 16;
    static final int LINE_BURST = 10;
    static final int LINES_PER_SECOND = 1;

    /** One of this cell's vectors: its GSI and what the route says now. */
    private static final class Route {
        final int gsi;
        boolean wired;
        long address;
        int data;
        /** Whether the console was told that this vector waits for the wiring budget. */
        boolean deferralTold;

        Route(int gsi) {
            this.gsi = gsi;
        }
    }

    private final KvmVm vm;
    private final DoorbellWatch watch;
    private final Consumer<String> report;
    private final Map<IvshmemDevice, DoorbellSlots> slots = new HashMap<>();
    private final Map<IvshmemDevice, Route[]> routes = new HashMap<>();
    private final Map<IvshmemDevice, Long> doorbell = new HashMap<>();
    private int nextGsi = FIRST_GSI;
    private final MessageBudget rewires =
            new MessageBudget(REWIRE_BURST, REWIRES_PER_SECOND);
    private final MessageBudget lines =
            new MessageBudget(LINE_BURST, LINES_PER_SECOND);

    /** @param report where failures to wire go (the hypervisor console): the Java path still delivers */
    KernelDoorbells(KvmVm vm, DoorbellWatch watch, Consumer<String> report) {
        this.vm = vm;
        this.watch = watch;
        this.report = report;
    }

    /**
     * A device of this cell and its link's slots (before it is attached):
     * each of its vectors starts unwired, watched.
     */
    synchronized void register(IvshmemDevice device, DoorbellSlots linkSlots) {
        slots.put(device, linkSlots);
        Route[] rs = new Route[linkSlots.vectors()];
        for (int v = 0; v < rs.length; v++) {
            rs[v] = new Route(nextGsi++);
            watch.watch(linkSlots.fd(device.peerId(), v), device, v);
        }
        routes.put(device, rs);
    }

    /** The device leaves (its link detached it, which unwired its vectors and doorbell). */
    synchronized void forget(IvshmemDevice device) {
        DoorbellSlots s = slots.remove(device);
        Route[] rs = routes.remove(device);
        for (int v = 0; s != null && rs != null && v < rs.length; v++) {
            if (rs[v].wired) {
                unbind(device, s, v, rs[v]);
            }
            watch.unwatch(s.fd(device.peerId(), v));
        }
        Long at = doorbell.remove(device);
        if (s != null && at != null) {
            assignAll(device, s, at, false);
        }
    }

    @Override
    public synchronized void update(IvshmemDevice target, int vector, boolean wired, long msiAddress, int msiData) {
        DoorbellSlots s = slots.get(target);
        Route[] rs = routes.get(target);
        if (s == null || rs == null || vector >= rs.length) {
            return;
        }
        Route r = rs[vector];
        int fd = s.fd(target.peerId(), vector);
        try {
            if (wired) {
                if (r.wired && r.address == msiAddress && r.data == msiData) {
                    return; // the route the kernel has already
                }
                r.address = msiAddress;
                r.data = msiData;
                if (!rewires.tryTake(1, System.nanoTime())) {
                    if (r.wired) {
                        unbind(target, s, vector, r); // a stale route must not deliver; the watch takes over
                    }
                    if (!r.deferralTold) {
                        r.deferralTold = true;
                        say(target + ": vector " + vector + " re-programmed more than "
                                + REWIRES_PER_SECOND + " times a second; its doorbells take the hypervisor's path"
                                + " until it is next programmed");
                    }
                    return;
                }
                r.deferralTold = false;
                commitRoutes();
                if (!r.wired) {
                    watch.unwatch(fd);
                    if (drain(fd)) {
                        target.trigger(vector); // came while the watch let go: the rules of this moment deliver it
                    }
                    vm.irqfd(fd, r.gsi, 0);
                    r.wired = true;
                }
            } else if (r.wired) {
                unbind(target, s, vector, r);
            }
        } catch (NativeException e) {
            // The watch delivers through the Java path: the wiring is only an acceleration.
            watch.watch(fd, target, vector);
            say(target + ": in-kernel doorbell for vector " + vector + " not wired: " + e.getMessage());
        }
    }

    private void unbind(IvshmemDevice target, DoorbellSlots s, int vector, Route r) {
        int fd = s.fd(target.peerId(), vector);
        try {
            vm.irqfd(fd, r.gsi, KvmVm.IRQFD_DEASSIGN);
        } catch (NativeException e) {
            say(target + ": in-kernel doorbell for vector " + vector + " not unwired: " + e.getMessage());
        }
        r.wired = false;
        watch.watch(fd, target, vector);
    }

    @Override
    public synchronized void doorbellMoved(IvshmemDevice sender, long address) {
        DoorbellSlots s = slots.get(sender);
        if (s == null) {
            return;
        }
        Long old = address < 0 ? doorbell.remove(sender) : doorbell.put(sender, address);
        if (old != null) {
            assignAll(sender, s, old, false);
        }
        if (address >= 0) {
            assignAll(sender, s, address, true);
        }
    }

    /** (De)assigns, at {@code address}, the ioeventfd of every slot of the sender's link. */
    private void assignAll(IvshmemDevice sender, DoorbellSlots s, long address, boolean on) {
        for (int t = 0; t < s.peers(); t++) {
            for (int v = 0; v < s.vectors(); v++) {
                try {
                    vm.ioeventfd(address, 4, s.fd(t, v), KvmVm.IOEVENTFD_DATAMATCH | (on ? 0 : KvmVm.IOEVENTFD_DEASSIGN),
                            (long) t << 16 | v);
                } catch (NativeException e) {
                    say(sender + ": doorbell to peer " + t + " vector " + v
                            + (on ? " not wired: " : " not unwired: ") + e.getMessage());
                }
            }
        }
    }

    /** A line for the hypervisor console, within the line budget; the next line says how many were left out. */
    private void say(String line) {
        if (lines.tryTake(1, System.nanoTime())) {
            long left = lines.takeDropped();
            report.accept(line + (left > 0 ? " (" + left + " more wiring messages not reported)" : "") + "\n");
        }
    }

    /** Rewrites the VM's GSI table: the IOAPIC's defaults plus every wired-or-pending MSI route. */
    private void commitRoutes() throws NativeException {
        List<KvmVm.MsiRoute> msi = new ArrayList<>();
        for (Route[] rs : routes.values()) {
            for (Route r : rs) {
                if (r.wired || r.address != 0) {
                    msi.add(new KvmVm.MsiRoute(r.gsi, r.address, r.data));
                }
            }
        }
        vm.setGsiRouting(msi, true);
    }

    /** Takes an eventfd's count; whether there was one (EAGAIN when nothing is pending). */
    private static boolean drain(int eventFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment counter = a.allocate(ValueLayout.JAVA_LONG);
            return Libc.read(eventFd, counter) == 8;
        }
    }
}
