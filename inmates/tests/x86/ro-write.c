/*
 * Jailhouse for Java - ro-write: hostile test inmate. Maps "addr="
 * (default 0x200000, which the test cell config maps read-only), reads 4
 * bytes there and prints them (reading is allowed), then writes "value="
 * (default 0x0badc0de) to the same address. The hypervisor must stop the
 * cell with "FATAL: Invalid MMIO/RAM write"; if it does not, the value
 * read back and "ro-write: survived" follow.
 */

#include <inmate.h>

void inmate_main(void)
{
	void *addr = (void *)(unsigned long)cmdline_parse_int("addr", 0x200000);
	u32 value = cmdline_parse_int("value", 0x0badc0de);

	map_range(addr, 4, MAP_CACHED);

	printk("ro-write: reading %p\n", addr);
	printk("ro-write: read 0x%08x\n", mmio_read32(addr));
	printk("ro-write: writing 0x%08x to %p\n", value, addr);
	mmio_write32(addr, value);
	printk("ro-write: now reads 0x%08x\n", mmio_read32(addr));
	printk("ro-write: survived\n");
}
