/*
 * Jailhouse for Java - x86 inmate library: secondary CPUs (spec 5.4).
 *
 * All cell CPUs start together; each counts itself in smp_num_cpus and
 * all but the first halt (header-64.S). smp_start_cpu() re-starts a halted
 * CPU with INIT/SIPI (vector 0, i.e. at address 0 in real mode) and hands
 * it an entry point and a fresh 4 KiB stack through ap_entry/ap_stack.
 */

#include <inmate.h>

extern void *volatile ap_entry;
extern void *volatile ap_stack;

void smp_wait_for_all_cpus(void)
{
	while (smp_num_cpus < comm_region->num_cpus)
		cpu_relax();
}

void smp_start_cpu(unsigned int cpu_id, void (*entry)(void))
{
	u64 icr = ((u64)cpu_id << 32) | APIC_LVL_ASSERT;

	ap_stack = (u8 *)alloc(PAGE_SIZE, PAGE_SIZE) + PAGE_SIZE;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ap_entry = (void *)entry;

	write_msr(X2APIC_ICR, icr | APIC_DM_INIT);
	delay_us(10000);
	write_msr(X2APIC_ICR, icr | APIC_DM_SIPI);	/* vector 0 */
	delay_us(200);
	write_msr(X2APIC_ICR, icr | APIC_DM_SIPI);

	while (ap_entry || ap_stack)
		cpu_relax();
}
