package io.jailhouse.sys;

/** The general registers of {@code struct kvm_regs}, in its order (offset = ordinal × 8). */
public enum X86Register {
    RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS;

    public long offset() {
        return ordinal() * 8L;
    }
}
