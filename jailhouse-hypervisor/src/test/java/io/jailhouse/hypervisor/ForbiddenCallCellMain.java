package io.jailhouse.hypervisor;

import io.jailhouse.sys.Libc;
import io.jailhouse.sys.NativeException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A cell process ({@link CellMain}) with one more thread: once the file the
 * system property {@code jailhouse.test.trigger} names exists, it makes a
 * call the cell's seccomp filter forbids ({@code kill(self, 0)}, harmless
 * without the filter). For the test that a forbidden call ends the process.
 */
public final class ForbiddenCallCellMain {
    private ForbiddenCallCellMain() {
    }

    public static void main(String[] args) {
        Path trigger = Path.of(System.getProperty("jailhouse.test.trigger"));
        Thread t = new Thread(() -> {
            try {
                while (!Files.exists(trigger)) {
                    Thread.sleep(20); // a test fixture waiting for its test's signal
                }
                Libc.kill(Libc.getpid(), 0);
                System.out.println("forbidden call returned: the process is not confined");
            } catch (InterruptedException | NativeException e) {
                System.out.println("forbidden call: " + e);
            }
        }, "forbidden-call");
        t.setDaemon(true);
        t.start();
        CellMain.main(args);
    }
}
