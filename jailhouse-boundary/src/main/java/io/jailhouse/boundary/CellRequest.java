package io.jailhouse.boundary;

import java.util.List;

/**
 * What the supervisor asks of a cell process, on the cell's channel. Each
 * request gets one {@link CellReply}; descriptors travel beside the message
 * (SCM_RIGHTS), in the order each request lists.
 */
public sealed interface CellRequest {
    /** The request's encoding on the channel (the supervisor also keeps a cell's Create in its run directory). */
    static byte[] encode(CellRequest request) {
        return CellWire.encode(request);
    }

    /**
     * Reads what {@link #encode} wrote.
     *
     * @throws java.io.IOException for bytes that are not a request
     */
    static CellRequest decode(byte[] bytes) throws java.io.IOException {
        return CellWire.decodeRequest(bytes);
    }

    /**
     * Build the cell: its VM, memory slots, devices and parked CPUs. Sent
     * once, first. Descriptors: the cell pages memfd, the reserved-memory
     * file, then each ivshmem device's doorbell slots
     * ({@link IvshmemPlan#slots()} each, by peer id and then vector).
     *
     * @param systemConfig the system config in the binary format
     * @param cellConfig the cell config in the binary format
     * @param hostCpus the host CPU for each CPU of the cell, in the cell's CPU order
     * @param emulations {@code BDF=MODEL} device models chosen at enable
     * @param uid the user the process becomes before the guest runs (and
     *        its group); -1: it stays the user it was started as
     */
    record Create(int cellId, byte[] systemConfig, byte[] cellConfig, int[] hostCpus, List<String> emulations,
            List<IvshmemPlan> ivshmem, int uid) implements CellRequest {
        public Create {
            emulations = List.copyOf(emulations);
            ivshmem = List.copyOf(ivshmem);
        }
    }

    /** One ivshmem device of the cell: PCI device {@code deviceIndex} and its link's slot count. */
    record IvshmemPlan(int deviceIndex, int slots) {
    }

    /**
     * {@code cell load} or, with no images, {@code cell shutdown}: park,
     * reset and make loadable, then copy each image in. Descriptors: one
     * per image, readable, holding at least its length from offset 0.
     */
    record Load(List<Image> images) implements CellRequest {
        public Load {
            images = List.copyOf(images);
        }
    }

    /** An image: {@code length} bytes for guest address {@code address}, named {@code source} in errors. */
    record Image(long address, long length, String source) {
    }

    /** {@code cell start}. */
    record Start() implements CellRequest {
    }

    /** Stop every CPU; with {@code failed}, the cell is FAILED (its reply timed out). */
    record Park(boolean failed) implements CellRequest {
    }

    /** Stop, release the VM and end the process (after the reply). */
    record Destroy() implements CellRequest {
    }

    /**
     * Who are you: a supervisor that starts again adopts the running cell
     * from the answer ({@link CellReply.Identity}).
     */
    record Hello() implements CellRequest {
    }
}
