package io.jailhouse.hypervisor.pci;

/**
 * How ivshmem doorbells reach the kernel: the KVM side implements this to
 * wire {@code DOORBELL} writes straight to the target's MSI, so that no Java
 * code runs for a doorbell (architecture section 2). Everything the kernel
 * does not handle still works through the Java path ({@link IvshmemDevice}
 * and {@link MsiSink}); the wiring is purely an acceleration and must never
 * deliver what the Java path would not.
 *
 * <h2>The two streams of events</h2>
 *
 * <p><b>Receivers:</b> {@link #update update(target, vector, wired,
 * address, data)} says whether peer {@code target} can now receive
 * {@code vector} with nothing for Java to decide. It is {@code wired} when
 * all of these hold, and the route is then exactly the MSI
 * {@code (address, data)} of the target's MSI-X table entry {@code vector}:
 * <ul>
 * <li>the target is attached to its link (between
 *     {@link IvshmemLink#attach} and {@link IvshmemLink#detach});
 * <li>its INT_CONTROL bit 0 is set and it is <em>not</em> in one-shot mode
 *     (one-shot must clear INT_CONTROL on delivery, which only Java can do);
 * <li>MSI-X is enabled and not function-masked, the vector is below the
 *     target's {@code num_msix_vectors} and its entry is unmasked;
 * <li>COMMAND.MASTER is set.
 * </ul>
 * It fires only on a change of {@code (wired, address, data)}, for every
 * such change (MSI-X entry address/data/mask writes, MSI-X enable and
 * function mask, INT_CONTROL, bus master, one-shot mode, reset, attach and
 * detach). Every vector of a new device starts unwired, without an event.
 *
 * <p><b>Senders:</b> {@link #doorbellMoved doorbellMoved(sender, address)}
 * says where the DOORBELL register of peer {@code sender} now is in its own
 * cell's guest-physical space (BAR0 + 0x0C, while COMMAND.MEM decodes BAR0),
 * or -1 when it is not decoded. Every device starts with no doorbell.
 *
 * <h2>What the KVM side maintains from them</h2>
 *
 * For every link, every attached sender {@code s} with a doorbell address
 * {@code A(s)}, and every wired {@code (t, v)} of the same link (including
 * {@code t == s}: a peer may ring itself):
 * <ul>
 * <li>an eventfd {@code E(t, v)};
 * <li>in the target's VM: a GSI routing entry of type MSI with
 *     {@code (address, data)} and a {@code KVM_IRQFD} binding {@code E(t, v)}
 *     to that GSI (on a route change, update the GSI's routing entry with
 *     {@code KVM_SET_GSI_ROUTING}; the irqfd can stay);
 * <li>in the sender's VM: a {@code KVM_IOEVENTFD} at {@code A(s)}, length 4,
 *     with {@code KVM_IOEVENTFD_FLAG_DATAMATCH} and datamatch
 *     {@code (t << 16) | v}, signalling {@code E(t, v)}.
 * </ul>
 * When {@code (t, v)} becomes unwired, remove its ioeventfds from every
 * sender's VM <em>before returning</em> (so the next such write exits to
 * Java, which then drops it or handles one-shot mode); when a sender's
 * doorbell moves, move its ioeventfds; when it goes (-1), remove them. Only
 * 4-byte writes with exactly that value match an ioeventfd, so any other
 * write (another width, an unwired pair, a target that is absent or
 * {@code >= 12}, a vector beyond the count) exits and the Java path applies
 * upstream's rules to it. {@link IvshmemLink#validate} guarantees equal
 * {@code num_msix_vectors} on all peers, so a datamatch vector below the
 * target's count is also below the sender's (the Java path checks the
 * sender's count).
 *
 * <h2>Threads and timing</h2>
 *
 * Callbacks run synchronously on the thread whose action caused the
 * change: a vCPU thread of the target's cell (its own MSI-X, INT_CONTROL,
 * COMMAND or one-shot writes), a vCPU thread of the sender's cell (its BAR0
 * moving), the register thread of a program attached as the root's peer
 * (its INT_CONTROL writes), or the management thread (reset, attach,
 * detach; the affected cell's CPUs are then parked, other peers' CPUs may
 * run). Different cells'
 * threads may call concurrently, for the same link; implementations must be
 * thread-safe and must not wait for a vCPU of any peer (or for the
 * hypervisor lock, which the management thread may hold). They may make
 * syscalls and allocate; these events are rare (boot-time programming, and
 * INT_CONTROL in drivers that toggle it). The change is visible to the Java
 * path before the callback returns.
 *
 * <p>Delivery through STATE changes (vector 0 to the other peers) and in
 * one-shot mode always takes the Java path, through the target's
 * {@link MsiSink}.
 */
public interface DoorbellRouting {
    /**
     * Peer {@code target} can ({@code wired}) or cannot any more receive
     * {@code vector} in the kernel; when wired, as the MSI
     * {@code (msiAddress, msiData)}. When not wired, address and data are 0.
     */
    void update(IvshmemPeer target, int vector, boolean wired, long msiAddress, int msiData);

    /**
     * Peer {@code sender}'s DOORBELL register is now at guest-physical
     * {@code doorbellAddress} in its cell, or not decoded ({@code -1}).
     */
    void doorbellMoved(IvshmemDevice sender, long doorbellAddress);

    /** Wires nothing: every doorbell takes the Java path. */
    DoorbellRouting NONE = new DoorbellRouting() {
        @Override
        public void update(IvshmemPeer target, int vector, boolean wired, long msiAddress, int msiData) {
        }

        @Override
        public void doorbellMoved(IvshmemDevice sender, long doorbellAddress) {
        }
    };
}
