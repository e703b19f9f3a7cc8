/*
 * Jailhouse for Java - pio-loop: exit-cost probe. Reads the PM timer port
 * "loops=N" times (default 100000); every read is a VM exit handled by the
 * hypervisor in user space. Prints cycles and microseconds per exit,
 * measured with the TSC around the whole loop.
 */

#include <inmate.h>

void inmate_main(void)
{
	u16 port = comm_region->pm_timer_address;
	unsigned long khz = comm_region->tsc_khz;
	long long loops = cmdline_parse_int("loops", 100000);
	unsigned long long start, cycles, per_exit, tenths_us;
	long long n;

	if (loops < 1)
		loops = 1;

	start = rdtsc();
	for (n = 0; n < loops; n++)
		inl(port);
	cycles = rdtsc() - start;

	per_exit = cycles / loops;
	/* us per exit in tenths: cycles / (khz * 1000) * 1e6 * 10 */
	tenths_us = khz ? cycles * 10000 / khz / loops : 0;

	printk("pio-loop: %lld exits, %llu cycles/exit, %llu.%llu us/exit\n",
	       loops, per_exit, tenths_us / 10, tenths_us % 10);
	printk("pio-loop done\n");
}
