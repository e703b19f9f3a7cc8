package io.jailhouse.hypervisor.device;

/**
 * Port 0x80, the POST/diagnostic port that code writes to for short I/O
 * delays ({@code outb} to 0x80). Upstream ignores byte-sized accesses to it
 * in every cell and treats other sizes as invalid (spec 8); reads return 0.
 */
public final class DiagnosticPort implements PioDevice {
    public static final int PORT = 0x80;

    @Override
    public boolean accepts(int port, int size, boolean write) {
        return port == PORT && size == 1;
    }

    @Override
    public int read(int port, int size) {
        return 0;
    }

    @Override
    public void write(int port, int size, int value) {
        // Ignored: the port only exists to take time.
    }
}
