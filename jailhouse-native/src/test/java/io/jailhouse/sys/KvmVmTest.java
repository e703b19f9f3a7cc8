package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Runs real guests on /dev/kvm: memory slots, vCPU state, PIO exits, kicks. Skipped loudly without KVM. */
@RequiresKvm
class KvmVmTest {
    /** A signal no JVM thread uses: SIGRTMIN + 6 on glibc. */
    static final int KICK_SIGNAL = 40;

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
    void syncRegistersMirrorTheGuestRegistersWithoutAnIoctl() throws Exception {
        // mov ax,0x1234; out 0x80,al; mov bx,ax; hlt
        byte[] code = {(byte) 0xb8, 0x34, 0x12, (byte) 0xe6, (byte) 0x80, (byte) 0x89, (byte) 0xc3, (byte) 0xf4};
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm();
                MemoryMapping ram = MemoryMapping.anonymous(0x1000)) {
            assumeTrue(kvm.has(KvmCapability.SYNC_REGS), "KVM_CAP_SYNC_REGS missing");
            vm.setTssAddress(0xfffbd000L);
            MemorySegment.copy(code, 0, ram.segment(), ValueLayout.JAVA_BYTE, 0, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram.segment());
            try (KvmVcpu vcpu = vm.createVcpu(0)) {
                realModeAt0(vcpu);
                KvmRun run = vcpu.kvmRun();
                run.syncRegisters(true);
                assertThat(vcpu.run()).isZero();
                assertThat(run.exitReason()).isEqualTo(KvmRun.EXIT_IO);
                assertThat(run.syncedRegister(X86Register.RAX) & 0xffff).isEqualTo(0x1234);
                run.setSyncedRegister(X86Register.RAX, 0x4321);
                assertThat(vcpu.run()).isZero();
                assertThat(run.exitReason()).isEqualTo(KvmRun.EXIT_HLT);
                assertThat(run.syncedRegister(X86Register.RBX) & 0xffff).isEqualTo(0x4321);
            }
        }
    }

    @Test
    void ioeventfdTakesAGuestWriteWithoutAnExit() throws Exception {
        // mov dx,0x500; mov al,7; out dx,al; hlt
        byte[] code = {(byte) 0xba, 0x00, 0x05, (byte) 0xb0, 0x07, (byte) 0xee, (byte) 0xf4};
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm();
                MemoryMapping ram = MemoryMapping.anonymous(0x1000);
                java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            vm.setTssAddress(0xfffbd000L);
            MemorySegment.copy(code, 0, ram.segment(), ValueLayout.JAVA_BYTE, 0, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram.segment());
            int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            try {
                vm.ioeventfd(0x500, 1, efd, KvmVm.IOEVENTFD_PIO | KvmVm.IOEVENTFD_DATAMATCH, 7);
                try (KvmVcpu vcpu = vm.createVcpu(0)) {
                    realModeAt0(vcpu);
                    assertThat(vcpu.run()).isZero();
                    assertThat(vcpu.kvmRun().exitReason()).isEqualTo(KvmRun.EXIT_HLT);
                }
                MemorySegment counter = arena.allocate(8);
                assertThat(Libc.read(efd, counter)).isEqualTo(8);
                assertThat(counter.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1);
                assertThat(Libc.read(efd, counter)).isEqualTo(-Errno.EAGAIN.value());
                vm.ioeventfd(0x500, 1, efd, KvmVm.IOEVENTFD_PIO | KvmVm.IOEVENTFD_DATAMATCH
                        | KvmVm.IOEVENTFD_DEASSIGN, 7);
            } finally {
                Libc.close(efd);
            }
        }
    }

    @Test
    void msiRoutesIrqfdsAndDirectMsisAreAccepted() throws Exception {
        try (KvmDevice kvm = KvmDevice.open(); KvmVm vm = kvm.createVm();
                java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            vm.createIrqchip();
            try (KvmVcpu vcpu = vm.createVcpu(0)) {
                vm.setGsiRouting(java.util.List.of(new KvmVm.MsiRoute(32, 0xfee00000L, 0x41)));
                int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
                try {
                    vm.irqfd(efd, 32, 0);
                    MemorySegment one = arena.allocate(8);
                    one.set(ValueLayout.JAVA_LONG, 0, 1);
                    assertThat(Libc.write(efd, one)).isEqualTo(8);
                    vm.irqfd(efd, 32, KvmVm.IRQFD_DEASSIGN);
                } finally {
                    Libc.close(efd);
                }
                assertThat(vm.signalMsi(0xfee00000L, 0x42)).isGreaterThanOrEqualTo(0);
            }
        }
    }

    @Test
    void irqLinesOfTheInKernelIoapicTakeLevelsAndRefuseWithoutAnIrqchip() throws Exception {
        try (KvmDevice kvm = KvmDevice.open(); KvmVm bare = kvm.createVm(); KvmVm vm = kvm.createVm()) {
            assertThatThrownBy(() -> bare.irqLine(9, true)).isInstanceOf(NativeException.class)
                    .hasMessageContaining("KVM_IRQ_LINE");
            vm.createIrqchip();
            vm.irqLine(9, true);
            vm.irqLine(9, false);
            assertThat(vm.irqLineQuietly(9, true)).isZero();
            assertThat(vm.irqLineQuietly(9, false)).isZero();
        }
    }

    @Test
    void memfdBacksASharedMapping() throws Exception {
        int fd = Libc.memfdCreate("test", Libc.MFD_CLOEXEC);
        try {
            Libc.ftruncate(fd, 0x2000);
            try (MemoryMapping a = MemoryMapping.ofFile(fd, 0, 0x2000); MemoryMapping b = MemoryMapping.ofFile(fd, 0x1000, 0x1000)) {
                a.segment().set(ValueLayout.JAVA_INT, 0x1000, 0xcafe);
                assertThat(b.segment().get(ValueLayout.JAVA_INT, 0)).isEqualTo(0xcafe);
                Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, 0x1000, 0x1000);
                assertThat(b.segment().get(ValueLayout.JAVA_INT, 0)).isZero();
            }
        } finally {
            Libc.close(fd);
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
