/*
 * Root cell (system) configuration for a QEMU/KVM x86 guest with 4 CPUs and
 * 1 GiB of RAM, of which 0x3a000000.. is reserved for the hypervisor and the
 * non-root cells ("memmap=0x5200000$0x3a000000" on the kernel command line).
 *
 * Written for Jailhouse for Java's tests from the published description of
 * upstream's configs/x86/qemu-x86.c.
 */

#include <jailhouse/types.h>
#include <jailhouse/cell-config.h>

struct {
	struct jailhouse_system header;
	__u64 cpus[1];
	struct jailhouse_memory mem_regions[31];
	struct jailhouse_irqchip irqchips[1];
	struct jailhouse_pio pio_regions[13];
	struct jailhouse_pci_device pci_devices[12];
	struct jailhouse_pci_capability pci_caps[16];
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
			.pci_mmconfig_base = 0xb0000000,
			.pci_mmconfig_end_bus = 0xff,
			.iommu_units = {
				{
					.type = JAILHOUSE_IOMMU_INTEL,
					.base = 0xfed90000,
					.size = 0x1000,
				},
			},
			.x86 = {
				.pm_timer_address = 0x608,
				.vtd_interrupt_limit = 256,
			},
		},
		.root_cell = {
			.name = "QEMU-VM",

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
		/* 0-3: ivshmem 01:0c.0, virtio-blk back-end (peer 0) */
		{
			.phys_start = 0x3f000000,
			.virt_start = 0x3f000000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ,
		},
		{
			.phys_start = 0x3f001000,
			.virt_start = 0x3f001000,
			.size = 0xdf000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{ 0 },
		{ 0 },
		/* 4-7: ivshmem 01:0d.0, virtio-console back-end (peer 0) */
		{
			.phys_start = 0x3f0e0000,
			.virt_start = 0x3f0e0000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ,
		},
		{
			.phys_start = 0x3f0e1000,
			.virt_start = 0x3f0e1000,
			.size = 0xf000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{ 0 },
		{ 0 },
		/* 8-12: ivshmem 01:0e.0, demo device with 3 peers (peer 0) */
		{
			.phys_start = 0x3f0f0000,
			.virt_start = 0x3f0f0000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ,
		},
		{
			.phys_start = 0x3f0f1000,
			.virt_start = 0x3f0f1000,
			.size = 0x9000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0x3f0fa000,
			.virt_start = 0x3f0fa000,
			.size = 0x2000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		{
			.phys_start = 0x3f0fc000,
			.virt_start = 0x3f0fc000,
			.size = 0x2000,
			.flags = JAILHOUSE_MEM_READ,
		},
		{
			.phys_start = 0x3f0fe000,
			.virt_start = 0x3f0fe000,
			.size = 0x2000,
			.flags = JAILHOUSE_MEM_READ,
		},
		/* 13-16: ivshmem 01:0f.0, virtual network (peer 0) */
		JAILHOUSE_SHMEM_NET_REGIONS(0x3f100000, 0),
		/* 17: RAM below the reservation */
		{
			.phys_start = 0x0,
			.virt_start = 0x0,
			.size = 0x3a000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 18: RAM handed to non-root cells, usable while they are off */
		{
			.phys_start = 0x3a600000,
			.virt_start = 0x3a600000,
			.size = 0x4a00000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 19: RAM above the shared-memory windows */
		{
			.phys_start = 0x3f200000,
			.virt_start = 0x3f200000,
			.size = 0xddf000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE |
				JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA,
		},
		/* 20: ACPI tables */
		{
			.phys_start = 0x3ffdf000,
			.virt_start = 0x3ffdf000,
			.size = 0x21000,
			.flags = JAILHOUSE_MEM_READ,
		},
		/* 21: VGA framebuffer */
		{
			.phys_start = 0xfd000000,
			.virt_start = 0xfd000000,
			.size = 0x1000000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 22: virtio-9p BAR (64-bit, prefetchable) */
		{
			.phys_start = 0xfe200000,
			.virt_start = 0xfe200000,
			.size = 0x4000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 23: e1000e expansion ROM window */
		{
			.phys_start = 0xfea00000,
			.virt_start = 0xfea00000,
			.size = 0x40000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 24: e1000e BAR0 */
		{
			.phys_start = 0xfea40000,
			.virt_start = 0xfea40000,
			.size = 0x20000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 25: e1000e BAR1 */
		{
			.phys_start = 0xfea60000,
			.virt_start = 0xfea60000,
			.size = 0x20000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 26: e1000e BAR3 behind its MSI-X table (0xfea90000, emulated) */
		{
			.phys_start = 0xfea91000,
			.virt_start = 0xfea91000,
			.size = 0x3000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 27: VGA MMIO */
		{
			.phys_start = 0xfea94000,
			.virt_start = 0xfea94000,
			.size = 0x4000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 28: HD audio */
		{
			.phys_start = 0xfea98000,
			.virt_start = 0xfea98000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 29: AHCI */
		{
			.phys_start = 0xfea9a000,
			.virt_start = 0xfea9a000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
		/* 30: HPET */
		{
			.phys_start = 0xfed00000,
			.virt_start = 0xfed00000,
			.size = 0x1000,
			.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,
		},
	},

	.irqchips = {
		/* IOAPIC behind IOMMU 0, source 0xff:0.0, all 24 pins */
		{
			.address = 0xfec00000,
			.id = 0xff00,
			.pin_bitmap = {
				0xffffff
			},
		},
	},

	/* Legacy devices the root keeps; COM1 (0x3f8) is the hypervisor's. */
	.pio_regions = {
		PIO_RANGE(0x0, 0x1f),		/* legacy DMA, PIC */
		PIO_RANGE(0x40, 4),		/* PIT */
		PIO_RANGE(0x60, 2),		/* keyboard controller */
		PIO_RANGE(0x64, 1),		/* keyboard controller */
		PIO_RANGE(0x70, 2),		/* RTC */
		PIO_RANGE(0x1ce, 3),		/* Bochs VBE */
		PIO_RANGE(0x2f8, 8),		/* COM2 */
		PIO_RANGE(0x3b0, 0x30),		/* VGA */
		PIO_RANGE(0x3f0, 8),		/* floppy */
		PIO_RANGE(0x402, 1),		/* firmware debug port */
		PIO_RANGE(0xcd0, 8),		/* ACPI, PM timer block */
		PIO_RANGE(0x5658, 4),		/* VMware backdoor */
		PIO_RANGE(0xd000, 0xff),	/* PCI I/O BARs */
	},

	.pci_devices = {
		{ /* 00:01.0 VGA */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x0008,
		},
		{ /* 00:02.0 e1000e NIC */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x0010,
			.bar_mask = {
				0xfffe0000, 0xfffe0000, 0xffffffe0,
				0xffffc000, 0x00000000, 0x00000000,
			},
			.caps_start = 5,
			.num_caps = 6,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
			.num_msix_vectors = 5,
			.msix_region_size = 0x1000,
			.msix_address = 0xfea90000,
		},
		{ /* 00:03.0 PCIe-to-PCI bridge */
			.type = JAILHOUSE_PCI_TYPE_BRIDGE,
			.bdf = 0x0018,
			.bar_mask = {
				0xffffff00, 0x00000000, 0x00000000,
				0x00000000, 0x00000000, 0x00000000,
			},
			.caps_start = 11,
			.num_caps = 5,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
			.msi_maskable = 1,
		},
		{ /* 00:1b.0 HD audio (MSI, and a register window below 0x50) */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x00d8,
			.num_caps = 2,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
		},
		{ /* 00:1f.0 LPC/ISA bridge */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x00f8,
		},
		{ /* 00:1f.2 AHCI */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x00fa,
			.caps_start = 2,
			.num_caps = 2,
			.num_msi_vectors = 1,
			.msi_64bits = 1,
		},
		{ /* 00:1f.3 SMBus */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x00fb,
		},
		{ /* 00:1f.7 virtio-9p */
			.type = JAILHOUSE_PCI_TYPE_DEVICE,
			.bdf = 0x00ff,
			.bar_mask = {
				0xffffffe0, 0xfffff000, 0x00000000,
				0x00000000, 0xffffc000, 0xffffffff,
			},
			.caps_start = 4,
			.num_caps = 1,
			.num_msix_vectors = 2,
			.msix_region_size = 0x1000,
			.msix_address = 0xfea9b000,
		},
		{ /* ivshmem 01:0c.0 */
			.type = JAILHOUSE_PCI_TYPE_IVSHMEM,
			.bdf = 0x0160,
			.bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX,
			.num_msix_vectors = 2,
			.shmem_regions_start = 0,
			.shmem_dev_id = 0,
			.shmem_peers = 2,
			.shmem_protocol = JAILHOUSE_SHMEM_PROTO_VIRTIO_BACK +
				VIRTIO_DEV_BLOCK,
		},
		{ /* ivshmem 01:0d.0 */
			.type = JAILHOUSE_PCI_TYPE_IVSHMEM,
			.bdf = 0x0168,
			.bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX,
			.num_msix_vectors = 3,
			.shmem_regions_start = 4,
			.shmem_dev_id = 0,
			.shmem_peers = 2,
			.shmem_protocol = JAILHOUSE_SHMEM_PROTO_VIRTIO_BACK +
				VIRTIO_DEV_CONSOLE,
		},
		{ /* ivshmem 01:0e.0 */
			.type = JAILHOUSE_PCI_TYPE_IVSHMEM,
			.bdf = 0x0170,
			.bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX,
			.num_msix_vectors = 16,
			.shmem_regions_start = 8,
			.shmem_dev_id = 0,
			.shmem_peers = 3,
			.shmem_protocol = JAILHOUSE_SHMEM_PROTO_UNDEFINED,
		},
		{ /* ivshmem 01:0f.0 */
			.type = JAILHOUSE_PCI_TYPE_IVSHMEM,
			.bdf = 0x0178,
			.bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_MSIX,
			.num_msix_vectors = 2,
			.shmem_regions_start = 13,
			.shmem_dev_id = 0,
			.shmem_peers = 2,
			.shmem_protocol = JAILHOUSE_SHMEM_PROTO_VETH,
		},
	},

	.pci_caps = {
		{ /* 00:1b.0 HD audio (MSI, and a register window below 0x50) */
			.id = PCI_CAP_ID_MSI,
			.start = 0x60,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:1b.0 HD audio (MSI, and a register window below 0x50) */
			.id = 0x0,
			.start = 0x40,
			.len = 16,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:1f.2 AHCI */
			.id = PCI_CAP_ID_SATA,
			.start = 0xa8,
			.len = 2,
		},
		{ /* 00:1f.2 AHCI */
			.id = PCI_CAP_ID_MSI,
			.start = 0x80,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:1f.7 virtio-9p */
			.id = PCI_CAP_ID_MSIX,
			.start = 0x98,
			.len = 12,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:02.0 e1000e NIC */
			.id = PCI_CAP_ID_PM,
			.start = 0xc8,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:02.0 e1000e NIC */
			.id = PCI_CAP_ID_MSI,
			.start = 0xd0,
			.len = 14,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:02.0 e1000e NIC */
			.id = PCI_CAP_ID_EXP,
			.start = 0xe0,
			.len = 20,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:02.0 e1000e NIC */
			.id = PCI_CAP_ID_MSIX,
			.start = 0xa0,
			.len = 12,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:02.0 e1000e NIC */
			.id = PCI_EXT_CAP_ID_ERR | JAILHOUSE_PCI_EXT_CAP,
			.start = 0x100,
			.len = 4,
		},
		{ /* 00:02.0 e1000e NIC */
			.id = PCI_EXT_CAP_ID_DSN | JAILHOUSE_PCI_EXT_CAP,
			.start = 0x140,
			.len = 4,
		},
		{ /* 00:03.0 PCIe-to-PCI bridge */
			.id = PCI_CAP_ID_MSI,
			.start = 0x8c,
			.len = 24,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:03.0 PCIe-to-PCI bridge */
			.id = PCI_CAP_ID_PM,
			.start = 0x84,
			.len = 8,
			.flags = JAILHOUSE_PCICAPS_WRITE,
		},
		{ /* 00:03.0 PCIe-to-PCI bridge */
			.id = PCI_CAP_ID_EXP,
			.start = 0x48,
			.len = 60,
		},
		{ /* 00:03.0 PCIe-to-PCI bridge */
			.id = PCI_CAP_ID_SHPC,
			.start = 0x40,
			.len = 2,
		},
		{ /* 00:03.0 PCIe-to-PCI bridge */
			.id = PCI_EXT_CAP_ID_ERR | JAILHOUSE_PCI_EXT_CAP,
			.start = 0x100,
			.len = 64,
		},
	},
};
