/*
 * Jailhouse for Java - exit-storm: hostile test inmate. Writes port 0x80
 * in a tight loop: the hypervisor always ignores byte writes there, so
 * each is a VM exit and nothing else. Every "report=" writes (default
 * 20000) it prints "exit-storm: N exits" to show it is alive. Runs forever
 * unless "exits=" limits it; then it ends with "exit-storm: survived".
 */

#include <inmate.h>

void inmate_main(void)
{
	unsigned long long report = cmdline_parse_int("report", 20000);
	unsigned long long limit = cmdline_parse_int("exits", 0);
	unsigned long long n = 0, next_report;

	if (report < 1)
		report = 1;
	next_report = report;

	printk("exit-storm: writing port 0x80 in a loop\n");
	while (!limit || n < limit) {
		outb(0, 0x80);
		if (++n == next_report) {
			printk("exit-storm: %llu exits\n", n);
			next_report += report;
		}
	}
	printk("exit-storm: survived\n");
}
