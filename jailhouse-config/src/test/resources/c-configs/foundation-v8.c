/*
 * Root cell (system) configuration for ARM's Foundation Model v8 (a fixed
 * virtual platform): 4 CPUs, 2 GiB of RAM at 0x80000000 of which the top
 * 64 MiB hold the hypervisor, 2 GiB more at 0x880000000, four PL011 UARTs.
 * No PCI, no ivshmem.
 *
 * The model can run with a GICv2 or a GICv3; built as is, this file
 * describes the GICv2 variant, and defining CONFIG_ARM_GIC_V3 selects the
 * GICv3 register layout instead (as upstream's file does). The irqchip
 * entries always name the GICv2 distributor.
 *
 * Written for Jailhouse for Java's tests from the published description of
 * upstream's configs/arm64/foundation-v8.c.
 */

#include <jailhouse/types.h>
#include <jailhouse/cell-config.h>

struct {
	struct jailhouse_system header;
	__u64 cpus[1];
	struct jailhouse_memory mem_regions[9];
	struct jailhouse_irqchip irqchips[3];
} __attribute__((packed)) config = {
	.header = {
		.signature = JAILHOUSE_SYSTEM_SIGNATURE,
		.architecture = JAILHOUSE_ARM64,
		.revision = JAILHOUSE_CONFIG_REVISION,
		.flags = JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE,
		.hypervisor_memory = {
			.phys_start = 0xfc000000,
			.size = 0x4000000,
		},
		.debug_console = {
			.address = 0x1c090000,		/* UART 0 */
			.size = 0x1000,
			.type = JAILHOUSE_CON_TYPE_PL011,
			.flags = JAILHOUSE_CON_ACCESS_MMIO |
				JAILHOUSE_CON_REGDIST_4,
		},
		.platform_info.arm = {
#ifdef CONFIG_ARM_GIC_V3
			.gic_version = 3,
			.gicd_base = 0x2f000000,
			.gicr_base = 0x2f100000,
#else
			.gic_version = 2,
			.gicd_base = 0x2c001000,
			.gicc_base = 0x2c002000,
			.gich_base = 0x2c004000,
			.gicv_base = 0x2c006000,
#endif
			.maintenance_irq = 25,
		},
		.root_cell = {
			.name = "foundation-v8",

			.cpu_set_size = sizeof(config.cpus),
			.num_memory_regions = ARRAY_SIZE(config.mem_regions),
			.num_irqchips = ARRAY_SIZE(config.irqchips),
		},
	},

	.cpus = {
		0xf,		/* CPUs 0-3 */
	},

	.mem_regions = {
		/* 0: network controller */
		{
			.phys_start = 0x1a000000,
			.virt_start = 0x1a000000,
			.size = 0x00010000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		/* 1: system registers block */
		{
			.phys_start = 0x1c010000,
			.virt_start = 0x1c010000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		/* 2-5: UARTs 0 to 3 */
		{
			.phys_start = 0x1c090000,
			.virt_start = 0x1c090000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{
			.phys_start = 0x1c0a0000,
			.virt_start = 0x1c0a0000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{
			.phys_start = 0x1c0b0000,
			.virt_start = 0x1c0b0000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{
			.phys_start = 0x1c0c0000,
			.virt_start = 0x1c0c0000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		/* 6: virtio block device */
		{
			.phys_start = 0x1c130000,
			.virt_start = 0x1c130000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		/* 7: low RAM, up to the hypervisor */
		{
			.phys_start = 0x80000000,
			.virt_start = 0x80000000,
			.size = 0x7c000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE,
		},
		/* 8: high RAM, also where the non-root cells get theirs */
		{
			.phys_start = 0x880000000,
			.virt_start = 0x880000000,
			.size = 0x80000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE,
		},
	},

	/* Three 128-pin slices of the GICv2 distributor: SPIs 32-415. */
	.irqchips = {
		{
			.address = 0x2c001000,
			.pin_base = 32,
			.pin_bitmap = {
				0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
			},
		},
		{
			.address = 0x2c001000,
			.pin_base = 160,
			.pin_bitmap = {
				0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
			},
		},
		{
			.address = 0x2c001000,
			.pin_base = 288,
			.pin_bitmap = {
				0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
			},
		},
	},
};
