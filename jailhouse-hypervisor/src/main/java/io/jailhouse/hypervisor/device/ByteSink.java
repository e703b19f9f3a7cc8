package io.jailhouse.hypervisor.device;

/** Receives bytes on a vCPU thread; must never block or allocate. */
@FunctionalInterface
public interface ByteSink {
    void put(byte b);
}
