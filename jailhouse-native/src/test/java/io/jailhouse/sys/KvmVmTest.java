package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Runs real guests on /dev/kvm: memory slots, vCPU state, PIO exits, kicks. Skipped loudly without KVM. */
class KvmVmTest {
    /** A signal no JVM thread uses: SIGRTMIN + 6 on glibc. */
    static final int KICK_SIGNAL = 40;

    @BeforeAll
    static void requireKvm() {
        KvmDevice.unavailableReason().ifPresent(reason -> {
            System.err.println("!!!!! KVM TESTS SKIPPED: " + reason + " !!!!!");
            assumeTrue(false, "KVM TESTS SKIPPED: " + reason);
        });
    }

    /** A real-mode guest at 0 from raw code bytes; CS base 0, IP 0. */
    private static void realModeAt0(KvmVcpu vcpu) throws NativeException {
        vcpu.loadSpecialRegisters();
        vcpu.setSegment(X86Segment.CS, 0, 0, 0xffff, 0x9b);
        for (X86Segment s : new X86Segment[] {X86Segment.DS, X86Segment.ES, X86Segment.FS, X86Segment.GS, X86Segment.SS}) {
            vcpu.setSegment(s, 0, 0, 0xffff, 0x93);
        }
        vcpu.setControlRegisters(0x60000010L, 0, 0, 0);
        vcpu.storeSpecialRegisters();
        vcpu.clearRegisters();
        vcpu.setRegister(X86Register.RFLAGS, 2);
        vcpu.storeRegisters();
    }

    @Test
    void realModeGuestWritesAPortAndHalts() throws Exception {
        byte[] code = {(byte) 0xba, (byte) 0xf8, 0x03, (byte) 0xb0, 0x41, (byte) 0xee, (byte) 0xe4, 0x40, (byte) 0xf4};
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm();
                MemoryMapping ram = MemoryMapping.anonymous(0x10000)) {
            vm.setTssAddress(0xfffbd000L);
            MemorySegment.copy(code, 0, ram.segment(), ValueLayout.JAVA_BYTE, 0, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram.segment());
            try (KvmVcpu vcpu = vm.createVcpu(0)) {
                realModeAt0(vcpu);
                KvmRun run = vcpu.kvmRun();
                assertThat(vcpu.run()).isZero();
                assertThat(run.exitReason()).isEqualTo(KvmRun.EXIT_IO);
                assertThat(run.ioDirection()).isEqualTo(KvmRun.IO_OUT);
                assertThat(run.ioPort()).isEqualTo(0x3f8);
                assertThat(run.ioSize()).isEqualTo(1);
                assertThat(run.ioCount()).isEqualTo(1);
                assertThat(run.ioData()).isEqualTo(0x41);
                assertThat(vcpu.run()).isZero();
                assertThat(run.exitReason()).isEqualTo(KvmRun.EXIT_IO);
                assertThat(run.ioDirection()).isEqualTo(KvmRun.IO_IN);
                assertThat(run.ioPort()).isEqualTo(0x40);
                run.setIoData(0x5a);
                assertThat(vcpu.run()).isZero();
                assertThat(run.exitReason()).isEqualTo(KvmRun.EXIT_HLT);
                vcpu.loadRegisters();
                assertThat(vcpu.register(X86Register.RAX) & 0xffff).isEqualTo(0x5a);
                assertThat(vcpu.register(X86Register.RIP)).isEqualTo(code.length);
            }
        }
    }

    @Test
    void writeToReadOnlySlotExitsAsMmio() throws Exception {
        // mov byte [0x1000], 0x77 ; hlt  -- with 0x1000.. mapped read-only
        byte[] code = {(byte) 0xc6, 0x06, 0x00, 0x10, 0x77, (byte) 0xf4};
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm();
                MemoryMapping ram = MemoryMapping.anonymous(0x1000); MemoryMapping rom = MemoryMapping.anonymous(0x1000)) {
            assumeTrue(kvm.has(KvmCapability.READONLY_MEM), "KVM_CAP_READONLY_MEM missing");
            vm.setTssAddress(0xfffbd000L);
            MemorySegment.copy(code, 0, ram.segment(), ValueLayout.JAVA_BYTE, 0, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram.segment());
            vm.setUserMemoryRegion(1, KvmVm.MEM_READONLY, 0x1000, rom.segment());
            try (KvmVcpu vcpu = vm.createVcpu(0)) {
                realModeAt0(vcpu);
                assertThat(vcpu.run()).isZero();
                KvmRun run = vcpu.kvmRun();
                assertThat(run.exitReason()).isEqualTo(KvmRun.EXIT_MMIO);
                assertThat(run.mmioIsWrite()).isTrue();
                assertThat(run.mmioPhysAddr()).isEqualTo(0x1000);
                assertThat(run.mmioLength()).isEqualTo(1);
                assertThat(run.mmioData()).isEqualTo(0x77);
                assertThat(rom.segment().get(ValueLayout.JAVA_BYTE, 0)).isZero();
            }
        }
    }

    @Test
    void aSignalKicksAVcpuOutOfAnEndlessLoop() throws Exception {
        Libc.installInterruptingSignal(KICK_SIGNAL);
        byte[] code = {(byte) 0xeb, (byte) 0xfe}; // jmp $
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm();
                MemoryMapping ram = MemoryMapping.anonymous(0x1000)) {
            vm.setTssAddress(0xfffbd000L);
            MemorySegment.copy(code, 0, ram.segment(), ValueLayout.JAVA_BYTE, 0, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram.segment());
            try (KvmVcpu vcpu = vm.createVcpu(0)) {
                realModeAt0(vcpu);
                AtomicInteger tid = new AtomicInteger();
                CompletableFuture<Integer> result = new CompletableFuture<>();
                Thread t = Thread.ofPlatform().start(() -> {
                    tid.set(Libc.gettid());
                    int r;
                    do {
                        r = vcpu.run();
                    } while (r == 0 && vcpu.kvmRun().exitReason() != KvmRun.EXIT_INTR);
                    result.complete(r);
                });
                while (tid.get() == 0) {
                    Thread.onSpinWait();
                }
                Thread.sleep(200);
                assertThat(result).isNotDone();
                vcpu.kvmRun().setImmediateExit(true);
                Libc.tgkill(Libc.getpid(), tid.get(), KICK_SIGNAL);
                assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(-Errno.EINTR.value());
                t.join();
            }
        }
    }

    @Test
    void vcpuStateRoundTripsAndTscIsKnown() throws Exception {
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm()) {
            vm.createIrqchip();
            try (KvmVcpu vcpu = vm.createVcpu(3)) {
                assertThat(vcpu.tscKhz()).isPositive();
                vcpu.setCpuid(kvm.supportedCpuid());
                vcpu.setMsr(0x1b, 0xfee00000L | 0xc00);
                assertThat(vcpu.getMsr(0x1b)).isEqualTo(0xfee00c00L);
                byte[] lapic = vcpu.getLapic();
                assertThat(lapic).hasSize(1024);
                vcpu.setLapic(lapic);
                vcpu.setMpState(KvmVcpu.MP_STATE_RUNNABLE);
                assertThat(vcpu.mpState()).isEqualTo(KvmVcpu.MP_STATE_RUNNABLE);
                vcpu.loadSpecialRegisters();
                vcpu.setSegment(X86Segment.CS, 0xf000, 0xf0000, 0xffff, 0x9b);
                vcpu.storeSpecialRegisters();
                vcpu.loadSpecialRegisters();
                assertThat(vcpu.segmentSelector(X86Segment.CS)).isEqualTo(0xf000);
                assertThat(vcpu.segmentBase(X86Segment.CS)).isEqualTo(0xf0000);
                assertThat(vcpu.segmentAccessRights(X86Segment.CS)).isEqualTo(0x9b);
            }
        }
    }

    @Test
    void threadCanBePinned() throws Exception {
        BitSet cpu0 = new BitSet();
        cpu0.set(0);
        Libc.pinCurrentThread(cpu0); // every Linux machine has CPU 0 online
        BitSet all = new BitSet();
        all.set(0, Runtime.getRuntime().availableProcessors());
        Libc.pinCurrentThread(all);
    }
}
