/*
 * Jailhouse for Java - a stand-in for a Linux bzImage, to test linux-loader
 * under bench/floor/kvm-floor (LinuxLoaderFloorKvmTest): a setup header
 * (boot protocol 2.15, a 64-bit entry, pref_address 0x20000 in the floor's
 * 1 MiB of RAM), and at pref_address + 0x200 code that reports what the
 * loader handed over: RSI (the zero page) and the SETUP_JAILHOUSE fields the
 * loader fills from the comm region and the CPUs. Then it halts.
 *
 * Assembled into a flat file (no relocations: all references are
 * RIP-relative); file offsets are what .org gives.
 */

#define UART		0x3f8
#define UART_LSR	(UART + 5)
#define LSR_THRE	0x20

	.section .text
	.code16
	.org 0x1f1
	.byte 1				/* setup_sects: the kernel starts at 0x400 */
	.org 0x1fe
	.word 0xaa55			/* boot_flag */
	.byte 0xeb, 0x6a		/* jump: the header ends at 0x26c */
	.ascii "HdrS"			/* 0x202 */
	.word 0x020f			/* 0x206 version */
	.org 0x211
	.byte 0x01			/* loadflags: LOADED_HIGH */
	.org 0x236
	.word 0x0001			/* xloadflags: XLF_KERNEL_64 */
	.long 255			/* 0x238 cmdline_size */
	.org 0x258
	.quad 0x20000			/* pref_address */
	.long 0x10000			/* 0x260 init_size */
	.org 0x26c

	.org 0x400			/* pref_address */
	.org 0x600			/* startup_64: pref_address + 0x200 */
	.code64
startup_64:
	cli
	mov %rsi, %rbx			/* the zero page */
	mov 0x250(%rbx), %r12		/* its setup_data */

	lea banner(%rip), %rdi
	call puts
	mov %rbx, %rax
	call put_hex16
	lea s_cpus(%rip), %rdi
	call puts
	movzwl 22(%r12), %eax		/* num_cpus */
	mov %eax, %r13d
	call put_hex16
	lea s_ids(%rip), %rdi
	call puts
	xor %r14d, %r14d
1:	cmp %r13d, %r14d
	jae 2f
	mov $' ', %al
	call putc
	movzbl 41(%r12,%r14), %eax	/* cpu_ids[i] */
	call put_hex8
	inc %r14d
	jmp 1b
2:	lea s_pm(%rip), %rdi
	call puts
	movzwl 20(%r12), %eax		/* pm_timer_address */
	call put_hex16
	lea s_ioapic(%rip), %rdi
	call puts
	movzbl 40(%r12), %eax		/* standard_ioapic */
	call put_hex8
	lea s_uarts(%rip), %rdi
	call puts
	movzbl 296(%r12), %eax		/* flags (low byte) */
	call put_hex8
	lea s_tsc(%rip), %rdi
	call puts
	mov $'0', %al
	cmpl $0, 32(%r12)		/* tsc_khz */
	je 3f
	mov $'1', %al
3:	call putc
	lea s_done(%rip), %rdi
	call puts
4:	hlt
	jmp 4b

/* putc(al) on the UART, once its transmitter holds nothing */
putc:
	mov %eax, %ecx
	mov $UART_LSR, %dx
5:	in %dx, %al
	test $LSR_THRE, %al
	jz 5b
	mov %ecx, %eax
	mov $UART, %dx
	out %al, %dx
	ret

/* puts(rdi): a NUL-terminated string */
puts:
	movzbl (%rdi), %eax
	test %al, %al
	jz 6f
	push %rdi
	call putc
	pop %rdi
	inc %rdi
	jmp puts
6:	ret

/* put_hex16(ax), put_hex8(al): fixed-width hex digits */
put_hex16:
	push %rax
	shr $8, %eax
	call put_hex8
	pop %rax
put_hex8:
	push %rax
	shr $4, %eax
	call put_nibble
	pop %rax
put_nibble:
	and $0xf, %eax
	lea hexdigits(%rip), %rsi
	movzbl (%rsi,%rax), %eax
	jmp putc

banner:		.asciz "fake-kernel: rsi "
s_cpus:		.asciz " cpus "
s_ids:		.asciz " ids"
s_pm:		.asciz " pm-timer "
s_ioapic:	.asciz " ioapic "
s_uarts:	.asciz " uarts "
s_tsc:		.asciz " tsc-khz-set "
s_done:		.asciz "\nfake-kernel: done\n"
hexdigits:	.ascii "0123456789abcdef"
