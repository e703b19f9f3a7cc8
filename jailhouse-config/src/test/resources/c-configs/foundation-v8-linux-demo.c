/*
 * Linux non-root cell for the Foundation Model v8: CPUs 2 and 3, 256 MiB of
 * RAM from the high bank at 0x880000000 (guest address 0), and UART 3 as
 * console, presented at UART 0's address where the inmate side expects a
 * serial port. Its only interrupt is the UART's, GIC 40 (SPI 8).
 *
 * For orientation, the model's physical map as this setup uses it:
 * devices below 2 GiB; 0x80000000-0xfbffffff RAM of the root cell (Linux
 * keeps the lower part); 0xfc000000-0xffffffff the hypervisor;
 * 0x880000000-0x8ffffffff RAM handed out to non-root cells.
 *
 * Written for Jailhouse for Java's tests from the published description of
 * upstream's configs/arm64/foundation-v8-linux-demo.c.
 */

#include <jailhouse/types.h>
#include <jailhouse/cell-config.h>

struct {
	struct jailhouse_cell_desc cell;
	__u64 cpus[1];
	struct jailhouse_memory mem_regions[3];
	struct jailhouse_irqchip irqchips[1];
} __attribute__((packed)) config = {
	.cell = {
		.signature = JAILHOUSE_CELL_DESC_SIGNATURE,
		.architecture = JAILHOUSE_ARM64,
		.revision = JAILHOUSE_CONFIG_REVISION,
		.name = "linux-inmate-demo",
		.flags = JAILHOUSE_CELL_PASSIVE_COMMREG,

		.cpu_set_size = sizeof(config.cpus),
		.num_memory_regions = ARRAY_SIZE(config.mem_regions),
		.num_irqchips = ARRAY_SIZE(config.irqchips),
		.num_pci_devices = 0,

		.console = {
			.address = 0x1c090000,	/* guest address of UART 3 */
			.type = JAILHOUSE_CON_TYPE_PL011,
			.flags = JAILHOUSE_CON_ACCESS_MMIO |
				JAILHOUSE_CON_REGDIST_4,
		},
	},

	.cpus = {
		0xc,		/* CPUs 2 and 3 */
	},

	.mem_regions = {
		/* 0: UART 3, remapped to UART 0's address */
		{
			.phys_start = 0x1c0c0000,
			.virt_start = 0x1c090000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		/* 1: 256 MiB of RAM, loadable, at guest address 0 */
		{
			.phys_start = 0x880000000,
			.virt_start = 0x0,
			.size = 0x10000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_LOADABLE,
		},
		/* 2: communication region */
		{
			.virt_start = 0x80000000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_COMM_REGION,
		},
	},

	.irqchips = {
		/* GICv2 distributor: only UART 3's SPI */
		{
			.address = 0x2c001000,
			.pin_base = 32,
			.pin_bitmap = {
				1 << (40 - 32),
			},
		},
	},
};
