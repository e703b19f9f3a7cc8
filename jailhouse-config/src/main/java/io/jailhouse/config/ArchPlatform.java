package io.jailhouse.config;

/** The architecture-specific arm of the platform info union (44 bytes at system offset 312). */
public sealed interface ArchPlatform permits X86Platform, ArmPlatform {
    int BYTES = 44;
}
