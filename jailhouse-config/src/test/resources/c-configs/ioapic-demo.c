/*
 * x86 demo cell that owns one IOAPIC pin (9, the ACPI SCI on QEMU) and
 * the ports to trigger it.
 *
 * Written for Jailhouse for Java's tests from the published description of
 * upstream's configs/x86/ioapic-demo.c.
 */

#include <jailhouse/types.h>
#include <jailhouse/cell-config.h>

struct {
	struct jailhouse_cell_desc cell;
	__u64 cpus[1];
	struct jailhouse_memory mem_regions[2];
	struct jailhouse_irqchip irqchips[1];
	struct jailhouse_pio pio_regions[5];
} __attribute__((packed)) config = {
	.cell = {
		.signature = JAILHOUSE_CELL_DESC_SIGNATURE,
		.architecture = JAILHOUSE_X86,
		.revision = JAILHOUSE_CONFIG_REVISION,
		.name = "ioapic-demo",
		.flags = JAILHOUSE_CELL_PASSIVE_COMMREG |
			JAILHOUSE_CELL_VIRTUAL_CONSOLE_PERMITTED,

		.cpu_set_size = sizeof(config.cpus),
		.num_memory_regions = ARRAY_SIZE(config.mem_regions),
		.num_irqchips = ARRAY_SIZE(config.irqchips),
		.num_pio_regions = ARRAY_SIZE(config.pio_regions),
		.num_pci_devices = 0,

		.console = {
			.address = 0x3f8,
			.type = JAILHOUSE_CON_TYPE_8250,
			.flags = JAILHOUSE_CON_ACCESS_PIO,
		},
	},

	.cpus = {
		0x4,		/* CPU 2 */
	},

	.mem_regions = {
		/* RAM */
		{
			.phys_start = 0x3ee00000,
			.virt_start = 0,
			.size = 0x00100000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_LOADABLE,
		},
		/* communication region */
		{
			.virt_start = 0x00100000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_COMM_REGION,
		},
	},

	.irqchips = {
		{
			.address = 0xfec00000,
			.id = 0xff01,
			.pin_bitmap = {
				1 << 9,		/* pin 9 only */
			},
		},
	},

	.pio_regions = {
		PIO_RANGE(0x2f8, 8),	/* COM2 */
		PIO_RANGE(0x3f8, 8),	/* COM1 */
		PIO_RANGE(0x600, 4),	/* ACPI registers */
		PIO_RANGE(0x800, 4),	/* ACPI registers */
		PIO_RANGE(0xe010, 8),	/* serial port on a PCIe card */
	},
};
