/*
 * Jailhouse for Java - smp-test: the library's SMP path. All cell CPUs
 * start together; the first waits until every CPU has counted itself,
 * then restarts each other CPU with smp_start_cpu(). Each secondary CPU
 * greets and sends an IPI (vector 40) back to the first one.
 */

#include <inmate.h>

#define IPI_VECTOR	40

static volatile unsigned int ipis_received;

static void irq_handler(unsigned int vector)
{
	if (vector == IPI_VECTOR) {
		printk("Received IPI on %d\n", cpu_id());
		ipis_received++;
	}
}

static void secondary_main(void)
{
	printk("Hello from CPU %d!\n", cpu_id());
	irq_send_ipi(smp_cpu_ids[0], IPI_VECTOR);
}

void inmate_main(void)
{
	unsigned long long start;
	unsigned int n;

	printk("smp-test, primary CPU: %d\n", cpu_id());
	irq_init(irq_handler);
	enable_irqs();

	printk("Waiting for the rest...\n");
	smp_wait_for_all_cpus();
	printk("Found %d other CPU(s)\n", smp_num_cpus - 1);

	for (n = 1; n < smp_num_cpus; n++) {
		printk(" Starting CPU %d\n", smp_cpu_ids[n]);
		smp_start_cpu(smp_cpu_ids[n], secondary_main);
		start = pm_timer_read();
		while (ipis_received < n &&
		       pm_timer_read() - start < 5 * NS_PER_SEC)
			cpu_relax();
	}

	printk("smp-test: %u CPU(s), %u IPI(s)\n", smp_num_cpus, ipis_received);
	printk("smp-test done\n");
}
