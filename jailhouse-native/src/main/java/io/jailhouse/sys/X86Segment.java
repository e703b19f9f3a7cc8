package io.jailhouse.sys;

/** The segment registers of {@code struct kvm_sregs}, in its order (24 bytes each). */
public enum X86Segment {
    CS, DS, ES, FS, GS, SS, TR, LDT;

    public long offset() {
        return ordinal() * KvmStructs.SEGMENT.byteSize();
    }
}
