package io.jailhouse.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A seccomp filter program (classic BPF over {@code struct seccomp_data}) for
 * x86-64: system calls on an allowlist pass, a few pass only with certain
 * arguments, some fail with an errno, and everything else kills the process
 * ({@code SECCOMP_RET_KILL_PROCESS}). Another architecture or the x32 ABI is
 * killed too. Built here, installed by {@link Confinement#install}.
 */
public final class SeccompFilter {
    static final int AUDIT_ARCH_X86_64 = 0xc000003e;
    static final int X32_SYSCALL_BIT = 0x40000000;
    public static final int RET_KILL_PROCESS = 0x80000000;
    public static final int RET_ERRNO = 0x00050000;
    public static final int RET_ALLOW = 0x7fff0000;
    // BPF opcodes
    private static final short LD_W_ABS = 0x20;
    private static final short JEQ_K = 0x15;
    private static final short JGE_K = 0x35;
    private static final short AND_K = 0x54;
    private static final short RET_K = 0x06;
    /** seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (the low half first, little-endian). */
    private static final int NR = 0;
    private static final int ARCH = 4;

    /**
     * A call allowed when its argument {@code arg} (low 32 bits), masked, is
     * one of {@code values}; otherwise the filter returns {@code otherwise}
     * ({@link #RET_KILL_PROCESS}, or {@link #errno} for a refusal the caller
     * copes with).
     */
    public record ArgumentRule(int syscall, int arg, int mask, Set<Integer> values, int otherwise) {
        public ArgumentRule {
            values = Set.copyOf(values);
            if (arg < 0 || arg > 5 || values.isEmpty() || values.size() > 200) {
                throw new IllegalArgumentException("argument rule for syscall " + syscall);
            }
        }
    }

    /** The filter's answer that fails a call with {@code errno} instead of running it. */
    public static int errno(Errno errno) {
        return RET_ERRNO | (errno.value() & 0xffff);
    }

    private final Set<Integer> allowed;
    private final List<ArgumentRule> rules;
    /** Calls that fail with an errno instead of killing: syscall number to the filter's answer. */
    private final Map<Integer, Integer> refused;

    private SeccompFilter(Set<Integer> allowed, List<ArgumentRule> rules, Map<Integer, Integer> refused) {
        this.allowed = allowed;
        this.rules = rules;
        this.refused = refused;
    }

    /**
     * @param allowed syscall numbers that pass
     * @param rules calls that pass only with the given arguments (checked before {@code allowed})
     * @param refused syscall numbers that fail with the given errno
     */
    public static SeccompFilter of(Set<Integer> allowed, List<ArgumentRule> rules, Map<Integer, Errno> refused) {
        Map<Integer, Integer> answers = new TreeMap<>();
        refused.forEach((nr, e) -> answers.put(nr, errno(e)));
        return new SeccompFilter(new TreeSet<>(allowed), List.copyOf(rules), answers);
    }

    /** The program: 8 bytes per instruction (u16 code, u8 jt, u8 jf, u32 k). */
    public byte[] program() {
        List<long[]> insns = new ArrayList<>();
        insns.add(insn(LD_W_ABS, 0, 0, ARCH));
        insns.add(insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64));
        insns.add(insn(RET_K, 0, 0, RET_KILL_PROCESS));
        insns.add(insn(LD_W_ABS, 0, 0, NR));
        insns.add(insn(JGE_K, 0, 1, X32_SYSCALL_BIT));
        insns.add(insn(RET_K, 0, 0, RET_KILL_PROCESS));
        for (ArgumentRule r : rules) {
            // [JEQ nr][LD arg][AND mask][JEQ v1 .. vn -> allow][RET otherwise][RET ALLOW]; every path
            // into the block returns, so the accumulator still holds the number for the next test
            int n = r.values().size();
            int block = 2 + n + 2;
            insns.add(insn(JEQ_K, 0, block, r.syscall()));
            insns.add(insn(LD_W_ABS, 0, 0, 16 + 8 * r.arg()));
            insns.add(insn(AND_K, 0, 0, r.mask()));
            int i = 0;
            for (int v : r.values()) {
                insns.add(insn(JEQ_K, n - i, 0, v)); // to RET ALLOW: past the remaining JEQs and RET otherwise
                i++;
            }
            insns.add(insn(RET_K, 0, 0, r.otherwise()));
            insns.add(insn(RET_K, 0, 0, RET_ALLOW));
        }
        refused.forEach((nr, answer) -> {
            insns.add(insn(JEQ_K, 0, 1, nr));
            insns.add(insn(RET_K, 0, 0, answer));
        });
        for (int nr : allowed) {
            insns.add(insn(JEQ_K, 0, 1, nr));
            insns.add(insn(RET_K, 0, 0, RET_ALLOW));
        }
        insns.add(insn(RET_K, 0, 0, RET_KILL_PROCESS));
        if (insns.size() > 4096) {
            throw new IllegalStateException("a filter of " + insns.size() + " instructions (BPF allows 4096)");
        }
        byte[] out = new byte[insns.size() * 8];
        MemorySegment s = MemorySegment.ofArray(out);
        for (int k = 0; k < insns.size(); k++) {
            long[] in = insns.get(k);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 8L * k, (short) in[0]);
            s.set(ValueLayout.JAVA_BYTE, 8L * k + 2, (byte) in[1]);
            s.set(ValueLayout.JAVA_BYTE, 8L * k + 3, (byte) in[2]);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 8L * k + 4, (int) in[3]);
        }
        return out;
    }

    private static long[] insn(short code, int jt, int jf, int k) {
        if (jt > 255 || jf > 255) {
            throw new IllegalStateException("a BPF jump of more than 255 instructions");
        }
        return new long[] {code, jt, jf, k};
    }

    /** What the filter says of a call (for tests: the same decision the kernel makes from the program). */
    public int verdict(int arch, int nr, long... args) {
        byte[] p = program();
        MemorySegment s = MemorySegment.ofArray(p);
        int acc = 0;
        int pc = 0;
        while (true) {
            short code = s.get(ValueLayout.JAVA_SHORT_UNALIGNED, 8L * pc);
            int jt = s.get(ValueLayout.JAVA_BYTE, 8L * pc + 2) & 0xff;
            int jf = s.get(ValueLayout.JAVA_BYTE, 8L * pc + 3) & 0xff;
            int k = s.get(ValueLayout.JAVA_INT_UNALIGNED, 8L * pc + 4);
            switch (code) {
                case LD_W_ABS -> acc = k == ARCH ? arch : k == NR ? nr : (int) args[(k - 16) / 8];
                case AND_K -> acc &= k;
                case JEQ_K -> pc += acc == k ? jt : jf;
                case JGE_K -> pc += Integer.compareUnsigned(acc, k) >= 0 ? jt : jf;
                case RET_K -> {
                    return k;
                }
                default -> throw new IllegalStateException("opcode " + code);
            }
            pc++;
        }
    }
}
