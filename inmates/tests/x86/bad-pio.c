/*
 * Jailhouse for Java - bad-pio: hostile test inmate. Writes one byte to an
 * I/O port the cell does not own ("port=", default 0x1234, which no demo
 * cell whitelists). The hypervisor must stop the cell with
 * "FATAL: Invalid PIO write"; if it does not, "bad-pio: survived" follows.
 */

#include <inmate.h>

void inmate_main(void)
{
	u16 port = cmdline_parse_int("port", 0x1234);

	printk("bad-pio: writing port 0x%x\n", port);
	outb(0, port);
	printk("bad-pio: survived\n");
}
