/*
 * Jailhouse for Java - smp-demo (spec 5.5).
 *
 * All cell CPUs start together; the first one to arrive runs this demo,
 * waits until every other CPU has counted itself, then starts them one by
 * one with smp_start_cpu(). Each of them greets and sends an IPI (vector
 * 40) back to the primary CPU, which reports it.
 *
 * Console lines stay whole because the library's printk holds a console
 * lock for a whole call across CPUs, and each line here is one printk.
 * The primary keeps interrupts off except while it waits in "sti; hlt",
 * so its IPI handler never prints in the middle of one of its own lines.
 */

#include <inmate.h>

#define IPI_VECTOR	40

static unsigned int primary_cpu;
static volatile unsigned int ipis_received;

static void irq_handler(unsigned int vector)
{
	if (vector != IPI_VECTOR)
		return;
	printk("Received IPI on %d\n", cpu_id());
	ipis_received++;
}

static void secondary_main(void)
{
	printk("Hello from CPU %d!\n", cpu_id());
	irq_send_ipi(primary_cpu, IPI_VECTOR);
}

void inmate_main(void)
{
	unsigned int n;

	primary_cpu = cpu_id();
	printk("SMP demo, primary CPU: %d\n", primary_cpu);
	irq_init(irq_handler);

	printk("Waiting for the rest...\n");
	smp_wait_for_all_cpus();
	printk("\nFound %d other CPU(s)\n", smp_num_cpus - 1);

	for (n = 1; n < smp_num_cpus; n++) {
		printk(" Starting CPU %d\n", smp_cpu_ids[n]);
		smp_start_cpu(smp_cpu_ids[n], secondary_main);
		/* IPIs are edge-triggered: a pending one ends the hlt */
		while (ipis_received < n)
			asm volatile("sti; hlt; cli" : : : "memory");
	}
}
