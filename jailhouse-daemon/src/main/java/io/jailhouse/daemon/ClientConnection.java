package io.jailhouse.daemon;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import io.jailhouse.protocol.ControlChannel;
import io.jailhouse.protocol.ControlMessages;
import io.jailhouse.protocol.ControlProtocol;
import io.jailhouse.protocol.RefusedMessageException;

/**
 * A client's connection as the daemon serves it: a reader thread takes the
 * client's frames as they come, so that the daemon notices the client going
 * away (Ctrl-C closes its socket) while one of its requests still waits for
 * a cell, and the waiting request is withdrawn. Requests are answered in
 * order by the one thread that calls {@link #next} and writes the replies.
 */
final class ClientConnection implements ControlOperations.Connection, AutoCloseable {
    /** What the reader took from the connection: a request, a refused message (too large), or the end (neither). */
    record Incoming(ControlChannel.Frame frame, RefusedMessageException refused) {
        static final Incoming END = new Incoming(null, null);
    }

    private final ControlChannel channel;
    /** A client sends a request and waits for its reply; two ahead is plenty, and a flood waits in the socket. */
    private final BlockingQueue<Incoming> incoming = new ArrayBlockingQueue<>(2);
    private volatile boolean gone;
    private final Thread reader;

    ClientConnection(ControlChannel channel) {
        this.channel = channel;
        // a platform thread: it blocks in recvmsg, which would pin a virtual thread's carrier
        this.reader = Thread.ofPlatform().name("jailhoused-reader").daemon(true).stackSize(256 * 1024)
                .start(this::readFrames);
    }

    /**
     * The handler is done with the connection: the reader ends too, whatever
     * it was waiting for (shutting the socket down wakes its recvmsg), and
     * what it took but nobody answered is closed.
     */
    @Override
    public void close() {
        gone = true;
        channel.shutdown();
        reader.interrupt();
        try {
            reader.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Incoming left; (left = incoming.poll()) != null; ) {
            if (left.frame() != null) {
                left.frame().closeFds();
            }
        }
    }

    private void readFrames() {
        try {
            while (true) {
                Incoming in;
                try {
                    ControlChannel.Frame frame = channel.read();
                    if (frame == null) {
                        break;
                    }
                    in = new Incoming(frame, null);
                } catch (RefusedMessageException e) {
                    in = new Incoming(null, e); // one packet refused; the next one is whole again
                }
                try {
                    incoming.put(in);
                } catch (InterruptedException e) {
                    if (in.frame() != null) {
                        in.frame().closeFds();
                    }
                    throw e;
                }
            }
        } catch (IOException e) {
            // dropped: the end as well
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            gone = true;
            // Never blocks for long: the handler takes what is queued before it looks for the end
            // (and when the handler is gone, close() does not wait for this).
            if (!incoming.offer(Incoming.END)) {
                try {
                    incoming.put(Incoming.END);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The next request, a message to refuse, or {@link Incoming#END}. */
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
