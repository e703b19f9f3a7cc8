package io.jailhouse.daemon;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.MessageTooLargeException;

/**
 * A client's connection as the daemon serves it: a reader thread takes the
 * client's frames as they come, so that the daemon notices the client going
 * away (Ctrl-C closes its socket) while one of its requests still waits for
 * a cell, and the waiting request is withdrawn. Requests are answered in
 * order by the one thread that calls {@link #next} and writes the replies.
 */
final class ClientConnection implements ControlOperations.Connection, AutoCloseable {
    /** What the reader took from the connection: a request, or the end (with why, if the client overstepped). */
    record Incoming(byte[] frame, MessageTooLargeException tooLarge) {
        static final Incoming END = new Incoming(null, null);
    }

    private final ControlChannel channel;
    /** A client sends a request and waits for its reply; two ahead is plenty, and a flood waits in the socket. */
    private final BlockingQueue<Incoming> incoming = new ArrayBlockingQueue<>(2);
    private volatile boolean gone;
    private final Thread reader;

    ClientConnection(ControlChannel channel) {
        this.channel = channel;
        this.reader = Thread.ofVirtual().name("jailhoused-reader").start(this::readFrames);
    }

    /** The handler is done with the connection: the reader ends too, whatever it was waiting for. */
    @Override
    public void close() {
        gone = true;
        reader.interrupt();
    }

    private void readFrames() {
        Incoming end = Incoming.END;
        try {
            while (true) {
                byte[] frame = channel.read();
                if (frame == null) {
                    break;
                }
                incoming.put(new Incoming(frame, null));
            }
        } catch (MessageTooLargeException e) {
            end = new Incoming(null, e);
        } catch (IOException e) {
            // closed mid-message or dropped: the end as well
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            gone = true;
            // Never blocks for long: the handler takes what is queued before it looks for the end.
            try {
                incoming.put(end);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The next request, or {@link Incoming#END} (with a refusal to send if the client overstepped). */
    Incoming next() throws InterruptedException {
        return incoming.take();
    }

    @Override
    public boolean gone() {
        return gone;
    }

    /** Written by the thread that handles the request, ahead of its reply. */
    @Override
    public void progress(String line) {
        if (gone) {
            return;
        }
        ObjectNode frame = ControlMessages.object().put("progress", line);
        try {
            channel.write(ControlProtocol.JSON.writeValueAsBytes(frame));
        } catch (IOException e) {
            // The client went away: its request is withdrawn when the reader sees the end.
        }
    }
}
