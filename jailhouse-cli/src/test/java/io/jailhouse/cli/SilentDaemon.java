package io.jailhouse.cli;

/** A daemon that starts and never answers, for the CLI's start timeout. */
public final class SilentDaemon {
    private SilentDaemon() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.out.println("silent daemon up");
        Thread.sleep(120_000);
    }
}
