package io.jailhouse.daemon;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.JsonCodec;
import java.io.IOException;

/**
 * A client's connection as the daemon serves it. Between requests it costs
 * a descriptor and this object: the {@link ConnectionPoller} watches every
 * idle connection from one thread and reads a request when one comes. While
 * a request is answered (on a thread of its own) the poller reads nothing
 * more from the connection, so requests are answered in order, but it still
 * sees the client go away (Ctrl-C closes its socket): {@link #gone} then
 * withdraws a request that waits for a cell.
 */
final class ClientConnection implements ControlOperations.Connection {
    final ControlChannel channel;
    final ControlOperations.Session session;
    /** A request is being answered: the poller reads no more until it is. */
    volatile boolean busy;
    private volatile boolean gone;

    ClientConnection(ControlChannel channel, ControlOperations.Session session) {
        this.channel = channel;
        this.session = session;
    }

    /** The client hung up. */
    void markGone() {
        gone = true;
    }

    @Override
    public boolean gone() {
        return gone;
    }

    /** Written by the thread that answers the request, ahead of its reply. */
    @Override
    public void progress(String line) {
        if (gone) {
            return;
        }
        ObjectNode frame = ControlMessages.object().put("progress", line);
        try {
            channel.write(JsonCodec.write(frame));
        } catch (IOException e) {
            // The client went away: the poller sees it and the request is withdrawn.
        }
    }
}
