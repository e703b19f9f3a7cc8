/*
 * Jailhouse for Java - pio-loop: exit-cost probe. Reads the PM timer port
 * "loops=N" times (default 100000); every read is a VM exit handled by the
 * hypervisor in user space. Prints cycles and microseconds per exit,
 * measured with the TSC around the whole loop, then the distribution of
 * single exits: the TSC read before and after each port read, counted in
 * buckets of 32 cycles (up to 262144 cycles; beyond that only the maximum
 * is kept), and the 50th, 90th, 99th and 99.9th percentiles of that.
 */

#include <inmate.h>

#define BUCKET_CYCLES	32
#define BUCKETS		8192

static unsigned long long percentile(const u32 *count, unsigned long long total,
				     unsigned long long over, unsigned long long max,
				     unsigned int per_mille)
{
	/* the smallest value with at least per_mille/1000 of the samples at or below it */
	unsigned long long want = (total * per_mille + 999) / 1000, seen = 0;
	unsigned int b;

	for (b = 0; b < BUCKETS; b++) {
		seen += count[b];
		if (seen >= want)
			return (unsigned long long)b * BUCKET_CYCLES + BUCKET_CYCLES / 2;
	}
	return over ? max : 0;
}

void inmate_main(void)
{
	u16 port = comm_region->pm_timer_address;
	unsigned long khz = comm_region->tsc_khz;
	long long loops = cmdline_parse_int("loops", 100000);
	unsigned long long start, cycles, per_exit, tenths_us, t, d, over = 0, max = 0;
	u32 *count = zalloc(BUCKETS * sizeof(u32), 64);
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

	for (n = 0; n < loops; n++) {
		t = rdtsc();
		inl(port);
		d = rdtsc() - t;
		if (d > max)
			max = d;
		if (d / BUCKET_CYCLES < BUCKETS)
			count[d / BUCKET_CYCLES]++;
		else
			over++;
	}
	printk("pio-loop: per-exit cycles p50 %llu p90 %llu p99 %llu p99.9 %llu max %llu (%lld exits, %llu over %u)\n",
	       percentile(count, loops, over, max, 500), percentile(count, loops, over, max, 900),
	       percentile(count, loops, over, max, 990), percentile(count, loops, over, max, 999),
	       max, loops, over, BUCKETS * BUCKET_CYCLES);
	printk("pio-loop done\n");
}
