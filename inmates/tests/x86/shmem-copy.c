/*
 * Jailhouse for Java - shmem-copy: copy bandwidth inside a cell's memory.
 * Copies "size=" bytes (default 16 KiB) from the first half to the second
 * half of the range at "addr=" (default: the ivshmem-demo cell's R/W
 * section, 0x3f0f1000) "rounds=" times (default 200) with rep movsq, and
 * prints the bandwidth measured with the TSC. Shared memory is ordinary RAM
 * to the guest, so this is the cell's memory bandwidth as the hypervisor
 * maps it.
 */

#include <inmate.h>

void inmate_main(void)
{
	unsigned long addr = cmdline_parse_int("addr", 0x3f0f1000);
	unsigned long size = cmdline_parse_int("size", 16384);
	long long rounds = cmdline_parse_int("rounds", 200);
	unsigned long khz = comm_region->tsc_khz;
	unsigned long long start, cycles, mib_s;
	long long n;

	if (rounds < 1)
		rounds = 1;
	size &= ~7UL;
	map_range((void *)(addr & ~0x1fffffUL), 0x400000, MAP_CACHED);

	start = rdtsc();
	for (n = 0; n < rounds; n++) {
		unsigned long count = size / 8;
		void *src = (void *)addr, *dst = (void *)(addr + size);

		asm volatile("rep movsq"
			     : "+D" (dst), "+S" (src), "+c" (count)
			     : : "memory");
	}
	cycles = rdtsc() - start;

	/* MiB/s = bytes / (cycles / (khz * 1000)) / 2^20 */
	mib_s = cycles ? (unsigned long long)size * rounds * khz * 1000 / cycles / (1024 * 1024) : 0;
	printk("shmem-copy: %lld x %lu bytes, %llu cycles, %llu MiB/s\n", rounds, size, cycles, mib_s);
	printk("shmem-copy done\n");
}
