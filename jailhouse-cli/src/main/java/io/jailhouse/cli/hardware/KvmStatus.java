package io.jailhouse.cli.hardware;

import io.jailhouse.config.host.HostRoot;
import io.jailhouse.sys.Errno;
import io.jailhouse.sys.KvmCapability;
import io.jailhouse.sys.KvmDevice;
import io.jailhouse.sys.NativeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * What {@code /dev/kvm} said when asked: whether it is there and opens, its
 * API version and the value of each capability the hypervisor uses.
 *
 * @param openError why it did not open or answer, or null
 * @param accessDenied the open failed for lack of permission (not a missing feature)
 * @param capabilities {@code KVM_CHECK_EXTENSION} results; empty unless the device answered
 */
public record KvmStatus(Path device, boolean present, String openError, boolean accessDenied, int apiVersion,
        Map<KvmCapability, Integer> capabilities) {

    public KvmStatus {
        capabilities = Map.copyOf(capabilities);
    }

    public boolean usable() {
        return present && openError == null && apiVersion == KvmDevice.API_VERSION;
    }

    /** Opens the host's KVM device and asks it. */
    public static KvmStatus probe(HostRoot root) {
        Path device = root.resolve(KvmDevice.DEFAULT_PATH.toString());
        if (!Files.exists(device)) {
            return new KvmStatus(device, false, null, false, 0, Map.of());
        }
        try (KvmDevice kvm = KvmDevice.open(device)) {
            int version = kvm.apiVersion();
            Map<KvmCapability, Integer> caps = new EnumMap<>(KvmCapability.class);
            if (version == KvmDevice.API_VERSION) {
                for (KvmCapability c : KvmCapability.values()) {
                    caps.put(c, kvm.checkExtension(c));
                }
            }
            return new KvmStatus(device, true, null, false, version, caps);
        } catch (NativeException e) {
            boolean denied = e.is(Errno.EACCES) || e.is(Errno.EPERM);
            return new KvmStatus(device, true, e.getMessage(), denied, 0, Map.of());
        }
    }
}
