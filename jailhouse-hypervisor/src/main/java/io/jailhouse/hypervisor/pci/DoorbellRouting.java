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
 * Every (peer, vector) of a link has a doorbell slot: an eventfd the
 * supervisor made when the link formed, which every process on the link
 * holds. A cell process keeps, for its device {@code s}:
 * <ul>
 * <li>while {@code s}'s DOORBELL is decoded at {@code A(s)}: in its VM, for
 *     every slot {@code (t, v)} of the link (present peer or not, itself
 *     included), a {@code KVM_IOEVENTFD} at {@code A(s)}, length 4, with
 *     datamatch {@code (t << 16) | v}, signalling slot {@code (t, v)};
 * <li>for each of {@code s}'s own vectors {@code v}: while wired, a GSI
 *     routing entry of type MSI with {@code (address, data)} and a
 *     {@code KVM_IRQFD} binding slot {@code (s, v)} to it (the kernel
 *     delivers); while not, a thread that reads slot {@code (s, v)} and
 *     hands each doorbell to {@link IvshmemDevice#trigger}, which applies
 *     upstream's rules (drops it, or delivers it in one-shot mode).
 * </ul>
 * A doorbell to a slot whose peer is absent waits in its eventfd and is
 * dropped when a peer takes the slot, as upstream ignores it. Only 4-byte
 * writes with exactly a slot's value match an ioeventfd; any other write
 * exits and the Java path applies upstream's rules to it (a target of 12
 * or more, a vector beyond the sender's count). {@link
 * io.jailhouse.boundary.PciAdmission#validateLink} guarantees equal
 * {@code num_msix_vectors} on all peers, so the slots are exactly the
 * valid (target, vector) pairs.
 *
 * <h2>Threads and timing</h2>
 *
 * Callbacks run synchronously on the thread whose action caused the
 * change: a vCPU thread of the device's cell (its MSI-X, INT_CONTROL,
 * COMMAND, one-shot or BAR writes) or the channel thread (reset, attach,
 * detach; the cell's CPUs are then parked). Several vCPUs may call
 * concurrently; implementations must be thread-safe and must not wait for
 * a vCPU. They may make syscalls and allocate: these events are rare
 * (boot-time programming, and INT_CONTROL in drivers that toggle it). The
 * change is visible to the Java path before the callback returns.
 *
 * <p>A STATE change rings vector 0 of the other peers through their
 * slots, as a doorbell does; in one-shot mode delivery always takes the
 * Java path, through the target's {@link MsiSink}.
 */
public interface DoorbellRouting {
    /**
     * Peer {@code target} can ({@code wired}) or cannot any more receive
     * {@code vector} in the kernel; when wired, as the MSI
     * {@code (msiAddress, msiData)}. When not wired, address and data are 0.
     */
    void update(IvshmemDevice target, int vector, boolean wired, long msiAddress, int msiData);

    /**
     * Peer {@code sender}'s DOORBELL register is now at guest-physical
     * {@code doorbellAddress} in its cell, or not decoded ({@code -1}).
     */
    void doorbellMoved(IvshmemDevice sender, long doorbellAddress);

    /** Wires nothing: every doorbell takes the Java path. */
    DoorbellRouting NONE = new DoorbellRouting() {
        @Override
        public void update(IvshmemDevice target, int vector, boolean wired, long msiAddress, int msiData) {
        }

        @Override
        public void doorbellMoved(IvshmemDevice sender, long doorbellAddress) {
        }
    };
}
