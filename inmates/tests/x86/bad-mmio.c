/*
 * Jailhouse for Java - bad-mmio: hostile test inmate. Maps "addr="
 * (default 0x10000000, outside every demo cell's memory) and reads 4 bytes
 * there, or writes them with "write=1" (value "value=", default
 * 0xdeadbeef). The hypervisor must stop the cell with
 * "FATAL: Invalid MMIO/RAM read/write"; if it does not, "bad-mmio: survived"
 * follows.
 */

#include <inmate.h>

void inmate_main(void)
{
	void *addr = (void *)(unsigned long)cmdline_parse_int("addr",
							      0x10000000);
	bool write = cmdline_parse_bool("write", false);
	u32 value = cmdline_parse_int("value", 0xdeadbeef);

	map_range(addr, 4, MAP_UNCACHED);

	if (write) {
		printk("bad-mmio: writing 0x%08x to %p\n", value, addr);
		mmio_write32(addr, value);
	} else {
		printk("bad-mmio: reading %p\n", addr);
		value = mmio_read32(addr);
		printk("bad-mmio: read 0x%08x\n", value);
	}
	printk("bad-mmio: survived\n");
}
