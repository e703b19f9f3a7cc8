package io.jailhouse.protocol;

import java.util.List;

/**
 * What an events read returns.
 *
 * @param events the events from the reader's position, oldest first
 * @param lost events that were dropped from the daemon's ring before the reader got them
 * @param next the position to read from next time
 */
public record EventBatch(List<CellEvent> events, long lost, long next) {
    public EventBatch {
        events = List.copyOf(events);
    }
}
