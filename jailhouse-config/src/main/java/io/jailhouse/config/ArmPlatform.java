package io.jailhouse.config;

/** The ARM arm of the platform info: GIC version and register bases. */
public record ArmPlatform(int maintenanceIrq, int gicVersion, int padding, long gicdBase, long giccBase,
        long gichBase, long gicvBase, long gicrBase) implements ArchPlatform {
}
