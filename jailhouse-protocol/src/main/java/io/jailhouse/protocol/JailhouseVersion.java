package io.jailhouse.protocol;

/** The Jailhouse release this project follows, as the tool and the hypervisor name it. */
public final class JailhouseVersion {
    public static final String RELEASE = "0.12";

    private JailhouseVersion() {
    }
}
