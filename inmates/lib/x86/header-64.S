/*
 * Jailhouse for Java - x86 inmate boot code, 64-bit variant.
 *
 * Every CPU of a cell starts here in real mode (spec 5.1, 5.3):
 *
 *   real mode --lgdt, CR0.PE--> 32-bit protected mode --PAE, CR3, MTRRs on,
 *   EFER.LME, CR0.PG--> long mode --> per-CPU dispatch:
 *     - a CPU brought up by smp_start_cpu() takes ap_entry and its stack;
 *     - otherwise it draws a sequence number, records its APIC ID in
 *       smp_cpu_ids[] and counts itself in smp_num_cpus; the first CPU
 *       clears .bss and runs c_entry(), every other one halts.
 *
 * The same image also has to run the 2016 way (spec 5.6): loaded at
 * 0xf0000 and entered at the real reset vector 0xffff0. For that the image
 * is exactly 64 KiB, its last 16 bytes hold a far jump to reset_stub,
 * which copies the image down to 0 and enters it at 0:0 like a CPU reset
 * to address 0 would.
 *
 * Restarts: "cell start" may run a cell again without loading it again,
 * so nothing here may depend on memory the previous run changed. The boot
 * bookkeeping shared before .bss is cleared therefore lives in the unused
 * tail of the comm page, which the hypervisor zeroes at every start
 * (spec 2): the sequence counter, the "counters reset" flag, and the reset
 * stub's copy lock. (The last 8 bytes of the page are the test device's.)
 */

#include <inmate.h>

#define BOOT_SEQUENCE	(COMM_REGION_BASE + 0xf00)
#define BOOT_READY	(COMM_REGION_BASE + 0xf04)
#define COPY_LOCK	(COMM_REGION_BASE + 0xf08)
#define COPY_DONE	(COMM_REGION_BASE + 0xf0c)
/* The same, from real mode with a segment based at 0xffff0. */
#define COMM_SEGMENT	0xffff
#define COMM_OFFSET(a)	((a) - 0xffff0)

	.code16
	.section ".boot", "ax"

	.globl __reset_entry
__reset_entry:
	cli
	/*
	 * CS-relative: a CPU starts here with CS base 0 (reset address 0,
	 * SIPI vector 0, or the reset stub's far jump). DS is not ours yet.
	 */
	lgdtl %cs:gdt_ptr

	mov %cr0, %eax
	or $X86_CR0_PE, %al
	mov %eax, %cr0

	ljmpl $INMATE_CS32, $start32

	.code32
start32:
	/*
	 * No data segment is loaded: nothing below touches memory until long
	 * mode, where DS/ES/SS limits and bases no longer apply.
	 */
	mov %cr4, %eax
	or $X86_CR4_PAE, %eax
	mov %eax, %cr4

	mov $pml4, %eax
	mov %eax, %cr3

	/* Memory types come from PAT only once MTRRs are enabled. */
	mov $MSR_MTRR_DEF_TYPE, %ecx
	rdmsr
	or $MTRR_ENABLE, %eax
	wrmsr

	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr

	/* Clears CD/NW of the reset value as well. */
	mov $(X86_CR0_PG | X86_CR0_WP | X86_CR0_PE), %eax
	mov %eax, %cr0

	ljmpl $INMATE_CS64, $start64

	.code64
start64:
	/* A CPU woken by smp_start_cpu() atomically takes the entry point. */
	xor %ebx, %ebx
	xchg %rbx, ap_entry
	test %rbx, %rbx
	jz 1f

	mov ap_stack, %rsp
	movq $0, ap_stack		/* tells smp_start_cpu: stack taken */
	call arch_init_features
	call idt_load			/* the first CPU filled it already */
	call *%rbx
	jmp park

1:	mov $1, %eax
	lock xadd %eax, BOOT_SEQUENCE
	cmp $SMP_MAX_CPUS, %eax
	jae park
	mov %eax, %edi

	/*
	 * The first CPU zeroes the CPU count a previous run may have left;
	 * the others count themselves only once it has.
	 */
	test %edi, %edi
	jnz 2f
	movl $0, smp_num_cpus
	movl $1, BOOT_READY
	jmp 3f
2:	pause
	cmpl $0, BOOT_READY
	je 2b

3:	mov $1, %eax
	cpuid
	shr $24, %ebx			/* initial APIC ID */
	mov %bl, smp_cpu_ids(%rdi)
	lock incl smp_num_cpus

	test %edi, %edi
	jnz park

	/* The first CPU: clear .bss, take the boot stack, go to C. */
	cld
	mov $__bss_start, %rdi
	mov $__bss_end, %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb

	mov $stack_top, %rsp
	call arch_init_features
	call c_entry

park:	cli
	hlt
	jmp park


	/*
	 * Seed-contract entry (spec 5.6), reached from the far jump at image
	 * offset 0xfff0 with CS = 0xf000 (base 0xf0000): the image sits at
	 * 0xf0000 and is copied to 0, then entered at 0:0.
	 *
	 * Command line: a string loaded into the image's own buffer
	 * (-a 0xf1000) travels down with the copy. If that buffer is empty
	 * (first byte 0), the buffer range [__cmdline_start, __cmdline_end)
	 * is NOT copied, so a string loaded at 0x1000 (-a 0x1000) survives.
	 * Caveat: with no string loaded anywhere, 0x1000 then keeps whatever
	 * the RAM held before (zero on a fresh cell).
	 *
	 * All cell CPUs start here at once: the first to take the copy lock
	 * copies, the others wait until it is done. Both flags are in the
	 * comm page, zeroed at every start, so a restart copies again.
	 */
	.code16
reset_stub:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds			/* source: the image at 0xf0000 */
	xor %ax, %ax
	mov %ax, %es			/* destination: 0 */
	mov $COMM_SEGMENT, %ax
	mov %ax, %fs			/* the comm page, for the copy lock */

	mov $1, %al
	xchg %al, %fs:COMM_OFFSET(COPY_LOCK)	/* implicitly locked */
	test %al, %al
	jnz 2f

	xor %si, %si
	xor %di, %di
	mov $(CMDLINE_ADDR / 4), %cx
	rep movsl			/* [0, 0x1000): up to the command line */

	cmpb $0, (%si)
	jne 1f
	mov $__cmdline_end, %si		/* empty buffer: keep 0x1000 */
	mov %si, %di

1:	mov %si, %cx
	neg %cx				/* 0x10000 - si */
	shr $2, %cx
	rep movsl			/* rest of the 64 KiB */

	movb $1, %fs:COMM_OFFSET(COPY_DONE)
	ljmp $0, $__reset_entry

2:	pause
	cmpb $0, %fs:COMM_OFFSET(COPY_DONE)
	je 2b
	ljmp $0, $__reset_entry

	.balign 8
gdt:
	.quad 0
	.quad 0x00c09b000000ffff	/* 0x08: 32-bit code */
	.quad 0x00af9b000000ffff	/* 0x10: 64-bit code */
gdt_end:

gdt_ptr:
	.short gdt_end - gdt - 1
	.long gdt


	/* Image offset 0xfff0 (placed by inmate.lds): the reset vector. */
	.section ".reset_vector", "ax"
	.code16
	ljmp $0xf000, $reset_stub


	.data
	/* Shared by all CPUs before .bss is cleared, hence not in .bss. */
	.globl ap_entry, ap_stack, smp_num_cpus, smp_cpu_ids
	.balign 8
ap_entry:
	.quad 0
ap_stack:
	.quad 0
smp_num_cpus:
	.long 0
smp_cpu_ids:
	.fill SMP_MAX_CPUS, 1, 0

	/*
	 * Identity map of the first 2 MiB with one large page. Writable:
	 * map_range() adds entries.
	 */
	.globl pml4
	.balign 4096
pml4:
	.quad pdpt + (PAGE_FLAG_PRESENT | PAGE_FLAG_RW)
	.fill 511, 8, 0
pdpt:
	.quad pd + (PAGE_FLAG_PRESENT | PAGE_FLAG_RW)
	.fill 511, 8, 0
pd:
	.quad 0 + (PAGE_FLAG_PRESENT | PAGE_FLAG_RW | PAGE_FLAG_PS)
	.fill 511, 8, 0
