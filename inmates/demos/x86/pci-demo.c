/*
 * Jailhouse for Java - pci-demo (spec 5.5, walkthrough steps 8-9).
 *
 * Takes the first PCI device the cell can see (any vendor; in
 * pci-demo.cell the HD Audio controller 00:1b.0), maps its memory BAR 0,
 * routes its MSI to vector 32 on this CPU, enables memory decoding and
 * bus mastering, then resets the controller. Coming out of reset the
 * codec reports itself in STATESTS; with wake events and interrupts
 * enabled that raises the MSI, and the handler prints and acknowledges it.
 *
 * Console: the second serial port (0x2f8) unless the command line says
 * otherwise ("con-base=..." etc.). The 2016 walkthrough loads this demo
 * without any command line and finds its output there; today's upstream
 * README passes -s "con-base=0x2f8" -a 0x1000, which lands on the same
 * port.
 *
 * Interrupts stay off except while waiting in "sti; hlt" (the handler
 * prints; see inmates/README.md).
 */

#include <inmate.h>

#define SECOND_SERIAL_PORT	0x2f8
#define MSI_VECTOR		32

/* HD Audio controller registers (offsets into BAR 0) */
#define HDA_GCTL		0x08	/* 32 bit, bit 0: CRST (1 = running) */
#define  HDA_GCTL_CRST		(1 << 0)
#define HDA_WAKEEN		0x0c	/* 16 bit, one bit per codec SDIN */
#define HDA_STATESTS		0x0e	/* 16 bit, write 1 to clear */
#define HDA_INTCTL		0x20	/* 32 bit */
#define  HDA_INTCTL_GIE		(1U << 31)	/* global enable */
#define  HDA_INTCTL_CIE		(1U << 30)	/* controller (STATESTS) */

#define HDA_WAKEEN_SDIN0_3	0x000f
#define HDA_RESET_US		7000

static void *hdbar;

static void irq_handler(unsigned int vector)
{
	u16 statests;

	if (vector != MSI_VECTOR)
		return;
	statests = mmio_read16(hdbar + HDA_STATESTS);
	printk("HDA MSI received (STATESTS: %04x)\n", statests);
	/* acknowledge: the set bits are write-1-to-clear */
	mmio_write16(hdbar + HDA_STATESTS, statests);
}

void inmate_main(void)
{
	u64 bar;
	int bdf;

	printk_set_default_pio_base(SECOND_SERIAL_PORT);
	irq_init(irq_handler);

	bdf = pci_find_device(PCI_ID_ANY, PCI_ID_ANY, 0);
	if (bdf < 0) {
		printk("No device found!\n");
		return;
	}
	/* the function masked with 3, not 7: what upstream prints */
	printk("Found %04x:%04x at %02x:%02x.%x\n",
	       pci_read_config(bdf, PCI_CFG_VENDOR_ID, 2),
	       pci_read_config(bdf, PCI_CFG_DEVICE_ID, 2),
	       bdf >> 8, (bdf >> 3) & 0x1f, bdf & 0x3);

	bar = pci_read_config(bdf, PCI_CFG_BAR, 4);
	if ((bar & 0x6) == PCI_BAR_64BIT)
		bar |= (u64)pci_read_config(bdf, PCI_CFG_BAR + 4, 4) << 32;
	hdbar = (void *)(unsigned long)(bar & ~0xfULL);
	map_range(hdbar, PAGE_SIZE, MAP_UNCACHED);
	printk("HDBAR at %p\n", hdbar);

	pci_msi_set_vector(bdf, MSI_VECTOR);
	pci_write_config(bdf, PCI_CFG_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);

	/* drop stale codec status, then reset the controller */
	mmio_write16(hdbar + HDA_STATESTS, mmio_read16(hdbar + HDA_STATESTS));
	mmio_write32(hdbar + HDA_GCTL, 0);
	delay_us(HDA_RESET_US);
	mmio_write32(hdbar + HDA_GCTL, HDA_GCTL_CRST);

	mmio_write16(hdbar + HDA_WAKEEN, HDA_WAKEEN_SDIN0_3);
	mmio_write32(hdbar + HDA_INTCTL, HDA_INTCTL_GIE | HDA_INTCTL_CIE);

	for (;;)
		asm volatile("sti; hlt; cli" : : : "memory");
}
