/*
 * Jailhouse for Java - x86 inmate library: interrupts and exceptions.
 *
 * All 64 IDT vectors are live from c_entry on. Vectors 32..63 go to the
 * handler registered with irq_init() (followed by an x2APIC EOI); anything
 * else - exceptions, or interrupts without a handler - is reported on the
 * console and stops the CPU.
 */

#include <inmate.h>

struct int_frame {
	u64 error_code;
	u64 rip;
	u64 cs;
	u64 rflags;
	u64 rsp;
	u64 ss;
};

static irq_handler_t irq_handler;

void int_dispatch(unsigned int vector, struct int_frame *frame);

void int_dispatch(unsigned int vector, struct int_frame *frame)
{
	unsigned long cr2;

	if (vector >= IRQ_VECTOR_FIRST && irq_handler) {
		irq_handler(vector);
		apic_eoi();
		return;
	}

	printk_fatal_mode();
	if (vector < IRQ_VECTOR_FIRST) {
		asm volatile("mov %%cr2, %0" : "=r" (cr2));
		printk("\nFATAL: Unhandled exception %u, error code 0x%llx, "
		       "RIP: %p, RSP: %p, CR2: %p\n", vector,
		       frame->error_code, (void *)frame->rip,
		       (void *)frame->rsp, (void *)cr2);
	} else {
		printk("\nFATAL: Unexpected interrupt %u, RIP: %p\n", vector,
		       (void *)frame->rip);
	}
	stop();
}

void excp_reporting_init(void)
{
	/* Exceptions are always reported: the IDT is set up in c_entry. */
}

void irq_init(irq_handler_t handler)
{
	irq_handler = handler;
	/* Software-enable the x2APIC, spurious vector 0xff. */
	write_msr(X2APIC_SPIV, APIC_SPIV_ENABLE_VEC);
}

void irq_enable(unsigned int irq)
{
	/* Vectors are always unmasked on x86; APIC/IOAPIC set-up does the rest. */
	(void)irq;
}

void irq_send_ipi(unsigned int cpu_id, unsigned int vector)
{
	write_msr(X2APIC_ICR, ((u64)cpu_id << 32) | APIC_LVL_ASSERT |
		  APIC_DM_FIXED | vector);
}
