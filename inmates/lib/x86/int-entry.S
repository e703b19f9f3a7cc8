/*
 * Jailhouse for Java - x86 inmate library: interrupt and exception entry.
 *
 * One 16-byte stub per IDT vector (0..63). Each leaves the same frame:
 *   [vector] [error code or 0] [RIP] [CS] [RFLAGS] [RSP] [SS]
 * and jumps to int_common, which saves the caller-saved registers and
 * calls int_dispatch(vector, frame) in int.c.
 */

#include <inmate.h>

/* Exceptions for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || \
			   (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.code64

	.balign 16
	.globl int_entry_stubs
int_entry_stubs:
vector = 0
	.rept NUM_IDT_VECTORS
	.balign 16
	.if HAS_ERROR_CODE(vector) == 0
	push $0
	.endif
	push $vector
	jmp int_common
vector = vector + 1
	.endr

int_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	/* 16-byte aligned here: 5 CPU words + 2 + 9 = 16 words below the
	   aligned interrupt stack pointer. */
	mov 9*8(%rsp), %rdi		/* vector */
	lea 10*8(%rsp), %rsi		/* error code, then the CPU frame */
	cld
	call int_dispatch
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp			/* vector and error code */
	iretq
