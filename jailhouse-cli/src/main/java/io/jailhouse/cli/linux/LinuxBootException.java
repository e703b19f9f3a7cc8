package io.jailhouse.cli.linux;

/** A kernel, initrd or cell config that cannot boot Linux in a cell, and why. */
public final class LinuxBootException extends Exception {
    private static final long serialVersionUID = 1L;

    public LinuxBootException(String message) {
        super(message);
    }
}
