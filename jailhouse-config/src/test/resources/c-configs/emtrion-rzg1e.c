/*
 * Root cell (system) configuration for emtrion's emCON-RZ/G1E module
 * (Renesas RZ/G1E, two Cortex-A7 cores, 1 GiB of RAM at 0x40000000, GICv2).
 * The hypervisor takes the top 64 MiB of RAM; the debug console is HSCIF2,
 * whose module clock is gated by bit 13 of the CPG register at 0xe615014c
 * (a cleared bit enables the clock, hence JAILHOUSE_CON_INVERTED_GATE).
 *
 * Kept on purpose: like upstream's file, the struct declares one ivshmem
 * PCI device, but the root cell's num_pci_devices (and vpci_irq_base, and
 * the virtual PCI host bridge in platform_info) are left unset, so the
 * descriptor counts no PCI device. The compiled configuration is therefore
 * 56 bytes (one struct jailhouse_pci_device) longer than its count fields
 * say: 1352 bytes in the object against 1296 implied by the counts. The
 * tests rely on these trailing bytes; do not "fix" the counts.
 *
 * Written for Jailhouse for Java's tests from the published description of
 * upstream's configs/arm/emtrion-rzg1e.c.
 */

#include <jailhouse/types.h>
#include <jailhouse/cell-config.h>

struct {
	struct jailhouse_system header;
	__u64 cpus[1];
	struct jailhouse_memory mem_regions[22];
	struct jailhouse_irqchip irqchips[3];
	struct jailhouse_pci_device pci_devices[1];	/* not counted, see top */
} __attribute__((packed)) config = {
	.header = {
		.signature = JAILHOUSE_SYSTEM_SIGNATURE,
		.architecture = JAILHOUSE_ARM,
		.revision = JAILHOUSE_CONFIG_REVISION,
		.flags = JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE,
		.hypervisor_memory = {
			.phys_start = 0x7c000000,
			.size = 0x4000000,
		},
		.debug_console = {
			.address = 0xe62d0000,		/* HSCIF2 */
			.size = 0x1000,
			.clock_reg = 0xe615014c,
			.gate_nr = 13,
			/* divider left 0: keep the boot loader's baud rate */
			.type = JAILHOUSE_CON_TYPE_HSCIF,
			.flags = JAILHOUSE_CON_ACCESS_MMIO |
				JAILHOUSE_CON_REGDIST_4 |
				JAILHOUSE_CON_INVERTED_GATE,
		},
		.platform_info = {
			/* no virtual PCI host bridge (pci_mmconfig_* stay 0) */
			.arm = {
				.gic_version = 2,
				.gicd_base = 0xf1001000,
				.gicc_base = 0xf1002000,
				.gich_base = 0xf1004000,
				.gicv_base = 0xf1006000,
				.maintenance_irq = 25,
			},
		},
		.root_cell = {
			.name = "emCON-RZ/G1E",

			.cpu_set_size = sizeof(config.cpus),
			.num_memory_regions = ARRAY_SIZE(config.mem_regions),
			.num_irqchips = ARRAY_SIZE(config.irqchips),
			/* num_pci_devices and vpci_irq_base deliberately 0 */
		},
	},

	.cpus = {
		0x3,		/* CPUs 0 and 1 */
	},

	.mem_regions = {
		/* 0-3: ivshmem network link (peer 0), just below the hypervisor */
		JAILHOUSE_SHMEM_NET_REGIONS(0x7bf00000, 0),
		/* 4-9: registers the root may reach only with 32-bit accesses */
		{	/* clock pulse generator */
			.phys_start = 0xe6150000,
			.virt_start = 0xe6150000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO | JAILHOUSE_MEM_IO_32,
		},
		{	/* advanced power management unit */
			.phys_start = 0xe6151000,
			.virt_start = 0xe6151000,
			.size = 0xf000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO | JAILHOUSE_MEM_IO_32,
		},
		{	/* external interrupt controller */
			.phys_start = 0xe61c0000,
			.virt_start = 0xe61c0000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO | JAILHOUSE_MEM_IO_32,
		},
		{	/* compare match timer 0 */
			.phys_start = 0xffca0000,
			.virt_start = 0xffca0000,
			.size = 0x2000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO | JAILHOUSE_MEM_IO_32,
		},
		{	/* compare match timer 1 */
			.phys_start = 0xe6130000,
			.virt_start = 0xe6130000,
			.size = 0x2000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO | JAILHOUSE_MEM_IO_32,
		},
		{	/* timer unit 0, a sub-page window */
			.phys_start = 0xe61e0000,
			.virt_start = 0xe61e0000,
			.size = 0x400,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO | JAILHOUSE_MEM_IO_32,
		},
		/* 10-20: peripherals passed through page-wise */
		{	/* HSCIF2, the debug console */
			.phys_start = 0xe62d0000,
			.virt_start = 0xe62d0000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* Ethernet AVB */
			.phys_start = 0xe6800000,
			.virt_start = 0xe6800000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* MMC interface (eMMC) */
			.phys_start = 0xee200000,
			.virt_start = 0xee200000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* USB 0 */
			.phys_start = 0xee080000,
			.virt_start = 0xee080000,
			.size = 0x00020000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* video signal processor (VSPDU) */
			.phys_start = 0xfe930000,
			.virt_start = 0xfe930000,
			.size = 0x00008000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* display unit */
			.phys_start = 0xfeb00000,
			.virt_start = 0xfeb00000,
			.size = 0x00040000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* CAN 0 */
			.phys_start = 0xe6e80000,
			.virt_start = 0xe6e80000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* CAN 1 */
			.phys_start = 0xe6e88000,
			.virt_start = 0xe6e88000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* I2C 0 */
			.phys_start = 0xe6508000,
			.virt_start = 0xe6508000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* I2C 1 */
			.phys_start = 0xe6530000,
			.virt_start = 0xe6530000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		{	/* I2C 2 */
			.phys_start = 0xe6540000,
			.virt_start = 0xe6540000,
			.size = 0x00001000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_IO,
		},
		/* 21: RAM below the shared memory and the hypervisor */
		{
			.phys_start = 0x40000000,
			.virt_start = 0x40000000,
			.size = 0x3bf00000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE,
		},
	},

	/* GIC distributor: SPIs 32-319 (the last slice only 32 pins wide) */
	.irqchips = {
		{
			.address = 0xf1001000,
			.pin_base = 32,
			.pin_bitmap = {
				0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
			},
		},
		{
			.address = 0xf1001000,
			.pin_base = 160,
			.pin_bitmap = {
				0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
			},
		},
		{
			.address = 0xf1001000,
			.pin_base = 288,
			.pin_bitmap = {
				0xffffffff,
			},
		},
	},

	/* Present in the image but not counted by the descriptor. */
	.pci_devices = {
		{ /* 00:01.0 ivshmem, virtual network */
			.type = JAILHOUSE_PCI_TYPE_IVSHMEM,
			.bdf = 0x01 << 3,
			.bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_INTX,
			.shmem_regions_start = 0,
			.shmem_dev_id = 0,
			.shmem_peers = 2,
			.shmem_protocol = JAILHOUSE_SHMEM_PROTO_VETH,
		},
	},
};
