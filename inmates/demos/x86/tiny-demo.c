/*
 * Jailhouse for Java - tiny-demo: greets, then prints the PM timer once
 * per second, "loops=N" times (default 10, spec 5.5), and returns.
 */

#include <inmate.h>

void inmate_main(void)
{
	unsigned long long start, now;
	long long loops = cmdline_parse_int("loops", 10);
	long long n;

	printk("Hello from this tiny cell!\n");

	start = pm_timer_read();
	for (n = 0; n < loops; n++) {
		do {
			now = pm_timer_read();
		} while (now - start < NS_PER_SEC);
		start = now;
		printk("PM Timer: %11llu\n", now);
	}
}
