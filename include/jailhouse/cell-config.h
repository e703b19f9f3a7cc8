/*
 * Jailhouse for Java - system and cell configuration layout, format
 * revision 14.
 *
 * A configuration source defines one packed variable named "config": a
 * struct jailhouse_system (root cell) or a struct jailhouse_cell_desc
 * (non-root cell), followed directly by the variable arrays the descriptor
 * counts, in this order: CPU bitmap, memory regions, cache regions, irqchips,
 * port I/O ranges, PCI devices, PCI capabilities, stream ids. Compiling the
 * source and copying out the bytes of "config" yields the binary .cell file,
 * so every structure here is packed and its size is pinned by an assertion
 * at the end of this file: a layout slip must fail the build, not produce a
 * file the hypervisor misreads.
 */

#ifndef _JAILHOUSE_CELL_CONFIG_H
#define _JAILHOUSE_CELL_CONFIG_H

#include <jailhouse/types.h>
#include <jailhouse/console.h>
#include <jailhouse/pci_defs.h>

/* Architecture byte following the signature */
#define JAILHOUSE_X86			0
#define JAILHOUSE_ARM			1
#define JAILHOUSE_ARM64			2

/* Bumped whenever the binary layout changes; loaders reject other values. */
#define JAILHOUSE_CONFIG_REVISION	14

/* Five characters without terminating NUL: they fill char signature[5]. */
#define JAILHOUSE_CELL_DESC_SIGNATURE	"JHCLL"
#define JAILHOUSE_SYSTEM_SIGNATURE	"JHSYS"

/* The name field holds this many characters plus the terminating NUL. */
#define JAILHOUSE_CELL_NAME_MAXLEN	31

/* Cell flags (jailhouse_cell_desc.flags) */
#define JAILHOUSE_CELL_PASSIVE_COMMREG		0x00000001
#define JAILHOUSE_CELL_TEST_DEVICE		0x00000002
#define JAILHOUSE_CELL_AARCH32			0x00000004
#define JAILHOUSE_CELL_VIRTUAL_CONSOLE_PERMITTED 0x40000000
/* Implies PERMITTED; the loader adds that bit when it creates the cell. */
#define JAILHOUSE_CELL_VIRTUAL_CONSOLE_ACTIVE	0x80000000

/* Memory region flags (jailhouse_memory.flags) */
#define JAILHOUSE_MEM_READ		0x0001
#define JAILHOUSE_MEM_WRITE		0x0002
#define JAILHOUSE_MEM_EXECUTE		0x0004
#define JAILHOUSE_MEM_DMA		0x0008
#define JAILHOUSE_MEM_IO		0x0010
#define JAILHOUSE_MEM_COMM_REGION	0x0020
#define JAILHOUSE_MEM_LOADABLE		0x0040
#define JAILHOUSE_MEM_ROOTSHARED	0x0080
#define JAILHOUSE_MEM_NO_HUGEPAGES	0x0100
/* Sub-page regions are trapped per access; these bits say what may pass. */
#define JAILHOUSE_MEM_IO_UNALIGNED	0x8000
#define JAILHOUSE_MEM_IO_WIDTH_SHIFT	16
#define JAILHOUSE_MEM_IO_8		(1 << JAILHOUSE_MEM_IO_WIDTH_SHIFT)
#define JAILHOUSE_MEM_IO_16		(2 << JAILHOUSE_MEM_IO_WIDTH_SHIFT)
#define JAILHOUSE_MEM_IO_32		(4 << JAILHOUSE_MEM_IO_WIDTH_SHIFT)
#define JAILHOUSE_MEM_IO_64		(8 << JAILHOUSE_MEM_IO_WIDTH_SHIFT)

/* Cache partitions (jailhouse_cache.type and .flags) */
#define JAILHOUSE_CACHE_L3_CODE		0x01
#define JAILHOUSE_CACHE_L3_DATA		0x02
#define JAILHOUSE_CACHE_L3		(JAILHOUSE_CACHE_L3_CODE | \
					 JAILHOUSE_CACHE_L3_DATA)
#define JAILHOUSE_CACHE_ROOTSHARED	0x0001

/* PCI device kinds (jailhouse_pci_device.type) */
#define JAILHOUSE_PCI_TYPE_DEVICE	0x01
#define JAILHOUSE_PCI_TYPE_BRIDGE	0x02
#define JAILHOUSE_PCI_TYPE_IVSHMEM	0x03

/*
 * ivshmem protocols (jailhouse_pci_device.shmem_protocol), reported to the
 * guest as PCI sub-class and programming interface. The virtio ones are a
 * base plus one of the VIRTIO_DEV_* numbers.
 */
#define JAILHOUSE_SHMEM_PROTO_UNDEFINED		0x0000
#define JAILHOUSE_SHMEM_PROTO_VETH		0x0001
#define JAILHOUSE_SHMEM_PROTO_CUSTOM		0x4000	/* up to 0x7fff */
#define JAILHOUSE_SHMEM_PROTO_VIRTIO_FRONT	0x8000
#define JAILHOUSE_SHMEM_PROTO_VIRTIO_BACK	0xc000

/*
 * This project's extension: in a JAILHOUSE_PCI_TYPE_DEVICE entry, whose
 * shmem_protocol field upstream leaves unused, the device to emulate instead
 * of passing a physical one through (the value is its PCI device id).
 */
#define JAILHOUSE_PCI_EMULATE_INTEL_HDA		0x2668

#define VIRTIO_DEV_NET			1
#define VIRTIO_DEV_BLOCK		2
#define VIRTIO_DEV_CONSOLE		3

/* BAR masks of an ivshmem device: 4K or 64K register BAR, with or without
 * the MSI-X BAR. */
#define JAILHOUSE_IVSHMEM_BAR_MASK_INTX			\
	{						\
		0xfffff000, 0x00000000, 0x00000000,	\
		0x00000000, 0x00000000, 0x00000000,	\
	}
#define JAILHOUSE_IVSHMEM_BAR_MASK_MSIX			\
	{						\
		0xfffff000, 0xfffff000, 0x00000000,	\
		0x00000000, 0x00000000, 0x00000000,	\
	}
#define JAILHOUSE_IVSHMEM_BAR_MASK_INTX_64K		\
	{						\
		0xffff0000, 0x00000000, 0x00000000,	\
		0x00000000, 0x00000000, 0x00000000,	\
	}
#define JAILHOUSE_IVSHMEM_BAR_MASK_MSIX_64K		\
	{						\
		0xffff0000, 0xffff0000, 0x00000000,	\
		0x00000000, 0x00000000, 0x00000000,	\
	}

/* Marks an extended (config offset >= 0x100) capability id. */
#define JAILHOUSE_PCI_EXT_CAP		0x8000
/* jailhouse_pci_capability.flags: the cell may write the capability. */
#define JAILHOUSE_PCICAPS_WRITE		0x0001

/* x86 APIC mode (platform_info.x86.apic_mode) */
#define JAILHOUSE_APIC_MODE_AUTO	0
#define JAILHOUSE_APIC_MODE_XAPIC	1
#define JAILHOUSE_APIC_MODE_X2APIC	2

/* IOMMU kinds (jailhouse_iommu.type); 0 marks an unused slot. */
#define JAILHOUSE_MAX_IOMMU_UNITS	8

#define JAILHOUSE_IOMMU_AMD		1
#define JAILHOUSE_IOMMU_INTEL		2
#define JAILHOUSE_IOMMU_SMMUV3		3
#define JAILHOUSE_IOMMU_PVU		4
#define JAILHOUSE_IOMMU_ARM_MMU500	5

/* System flags (jailhouse_system.flags) */
#define JAILHOUSE_SYS_VIRTUAL_DEBUG_CONSOLE	0x0001

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* A port I/O range initialiser: ports [base, base + length) are granted. */
#define PIO_RANGE(__base, __length)	\
	{				\
		.base = __base,		\
		.length = __length,	\
	}

/*
 * The four memory regions of an ivshmem virtual network link between two
 * peers inside a 1 MiB window at "start" (guest and host address equal):
 * the read-only state table, an empty read/write section, and one output
 * section per peer, of which only the own one (peer "dev_id") is writable.
 */
#define JAILHOUSE_SHMEM_NET_REGIONS(start, dev_id)			\
	{								\
		.phys_start = (start),					\
		.virt_start = (start),					\
		.size = 0x1000,						\
		.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_ROOTSHARED,	\
	},								\
	{ 0 },								\
	{								\
		.phys_start = (start) + 0x1000,				\
		.virt_start = (start) + 0x1000,				\
		.size = 0x7f000,					\
		.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_ROOTSHARED |	\
			((dev_id) == 0 ? JAILHOUSE_MEM_WRITE : 0),	\
	},								\
	{								\
		.phys_start = (start) + 0x80000,			\
		.virt_start = (start) + 0x80000,			\
		.size = 0x7f000,					\
		.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_ROOTSHARED |	\
			((dev_id) == 1 ? JAILHOUSE_MEM_WRITE : 0),	\
	}

#ifndef __ASSEMBLY__

/* Cell descriptor: a non-root cell file starts with it, and the system
 * descriptor ends with the root cell's. */
struct jailhouse_cell_desc {
	char signature[5];		/* JAILHOUSE_CELL_DESC_SIGNATURE */
	__u8 architecture;		/* JAILHOUSE_X86, ... */
	__u16 revision;			/* JAILHOUSE_CONFIG_REVISION */

	char name[JAILHOUSE_CELL_NAME_MAXLEN + 1];
	__u32 id;			/* replaced by the runtime cell id */
	__u32 flags;			/* JAILHOUSE_CELL_* */

	/* Sizes of the arrays following the descriptor */
	__u32 cpu_set_size;		/* bytes */
	__u32 num_memory_regions;
	__u32 num_cache_regions;
	__u32 num_irqchips;
	__u32 num_pio_regions;
	__u32 num_pci_devices;
	__u32 num_pci_caps;
	__u32 num_stream_ids;

	__u32 vpci_irq_base;		/* ARM: first SPI of virtual PCI INTx */

	__u64 cpu_reset_address;	/* where every cell CPU starts */
	__u64 msg_reply_timeout;	/* comm region polls; 0 = no limit */

	struct jailhouse_console console;
} __attribute__((packed));

/* A guest-physical window (virt_start) onto host memory (phys_start). */
struct jailhouse_memory {
	__u64 phys_start;
	__u64 virt_start;
	__u64 size;
	__u64 flags;			/* JAILHOUSE_MEM_* */
} __attribute__((packed));

/* A slice of the last-level cache: bits [start, start + size) of the
 * capacity mask on x86 CAT. */
struct jailhouse_cache {
	__u32 start;
	__u32 size;
	__u8 type;			/* JAILHOUSE_CACHE_L3* */
	__u8 padding;
	__u16 flags;			/* JAILHOUSE_CACHE_ROOTSHARED */
} __attribute__((packed));

/* An interrupt controller and the input pins the cell owns of it. */
struct jailhouse_irqchip {
	__u64 address;
	__u32 id;			/* x86: IOMMU index << 16 | source BDF */
	__u32 pin_base;
	__u32 pin_bitmap[4];		/* 128 pins, bit n = pin_base + n */
} __attribute__((packed));

/* A whitelisted range of I/O ports. */
struct jailhouse_pio {
	__u16 base;
	__u16 length;
} __attribute__((packed));

/* A PCI function handed to the cell, or an emulated ivshmem endpoint. */
struct jailhouse_pci_device {
	__u8 type;			/* JAILHOUSE_PCI_TYPE_* */
	__u8 iommu;			/* index into platform_info.iommu_units */
	__u16 domain;
	__u16 bdf;			/* bus << 8 | device << 3 | function */
	__u32 bar_mask[6];		/* writable bits of each BAR */
	__u16 caps_start;		/* first entry in the pci_caps array */
	__u16 num_caps;
	__u8 num_msi_vectors;
	__u8 msi_64bits:1;
	__u8 msi_maskable:1;
	__u16 num_msix_vectors;
	__u16 msix_region_size;
	__u64 msix_address;
	/* ivshmem only: */
	__u32 shmem_regions_start;	/* index of its first memory region */
	__u8 shmem_dev_id;		/* this peer, 0 .. shmem_peers - 1 */
	__u8 shmem_peers;
	__u16 shmem_protocol;		/* JAILHOUSE_SHMEM_PROTO_* */
} __attribute__((packed));

/* A capability (or plain register window when id is 0) of a PCI device. */
struct jailhouse_pci_capability {
	__u16 id;			/* PCI_CAP_ID_*, or with JAILHOUSE_PCI_EXT_CAP */
	__u16 start;			/* offset in config space */
	__u16 len;
	__u16 flags;			/* JAILHOUSE_PCICAPS_WRITE */
} __attribute__((packed));

/* An IOMMU of the platform; the trailing union depends on its type. */
struct jailhouse_iommu {
	__u32 type;			/* JAILHOUSE_IOMMU_*, 0 = unused */
	__u64 base;
	__u32 size;

	union {
		struct {
			__u16 bdf;
			__u8 base_cap;
			__u8 msi_cap;
			__u32 features;
		} __attribute__((packed)) amd;

		struct {
			__u64 tlb_base;
			__u32 tlb_size;
		} __attribute__((packed)) tipvu;
	};
} __attribute__((packed));

/* An SMMU stream id, or an MMU-500 id/mask pair. */
union jailhouse_stream_id {
	__u32 id;
	struct {
		__u16 id;
		__u16 mask_out;
	} __attribute__((packed)) mmu500;
} __attribute__((packed));

/* System descriptor: the hypervisor's own settings plus the root cell. */
struct jailhouse_system {
	char signature[5];		/* JAILHOUSE_SYSTEM_SIGNATURE */
	__u8 architecture;		/* JAILHOUSE_X86, ... */
	__u16 revision;			/* JAILHOUSE_CONFIG_REVISION */

	__u32 flags;			/* JAILHOUSE_SYS_* */

	/* Reserved memory the hypervisor runs from (phys_start and size). */
	struct jailhouse_memory hypervisor_memory;
	struct jailhouse_console debug_console;

	struct {
		__u64 pci_mmconfig_base;	/* 0 = no MMCONFIG */
		__u8 pci_mmconfig_end_bus;
		__u8 pci_is_virtual;
		__u16 pci_domain;
		struct jailhouse_iommu iommu_units[JAILHOUSE_MAX_IOMMU_UNITS];
		union {
			struct {
				__u16 pm_timer_address;
				__u8 apic_mode;	/* JAILHOUSE_APIC_MODE_* */
				__u8 padding;
				__u32 vtd_interrupt_limit;
				__u32 tsc_khz;	/* 0 = calibrate at enable */
				__u32 apic_khz;	/* 0 = calibrate at enable */
			} __attribute__((packed)) x86;

			struct {
				__u8 maintenance_irq;
				__u8 gic_version;
				__u8 padding[2];
				__u64 gicd_base;
				__u64 gicc_base;
				__u64 gich_base;
				__u64 gicv_base;
				__u64 gicr_base;
			} __attribute__((packed)) arm;
		} __attribute__((packed));
	} __attribute__((packed)) platform_info;

	/* Signature, architecture and revision in here are not checked. */
	struct jailhouse_cell_desc root_cell;
} __attribute__((packed));

/*
 * The binary format is defined by these numbers (format revision 14); they
 * must hold for any compiler that builds configurations.
 */
_Static_assert(sizeof(struct jailhouse_cell_desc) == 132,
	       "struct jailhouse_cell_desc must be 132 bytes");
_Static_assert(sizeof(struct jailhouse_memory) == 32,
	       "struct jailhouse_memory must be 32 bytes");
_Static_assert(sizeof(struct jailhouse_cache) == 12,
	       "struct jailhouse_cache must be 12 bytes");
_Static_assert(sizeof(struct jailhouse_irqchip) == 32,
	       "struct jailhouse_irqchip must be 32 bytes");
_Static_assert(sizeof(struct jailhouse_pio) == 4,
	       "struct jailhouse_pio must be 4 bytes");
_Static_assert(sizeof(struct jailhouse_pci_device) == 56,
	       "struct jailhouse_pci_device must be 56 bytes");
_Static_assert(sizeof(struct jailhouse_pci_capability) == 8,
	       "struct jailhouse_pci_capability must be 8 bytes");
_Static_assert(sizeof(struct jailhouse_iommu) == 28,
	       "struct jailhouse_iommu must be 28 bytes");
_Static_assert(sizeof(union jailhouse_stream_id) == 4,
	       "union jailhouse_stream_id must be 4 bytes");
_Static_assert(sizeof(struct jailhouse_system) == 488,
	       "struct jailhouse_system must be 488 bytes");

/* Offsets where a packing mistake would not change the total size. */
_Static_assert(__builtin_offsetof(struct jailhouse_pci_device,
				  num_msix_vectors) == 36,
	       "the MSI bit-fields must share the byte at offset 35");
_Static_assert(__builtin_offsetof(struct jailhouse_system,
				  platform_info.x86) == 312,
	       "platform_info's architecture union must start at 312");
_Static_assert(__builtin_offsetof(struct jailhouse_system, root_cell) == 356,
	       "the root cell descriptor must start at 356");

#endif /* !__ASSEMBLY__ */

#endif /* !_JAILHOUSE_CELL_CONFIG_H */
