/*
 * Jailhouse for Java - inmate library: communication region and hypercalls.
 *
 * The communication region is one page per cell, placed by the hypervisor
 * at COMM_REGION_BASE (0x100000). Layout: ABI revision 2, x86 variant,
 * 76 bytes used (spec section 2).
 */

#ifndef _JAILHOUSE_INMATE_HYPERCALL_H
#define _JAILHOUSE_INMATE_HYPERCALL_H

#include <jailhouse/console.h>

#define COMM_REGION_ABI_REVISION		2
#define COMM_REGION_MAGIC			"JHCOMM"

/* Hypercall codes (spec section 3). */
#define JAILHOUSE_HC_DISABLE			0
#define JAILHOUSE_HC_CELL_CREATE		1
#define JAILHOUSE_HC_CELL_START			2
#define JAILHOUSE_HC_CELL_SET_LOADABLE		3
#define JAILHOUSE_HC_CELL_DESTROY		4
#define JAILHOUSE_HC_HYPERVISOR_GET_INFO	5
#define JAILHOUSE_HC_CELL_GET_STATE		6
#define JAILHOUSE_HC_CPU_GET_INFO		7
#define JAILHOUSE_HC_DEBUG_CONSOLE_PUTC		8

/*
 * The hypervisor's documented hypercall port; vmcall cannot reach user
 * space under KVM (spec 12), so hypercalls go through port I/O: the code
 * is written with a 32-bit OUT (EAX) while EDI/ESI hold arg1/arg2, and the
 * result is fetched with a 32-bit IN from the same port.
 */
#define JAILHOUSE_HC_PORT			0x5f0

/* Cell states (comm_region.cell_state). */
#define JAILHOUSE_CELL_RUNNING			0
#define JAILHOUSE_CELL_RUNNING_LOCKED		1
#define JAILHOUSE_CELL_SHUT_DOWN		2 /* terminal */
#define JAILHOUSE_CELL_FAILED			3 /* terminal */
#define JAILHOUSE_CELL_FAILED_COMM_REV		4 /* terminal */

/* Messages to the cell (comm_region.msg_to_cell). */
#define JAILHOUSE_MSG_NONE			0
#define JAILHOUSE_MSG_SHUTDOWN_REQUEST		1
#define JAILHOUSE_MSG_RECONFIG_COMPLETED	2

/* Replies from the cell (comm_region.reply_from_cell). */
#define JAILHOUSE_MSG_UNKNOWN			1
#define JAILHOUSE_MSG_REQUEST_DENIED		2
#define JAILHOUSE_MSG_REQUEST_APPROVED		3
#define JAILHOUSE_MSG_RECEIVED			4

/* comm_region.flags */
#define JAILHOUSE_COMM_FLAG_DBG_PUTC_PERMITTED	0x0001
#define JAILHOUSE_COMM_FLAG_DBG_PUTC_ACTIVE	0x0002
#define JAILHOUSE_COMM_HAS_DBG_PUTC_PERMITTED(flags) \
	(!!((flags) & JAILHOUSE_COMM_FLAG_DBG_PUTC_PERMITTED))
#define JAILHOUSE_COMM_HAS_DBG_PUTC_ACTIVE(flags) \
	(!!((flags) & JAILHOUSE_COMM_FLAG_DBG_PUTC_ACTIVE))

#ifndef __ASSEMBLY__

struct jailhouse_comm_region {
	char signature[6];			/* "JHCOMM", no NUL */
	__u16 revision;				/* COMM_REGION_ABI_REVISION */
	volatile __u32 cell_state;
	volatile __u32 msg_to_cell;
	volatile __u32 reply_from_cell;
	volatile __u32 flags;
	struct jailhouse_console console;
	__u64 pci_mmconfig_base;
	/* x86 part */
	__u16 pm_timer_address;
	__u16 num_cpus;
	__u32 tsc_khz;
	__u32 apic_khz;
} __attribute__((packed));

_Static_assert(sizeof(struct jailhouse_comm_region) == 76,
	       "x86 communication region must be 76 bytes");

/* The cell's side of the message protocol: clear the message, then reply. */
static inline void
jailhouse_send_reply_from_cell(struct jailhouse_comm_region *comm_region,
			       __u32 reply)
{
	comm_region->msg_to_cell = JAILHOUSE_MSG_NONE;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	comm_region->reply_from_cell = reply;
}

/*
 * Hypercalls through JAILHOUSE_HC_PORT. OUT and IN sit in one asm statement
 * so nothing can run between the hypervisor latching the call and us
 * fetching its result.
 */
static inline __u32 jailhouse_call_arg2(__u32 code, __u32 arg1, __u32 arg2)
{
	__u32 result;

	asm volatile("outl %%eax, %%dx\n\t"
		     "inl %%dx, %%eax"
		     : "=a" (result)
		     : "a" (code), "d" ((__u16)JAILHOUSE_HC_PORT),
		       "D" (arg1), "S" (arg2)
		     : "memory");
	return result;
}

static inline __u32 jailhouse_call_arg1(__u32 code, __u32 arg1)
{
	return jailhouse_call_arg2(code, arg1, 0);
}

static inline __u32 jailhouse_call(__u32 code)
{
	return jailhouse_call_arg2(code, 0, 0);
}

#endif /* !__ASSEMBLY__ */

#endif /* !_JAILHOUSE_INMATE_HYPERCALL_H */
