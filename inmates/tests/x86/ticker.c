/*
 * Jailhouse for Java - ticker: the well-behaved neighbour of the isolation
 * tests. Prints "tick N at T ns" every "period=" ms (default 100) of
 * PM-timer time, N counting from 1, T the TSC time in ns; forever, or
 * "ticks=" times followed by "ticker: done".
 *
 * The schedule is absolute (tick N is due at start + N * period), so a
 * late tick does not delay the following ones. Between ticks the CPU
 * waits in hlt for the APIC timer (TSC-deadline), then checks the PM
 * timer and waits again if the TSC's idea of the time was early: a few
 * VM exits per tick instead of a busy PM-timer poll.
 */

#include <inmate.h>

#define TIMER_VECTOR	32

static unsigned long tsc_khz;

static void irq_handler(unsigned int vector)
{
	(void)vector;	/* the timer only ends the hlt */
}

/* ns since TSC 0, from all 64 bits (no wrap accounting needed) */
static unsigned long long tsc_ns(void)
{
	u64 tsc = rdtsc();

	if (!tsc_khz)
		return 0;
	return tsc / tsc_khz * NS_PER_MSEC +
		tsc % tsc_khz * NS_PER_MSEC / tsc_khz;
}

void inmate_main(void)
{
	long long period_ms = cmdline_parse_int("period", 100);
	long long ticks = cmdline_parse_int("ticks", 0);
	unsigned long long period, start, due, now;
	long long n;

	if (period_ms < 1)
		period_ms = 1;
	period = period_ms * NS_PER_MSEC;
	tsc_khz = comm_region->tsc_khz;

	irq_init(irq_handler);
	apic_timer_init(TIMER_VECTOR);

	printk("ticker: a tick every %lld ms\n", period_ms);
	start = pm_timer_read();
	for (n = 1; !ticks || n <= ticks; n++) {
		due = start + n * period;
		/*
		 * The PM timer must be read at least once per wrap (4.7 s):
		 * wait in slices of at most 1 s.
		 */
		while ((now = pm_timer_read()) < due) {
			apic_timer_set(due - now < NS_PER_SEC ? due - now
							     : NS_PER_SEC);
			asm volatile("sti; hlt; cli" : : : "memory");
		}
		printk("tick %lld at %llu ns\n", n, tsc_ns());
	}
	printk("ticker: done\n");
}
