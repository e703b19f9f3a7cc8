package io.jailhouse.boundary;

import io.jailhouse.config.PciDevice;
import io.jailhouse.config.SystemConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which physical PCI devices of the system are served by a device model,
 * chosen at enable ({@code jailhouse enable SYSCONFIG --emulate
 * 00:1b.0=intel-hda}): a {@code DEVICE} entry at such a BDF in any cell config
 * gets the model, so upstream's cell configs, which describe the hardware,
 * need no edit. A config entry's own mark ({@code emulation: intel-hda})
 * does the same for that entry alone.
 */
public record DeviceEmulations(Map<Integer, EmulatedModel> byBdf) {
    public static final DeviceEmulations NONE = new DeviceEmulations(Map.of());
    public static final String OPTION = "--emulate";

    public DeviceEmulations {
        byBdf = Map.copyOf(byBdf);
    }

    /**
     * Reads {@code BDF=MODEL} choices and checks each against the system
     * config: the model must exist and the system config must list a
     * {@code DEVICE} at that BDF.
     *
     * @throws IllegalArgumentException naming the choice and what exists instead
     */
    public static DeviceEmulations parse(List<String> choices, SystemConfig system) {
        Map<Integer, EmulatedModel> byBdf = new TreeMap<>();
        for (String choice : choices) {
            String what = OPTION + " " + choice;
            int eq = choice.indexOf('=');
            if (eq <= 0 || eq == choice.length() - 1) {
                throw new IllegalArgumentException(what + ": expected BDF=MODEL, e.g. 00:1b.0=intel-hda");
            }
            int bdf;
            try {
                bdf = PciDevice.parseBdf(choice.substring(0, eq));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + ": " + e.getMessage());
            }
            EmulatedModel model = EmulatedModel.ofLabel(choice.substring(eq + 1).trim());
            if (model == null) {
                throw new IllegalArgumentException(what + ": unknown model \"" + choice.substring(eq + 1)
                        + "\" (models: " + String.join(", ", EmulatedModel.labels()) + ")");
            }
            PciDevice listed = null;
            List<String> devices = new ArrayList<>();
            for (PciDevice d : system.rootCell().pciDevices()) {
                if (d.type() == PciDevice.TYPE_DEVICE) {
                    devices.add(PciDevice.formatBdf(d.bdf()));
                }
                if (d.bdf() == bdf) {
                    listed = d;
                }
            }
            String sys = "the system config \"" + system.rootCell().name() + "\"";
            if (listed == null) {
                throw new IllegalArgumentException(what + ": " + sys + " lists no PCI device " + PciDevice.formatBdf(bdf)
                        + (devices.isEmpty() ? " (it lists none)" : " (its devices: " + String.join(", ", devices) + ")"));
            }
            if (listed.type() != PciDevice.TYPE_DEVICE) {
                throw new IllegalArgumentException(what + ": " + PciDevice.formatBdf(bdf) + " is " + (listed.isIvshmem()
                        ? "an ivshmem device" : "a PCI bridge") + " in " + sys + "; only devices are emulated"
                        + (devices.isEmpty() ? "" : " (its devices: " + String.join(", ", devices) + ")"));
            }
            if (byBdf.putIfAbsent(bdf, model) != null) {
                throw new IllegalArgumentException(what + ": " + PciDevice.formatBdf(bdf) + " is given twice");
            }
        }
        return new DeviceEmulations(byBdf);
    }

    /** The model that serves this config entry (its own mark first, then the enable-time choice), or null. */
    public EmulatedModel modelFor(PciDevice device) {
        EmulatedModel marked = EmulatedModel.markedIn(device);
        if (marked != null || device.type() != PciDevice.TYPE_DEVICE) {
            return marked;
        }
        return byBdf.get(device.bdf());
    }

    /** The choices as the daemon's command line takes them. */
    public List<String> arguments() {
        List<String> args = new ArrayList<>();
        for (String choice : choices()) {
            args.add(OPTION);
            args.add(choice);
        }
        return args;
    }

    /** Each choice as {@code BDF=MODEL}, which {@link #parse} reads back. */
    public List<String> choices() {
        List<String> out = new ArrayList<>();
        byBdf.forEach((bdf, model) -> out.add(PciDevice.formatBdf(bdf) + "=" + model.label()));
        return out;
    }

    /** {@code 00:1b.0=intel-hda, ...} for messages; empty without choices. */
    public String describe() {
        return String.join(", ", choices());
    }
}
