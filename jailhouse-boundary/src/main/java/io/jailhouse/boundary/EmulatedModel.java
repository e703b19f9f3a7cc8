package io.jailhouse.boundary;

import io.jailhouse.config.PciDevice;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The device models that can stand in for a physical PCI device of a cell config. */
public enum EmulatedModel {
    /** What upstream's pci-demo drives: an HD Audio controller with MSI. */
    INTEL_HDA("intel-hda", PciDevice.EMULATE_INTEL_HDA);

    private final String label;
    /** The value of a config entry's emulation mark (YAML {@code emulation:}) that asks for this model. */
    private final int configMark;

    EmulatedModel(String label, int configMark) {
        this.label = label;
        this.configMark = configMark;
    }

    public String label() {
        return label;
    }

    /** The model named {@code label}, or null. */
    public static EmulatedModel ofLabel(String label) {
        for (EmulatedModel m : values()) {
            if (m.label.equals(label.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        return null;
    }

    /** The model a config entry's own mark asks for, or null. */
    public static EmulatedModel markedIn(PciDevice device) {
        for (EmulatedModel m : values()) {
            if (device.type() == PciDevice.TYPE_DEVICE && device.emulation() == m.configMark) {
                return m;
            }
        }
        return null;
    }

    public static List<String> labels() {
        return Arrays.stream(values()).map(EmulatedModel::label).toList();
    }
}
