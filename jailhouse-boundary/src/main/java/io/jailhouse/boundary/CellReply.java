package io.jailhouse.boundary;

import java.util.List;

/** A cell process's answer to one {@link CellRequest}. */
public sealed interface CellReply {
    /** The request failed and changed nothing (errno by number, as upstream's driver returns it). */
    record Failed(int errno, String message) implements CellReply {
    }

    /** Done, nothing to tell. */
    record Done() implements CellReply {
    }

    /** The cell is built; its CPUs' thread ids, in the cell's CPU order (for cpusets). */
    record Created(int[] threadIds) implements CellReply {
    }

    /** Loaded; whether the cell became loadable with this request. */
    record Loaded(boolean becameLoadable) implements CellReply {
    }

    /** Started; warnings for the user. */
    record Started(List<String> warnings) implements CellReply {
        public Started {
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * What a supervisor needs to adopt a running cell: the request that
     * built it (without its descriptors) and its CPUs' thread ids.
     * Descriptors: the cell pages memfd, then the doorbell slots as in
     * {@link CellRequest.Create}.
     */
    record Identity(long pid, CellRequest.Create create, int[] threadIds) implements CellReply {
    }
}
