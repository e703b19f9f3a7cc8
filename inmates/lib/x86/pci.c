/*
 * Jailhouse for Java - x86 inmate library: PCI configuration space via
 * ports 0xcf8/0xcfc, device and capability lookup, MSI and MSI-X set-up
 * (spec 5.4).
 */

#include <inmate.h>

#define PCI_REG_ADDR_PORT	0xcf8
#define PCI_REG_DATA_PORT	0xcfc
#define PCI_CONE		(1U << 31)

#define MSI_ADDRESS_BASE	0xfee00000

void pci_init(void)
{
	/* Port I/O needs no set-up. */
}

static void pci_select(u16 bdf, unsigned int addr)
{
	outl(PCI_CONE | ((u32)bdf << 8) | (addr & 0xfc), PCI_REG_ADDR_PORT);
}

u32 pci_read_config(u16 bdf, unsigned int addr, unsigned int size)
{
	pci_select(bdf, addr);
	switch (size) {
	case 1:
		return inb(PCI_REG_DATA_PORT + (addr & 0x3));
	case 2:
		return inw(PCI_REG_DATA_PORT + (addr & 0x3));
	case 4:
		return inl(PCI_REG_DATA_PORT);
	default:
		return -1;
	}
}

void pci_write_config(u16 bdf, unsigned int addr, u32 value,
		      unsigned int size)
{
	pci_select(bdf, addr);
	switch (size) {
	case 1:
		outb(value, PCI_REG_DATA_PORT + (addr & 0x3));
		break;
	case 2:
		outw(value, PCI_REG_DATA_PORT + (addr & 0x3));
		break;
	case 4:
		outl(value, PCI_REG_DATA_PORT);
		break;
	}
}

int pci_find_device(u16 vendor, u16 device, u16 start_bdf)
{
	unsigned int bdf;
	u16 id;

	for (bdf = start_bdf; bdf < 0x10000; bdf++) {
		id = pci_read_config(bdf, PCI_CFG_VENDOR_ID, 2);
		if (id == PCI_ID_ANY || (vendor != PCI_ID_ANY && vendor != id))
			continue;
		if (device == PCI_ID_ANY ||
		    pci_read_config(bdf, PCI_CFG_DEVICE_ID, 2) == device)
			return bdf;
	}
	return -1;
}

int pci_find_cap(u16 bdf, u16 cap)
{
	u8 pos = PCI_CFG_CAP_PTR - 1;
	unsigned int guard = 48;	/* stops on looping capability lists */

	if (!(pci_read_config(bdf, PCI_CFG_STATUS, 2) & PCI_STS_CAPS))
		return -1;

	while (guard--) {
		pos = pci_read_config(bdf, pos + 1, 1);
		if (pos == 0)
			return -1;
		if (pci_read_config(bdf, pos, 1) == cap)
			return pos;
	}
	return -1;
}

void pci_msi_set_vector(u16 bdf, unsigned int vector)
{
	int cap = pci_find_cap(bdf, PCI_CAP_MSI);
	u16 ctrl;
	int data;

	if (cap < 0)
		return;

	ctrl = pci_read_config(bdf, cap + 2, 2);
	pci_write_config(bdf, cap + 4, MSI_ADDRESS_BASE | (cpu_id() << 12), 4);
	if (ctrl & (1 << 7)) {		/* 64-bit address capable */
		pci_write_config(bdf, cap + 8, 0, 4);
		data = cap + 12;
	} else {
		data = cap + 8;
	}
	pci_write_config(bdf, data, vector, 2);
	pci_write_config(bdf, cap + 2, ctrl | 1, 2);
}

/* The MSI-X table's BAR must already be mapped (map_range). */
void pci_msix_set_vector(u16 bdf, unsigned int vector, u32 index)
{
	int cap = pci_find_cap(bdf, PCI_CAP_MSIX);
	unsigned int bar_reg;
	u32 table, bar_low;
	u64 entry;
	u16 ctrl;

	if (cap < 0)
		return;
	ctrl = pci_read_config(bdf, cap + 2, 2);
	if (index > (ctrl & 0x7ffU))	/* table size is N - 1 */
		return;

	table = pci_read_config(bdf, cap + 4, 4);
	bar_reg = PCI_CFG_BAR + (table & 0x7) * 4;
	bar_low = pci_read_config(bdf, bar_reg, 4);
	entry = bar_low & ~0xfULL;
	if ((bar_low & 0x6) == PCI_BAR_64BIT)
		entry |= (u64)pci_read_config(bdf, bar_reg + 4, 4) << 32;
	entry += (table & ~0x7U) + 16ULL * index;

	pci_write_config(bdf, cap + 2, ctrl | MSIX_CTRL_ENABLE |
			 MSIX_CTRL_FMASK, 2);
	mmio_write32((void *)entry, MSI_ADDRESS_BASE | (cpu_id() << 12));
	mmio_write32((void *)(entry + 4), 0);
	mmio_write32((void *)(entry + 8), vector);
	mmio_write32((void *)(entry + 12), 0);	/* unmask the vector */
	pci_write_config(bdf, cap + 2, (ctrl | MSIX_CTRL_ENABLE) &
			 ~MSIX_CTRL_FMASK, 2);
}
