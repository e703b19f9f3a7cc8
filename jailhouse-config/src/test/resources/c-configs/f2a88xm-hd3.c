/*
 * Root cell (system) configuration for a Gigabyte GA-F2A88XM-HD3 board
 * (rev. 3.0) carrying an AMD A10-7800 APU: 4 CPUs, the board's AMD IOMMU
 * and two IOAPICs. The Linux kernel must keep its hands off 82 MiB at
 * 0x3a000000 ("memmap=82M$0x3a000000"): the hypervisor takes the first
 * 6 MiB of it, the rest is left to non-root cells.
 *
 * Written for Jailhouse for Java's tests from the published description of
 * upstream's configs/x86/f2a88xm-hd3.c.
 */

#include <jailhouse/types.h>
#include <jailhouse/cell-config.h>

struct {
	struct jailhouse_system header;
	__u64 cpus[1];
	struct jailhouse_memory mem_regions[35];
	struct jailhouse_irqchip irqchips[2];
	struct jailhouse_pio pio_regions[8];
	struct jailhouse_pci_device pci_devices[26];
	struct jailhouse_pci_capability pci_caps[24];
} __attribute__((packed)) config = {
	.header = {
		.signature = JAILHOUSE_SYSTEM_SIGNATURE,
		.architecture = JAILHOUSE_X86,
		.revision = JAILHOUSE_CONFIG_REVISION,
		.flags = JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE,
		.hypervisor_memory = {
			.phys_start = 0x3a000000,
			.size = 0x600000,
		},
		.debug_console = {
			.address = 0x3f8,
			.type = JAILHOUSE_CON_TYPE_8250,
			.flags = JAILHOUSE_CON_ACCESS_PIO,
		},
		.platform_info = {
			.pci_mmconfig_base = 0xe0000000,
			.pci_mmconfig_end_bus = 0xff,
			.iommu_units = {
				{
					/* AMD-Vi unit, function 00:00.2 */
					.type = JAILHOUSE_IOMMU_AMD,
					.base = 0xfeb80000,
					.size = 0x80000,
					.amd.bdf = 0x02,
					.amd.base_cap = 0x40,
					.amd.msi_cap = 0x54,
					.amd.features = 0x80048824,
				},
			},
			.x86 = {
				.pm_timer_address = 0x808,
			},
		},
		.root_cell = {
			.name = "F2A88XM-HD3",

			.cpu_set_size = sizeof(config.cpus),
			.num_memory_regions = ARRAY_SIZE(config.mem_regions),
			.num_irqchips = ARRAY_SIZE(config.irqchips),
			.num_pio_regions = ARRAY_SIZE(config.pio_regions),
			.num_pci_devices = ARRAY_SIZE(config.pci_devices),
			.num_pci_caps = ARRAY_SIZE(config.pci_caps),
		},
	},

	.cpus = {
		0xf,		/* CPUs 0-3 */
	},

	.mem_regions = {
		/* 0: conventional memory below 640 KiB */
		{
			.phys_start = 0x0,
			.virt_start = 0x0,
			.size = 0x9f000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 1: legacy VGA window */
		{
			.phys_start = 0xa0000,
			.virt_start = 0xa0000,
			.size = 0x20000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 2: video BIOS */
		{
			.phys_start = 0xc0000,
			.virt_start = 0xc0000,
			.size = 0x10000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 3: system BIOS, read-only */
		{
			.phys_start = 0xe0000,
			.virt_start = 0xe0000,
			.size = 0x20000,
			.flags = JAILHOUSE_MEM_READ,
		},
		/* 4-6: RAM from 1 MiB up to the hypervisor reservation */
		{
			.phys_start = 0x100000,
			.virt_start = 0x100000,
			.size = 0xf00000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		{
			.phys_start = 0x1000000,
			.virt_start = 0x1000000,
			.size = 0x1000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		{
			.phys_start = 0x2000000,
			.virt_start = 0x2000000,
			.size = 0x39000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 7-8: RAM above the reservation */
		{
			.phys_start = 0x3f200000,
			.virt_start = 0x3f200000,
			.size = 0x2c6ed000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		{
			.phys_start = 0x6b91d000,
			.virt_start = 0x6b91d000,
			.size = 0x2c3000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 9: ACPI NVS */
		{
			.phys_start = 0x6bbe0000,
			.virt_start = 0x6bbe0000,
			.size = 0xce000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 10: a single RAM page between the NVS ranges */
		{
			.phys_start = 0x6d1c9000,
			.virt_start = 0x6d1c9000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 11: ACPI NVS */
		{
			.phys_start = 0x6d1ca000,
			.virt_start = 0x6d1ca000,
			.size = 0x206000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 12-14: remaining RAM below 2 GiB, end of memory padding */
		{
			.phys_start = 0x6d3d0000,
			.virt_start = 0x6d3d0000,
			.size = 0x481000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		{
			.phys_start = 0x6dfe2000,
			.virt_start = 0x6dfe2000,
			.size = 0x1e000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		{
			.phys_start = 0x6e000000,
			.virt_start = 0x6e000000,
			.size = 0x2000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 15-16: integrated graphics (00:01.0) BARs */
		{
			.phys_start = 0xc0000000,
			.virt_start = 0xc0000000,
			.size = 0x10000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xd0000000,
			.virt_start = 0xd0000000,
			.size = 0x800000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 17: Realtek NIC BAR behind its MSI-X page (0xd0800000) */
		{
			.phys_start = 0xd0801000,
			.virt_start = 0xd0801000,
			.size = 0x3000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 18: Realtek NIC registers */
		{
			.phys_start = 0xfea00000,
			.virt_start = 0xfea00000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 19-20: more integrated graphics BARs */
		{
			.phys_start = 0xfeb00000,
			.virt_start = 0xfeb00000,
			.size = 0x40000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb40000,
			.virt_start = 0xfeb40000,
			.size = 0x20000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 21-22: the two HD audio controllers */
		{
			.phys_start = 0xfeb60000,
			.virt_start = 0xfeb60000,
			.size = 0x4000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb64000,
			.virt_start = 0xfeb64000,
			.size = 0x4000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 23-24: xHCI controllers (MSI-X tables between them) */
		{
			.phys_start = 0xfeb68000,
			.virt_start = 0xfeb68000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb6a000,
			.virt_start = 0xfeb6a000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 25-29: OHCI/EHCI pairs, then one more OHCI */
		{
			.phys_start = 0xfeb6c000,
			.virt_start = 0xfeb6c000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb6d000,
			.virt_start = 0xfeb6d000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb6e000,
			.virt_start = 0xfeb6e000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb6f000,
			.virt_start = 0xfeb6f000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0xfeb70000,
			.virt_start = 0xfeb70000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 30: SATA AHCI */
		{
			.phys_start = 0xfeb71000,
			.virt_start = 0xfeb71000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 31: window of the IOMMU's MMIO range (see iommu_units) */
		{
			.phys_start = 0xfeb80000,
			.virt_start = 0xfeb80000,
			.size = 0x80000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 32: HPET */
		{
			.phys_start = 0xfed00000,
			.virt_start = 0xfed00000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 33: motherboard resource (PnP device) */
		{
			.phys_start = 0xfed61000,
			.virt_start = 0xfed61000,
			.size = 0x10000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 34: memory for non-root cells, inside the reservation */
		{
			.phys_start = 0x3f000000,
			.virt_start = 0x3f000000,
			.size = 0x200000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
	},

	.irqchips = {
		/* first IOAPIC: GSIs 0-23 */
		{
			.address = 0xfec00000,
			.id = 0x0,
			.pin_bitmap = {
				0xffffff
			},
		},
		/* second IOAPIC: GSIs 24-47 */
		{
			.address = 0xfec01000,
			.id = 0x0,
			.pin_bitmap = {
				0xffffff
			},
		},
	},

	/* Ports the root cell may touch; partly wider than strictly needed. */
	.pio_regions = {
		PIO_RANGE(0x20, 8),		/* PIC (and neighbours) */
		PIO_RANGE(0x40, 4),		/* PIT */
		PIO_RANGE(0x60, 2),		/* keyboard, NMI status/control */
		PIO_RANGE(0x64, 1),		/* keyboard controller */
		PIO_RANGE(0x70, 2),		/* RTC */
		PIO_RANGE(0x3b0, 0x30),		/* VGA */
		PIO_RANGE(0x3e0, 0x918),	/* PCI I/O space, coarse */
		PIO_RANGE(0xd00, 0xf300),	/* PCI I/O space, coarse */
	},

	.pci_devices = {
		{ /* 00:00.0 host bridge */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.domain = 0x0000,
			.bdf = 0x0000,
		},
		{ /* 00:01.0 integrated graphics */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0008,
			.caps_start = 0,
			.num_caps = 4,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
		},
		{ /* 00:01.1 graphics audio */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0009,
			.caps_start = 0,
			.num_caps = 4,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
		},
		{ /* 00:02.0 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0010,
		},
		{ /* 00:03.0 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0018,
		},
		{ /* 00:03.1 PCIe root port */
			.type = JAILHOUSE_PCI_TYPE_BRIDGE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0019,
			.caps_start = 4,
			.num_caps = 5,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
		},
		{ /* 00:04.0 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0020,
		},
		{ /* 00:10.0 xHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0080,
			.caps_start = 9,
			.num_caps = 4,
			.num_msi_vectors = 8,
			.msi_64bits = 1,
			.num_msix_vectors = 8,
			.msix_region_size = 0x1000,
			.msix_address = 0xfeb6b000,
		},
		{ /* 00:10.1 xHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0081,
			.caps_start = 9,
			.num_caps = 4,
			.num_msi_vectors = 8,
			.msi_64bits = 1,
			.num_msix_vectors = 8,
			.msix_region_size = 0x1000,
			.msix_address = 0xfeb69000,
		},
		{ /* 00:11.0 SATA */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0088,
			.caps_start = 13,
			.num_caps = 2,
			.num_msi_vectors = 8,
			.msi_64bits = 1,
		},
		{ /* 00:12.0 OHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0090,
		},
		{ /* 00:12.2 EHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0092,
			.caps_start = 15,
			.num_caps = 2,
		},
		{ /* 00:13.0 OHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0098,
		},
		{ /* 00:13.2 EHCI, same capability layout as 00:12.2 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x009a,
			.caps_start = 15,
			.num_caps = 2,
		},
		{ /* 00:14.0 SMBus */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00a0,
		},
		{ /* 00:14.2 HD audio */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00a2,
			.caps_start = 17,
			.num_caps = 1,
		},
		{ /* 00:14.3 LPC bridge */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00a3,
		},
		{ /* 00:14.4 PCI-to-PCI bridge */
			.type = JAILHOUSE_PCI_TYPE_BRIDGE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00a4,
		},
		{ /* 00:14.5 OHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00a5,
		},
		{ /* 00:18.0 northbridge function 0 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00c0,
		},
		{ /* 00:18.1 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00c1,
		},
		{ /* 00:18.2 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00c2,
		},
		{ /* 00:18.3 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00c3,
			.caps_start = 18,
			.num_caps = 1,
		},
		{ /* 00:18.4 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00c4,
		},
		{ /* 00:18.5 */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x00c5,
		},
		{ /* 01:00.0 Realtek gigabit NIC */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.iommu = 0,
			.domain = 0x0000,
			.bdf = 0x0100,
			.caps_start = 19,
			.num_caps = 5,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
			.num_msix_vectors = 4,
			.msix_region_size = 0x1000,
			.msix_address = 0xd0800000,
		},
	},

	.pci_caps = {
		/* 0-3: shared by 00:01.0 and 00:01.1 */
		{
			.id = PCI_CAP_ID_VNDR,
			.start = 0x48,
			.len = 2,
			.flags = 0,
		},
		{
			.id = PCI_CAP_ID_PM,
			.start = 0x50,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_EXP,
			.start = 0x58,
			.len = 2,
			.flags = 0,
		},
		{
			.id = PCI_CAP_ID_MSI,
			.start = 0xa0,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		/* 4-8: root port 00:03.1 */
		{
			.id = PCI_CAP_ID_PM,
			.start = 0x50,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_EXP,
			.start = 0x58,
			.len = 2,
			.flags = 0,
		},
		{
			.id = PCI_CAP_ID_MSI,
			.start = 0xa0,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_SSVID,
			.start = 0xb0,
			.len = 2,
			.flags = 0,
		},
		{
			.id = PCI_CAP_ID_HT,
			.start = 0xb8,
			.len = 2,
			.flags = 0,
		},
		/* 9-12: both xHCI functions */
		{
			.id = PCI_CAP_ID_PM,
			.start = 0x50,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_MSI,
			.start = 0x70,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_MSIX,
			.start = 0x90,
			.len = 12,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_EXP,
			.start = 0xa0,
			.len = 2,
			.flags = 0,
		},
		/* 13-14: SATA */
		{
			.id = PCI_CAP_ID_MSI,
			.start = 0x50,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_SATA,
			.start = 0x70,
			.len = 2,
			.flags = 0,
		},
		/* 15-16: both EHCI functions */
		{
			.id = PCI_CAP_ID_PM,
			.start = 0xc0,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_DBG,
			.start = 0xe4,
			.len = 2,
			.flags = 0,
		},
		/* 17: HD audio */
		{
			.id = PCI_CAP_ID_PM,
			.start = 0x50,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		/* 18: northbridge function 3 */
		{
			.id = PCI_CAP_ID_SECDEV,
			.start = 0xf0,
			.len = 2,
			.flags = 0,
		},
		/* 19-23: Realtek NIC */
		{
			.id = PCI_CAP_ID_PM,
			.start = 0x40,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_MSI,
			.start = 0x50,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_EXP,
			.start = 0x70,
			.len = 2,
			.flags = 0,
		},
		{
			.id = PCI_CAP_ID_MSIX,
			.start = 0xb0,
			.len = 12,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{
			.id = PCI_CAP_ID_VPD,
			.start = 0xd0,
			.len = 2,
			.flags = 0,
		},
	},
};
