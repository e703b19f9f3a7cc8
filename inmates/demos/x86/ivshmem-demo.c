/*
 * Jailhouse for Java - ivshmem-demo (spec 6.6).
 *
 * Talks to the other peers of an ivshmem v2 link (device 110a:4106 with
 * the "undefined" protocol): programs and maps the register and MSI-X
 * BARs, reads its peer ID and the shared memory layout from the vendor
 * capability, announces itself in the state table (STATE = ID + 1), and
 * then rings the doorbell of one peer once per period. Every interrupt
 * received is counted per vector and published in the R/W section (own
 * slot) and in the own output section (10 x the count), followed by a
 * dump of what the peers published.
 *
 * Command line:
 *   irq_base=N   first interrupt vector (default 32); 4 vectors with
 *                MSI-X, else 1
 *   target=N     peer to ring (default ID + 1, or 0 if ID >= max. peers)
 *   vector=N     vector to ring (default ID + 1, 0 without MSI-X); the
 *                target publishes its count when N is the target's ID
 *                                                           [test option]
 *   period=MS    doorbell period in ms (default 1000)       [test option]
 *   count=N      stop after N doorbells: one more period of listening,
 *                then a summary line and halt (default 0: forever)
 *                                                           [test option]
 *
 * Interrupts stay off except while waiting in "sti; hlt" (the handler
 * prints; see inmates/README.md). The wait uses the APIC timer
 * (TSC-deadline) on a vector outside irq_base..irq_base+3.
 */

#include <inmate.h>

#define IVSHMEM_VENDOR_ID	0x110a
#define IVSHMEM_DEVICE_ID	0x4106
/* class 0xff (other), protocol 0x0000 (undefined), revision 0 */
#define IVSHMEM_CLASS_REV	0xff000000

#define REGS_BASE		0xff000000UL	/* BAR 0: registers */
#define MSIX_BASE		(REGS_BASE + PAGE_SIZE)	/* BAR 1: MSI-X */

/* vendor capability: offsets from its start */
#define VCAP_STATE_TABLE_SIZE	0x04	/* u32 */
#define VCAP_RW_SECTION_SIZE	0x08	/* u64 */
#define VCAP_OUT_SECTION_SIZE	0x10	/* u64 */
#define VCAP_SHMEM_ADDRESS	0x18	/* u64 */

/* register region (BAR 0) */
#define REG_ID			0x00
#define REG_MAX_PEERS		0x04
#define REG_INT_CONTROL		0x08
#define  INT_CONTROL_ENABLE	1
#define REG_DOORBELL		0x0c
#define  DOORBELL_PEER_SHIFT	16
#define REG_STATE		0x10

#define DEFAULT_IRQ_BASE	32
#define MAX_VECTORS		4
#define DEFAULT_PERIOD_MS	1000
/* wait in slices: the PM timer must be read at least once per wrap */
#define MAX_SLICE_NS		NS_PER_SEC

static u8 *regs;
static volatile u32 *state_table, *rw_section, *in_sections, *out_section;
static u32 id, max_peers;
static bool have_msix;
static unsigned int irq_base, num_vectors, timer_vector;
static volatile unsigned int irq_count[MAX_VECTORS];

static u64 read_config64(u16 bdf, unsigned int reg)
{
	return pci_read_config(bdf, reg, 4) |
		(u64)pci_read_config(bdf, reg + 4, 4) << 32;
}

static void dump_shmem(void)
{
	printk("state[0] = %d\n", state_table[0]);
	printk("state[1] = %d\n", state_table[1]);
	printk("state[2] = %d\n", state_table[2]);
	printk("rw[0] = %d\n", rw_section[0]);
	printk("rw[1] = %d\n", rw_section[1]);
	printk("rw[2] = %d\n", rw_section[2]);
	printk("in@0x0000 = %d\n", in_sections[0x0000 / 4]);
	printk("in@0x2000 = %d\n", in_sections[0x2000 / 4]);
	printk("in@0x4000 = %d\n", in_sections[0x4000 / 4]);
}

static void irq_handler(unsigned int vector)
{
	unsigned int n, value;

	if (vector < irq_base || vector >= irq_base + num_vectors)
		return;		/* the wake-up timer: nothing to do */

	n = vector - irq_base;
	irq_count[n]++;
	/*
	 * As upstream: peers ring vector "their ID + 1", so with the default
	 * targets the vector equal to our ID counts the doorbells meant for
	 * us (vector 0 signals state changes). Without MSI-X there is one.
	 */
	value = have_msix && id < num_vectors ? irq_count[id] : irq_count[0];
	rw_section[id] = value;
	out_section[0] = value * 10;
	printk("\nIVSHMEM: got interrupt %d (#%d)\n", n, irq_count[n]);
	dump_shmem();
}

/* Waits until the PM timer reaches due_ns, handling interrupts meanwhile. */
static void wait_until(unsigned long long due_ns)
{
	unsigned long long now;

	while ((now = pm_timer_read()) < due_ns) {
		apic_timer_set(due_ns - now < MAX_SLICE_NS ? due_ns - now
							   : MAX_SLICE_NS);
		asm volatile("sti; hlt; cli" : : : "memory");
	}
}

static void init_device(u16 bdf)
{
	unsigned long long shmem, size;
	u32 state_table_size;
	u64 rw_size, out_size;
	unsigned int n;
	int vcap;

	vcap = pci_find_cap(bdf, PCI_CAP_VENDOR);
	if (vcap < 0) {
		printk("IVSHMEM ERROR: missing vendor capability\n");
		stop();
	}

	regs = (u8 *)REGS_BASE;
	pci_write_config(bdf, PCI_CFG_BAR, REGS_BASE, 4);
	printk("IVSHMEM: bar0 is at %p\n", regs);
	pci_write_config(bdf, PCI_CFG_BAR + 4, MSIX_BASE, 4);
	printk("IVSHMEM: bar1 is at %p\n", (void *)MSIX_BASE);
	pci_write_config(bdf, PCI_CFG_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);
	map_range(regs, 2 * PAGE_SIZE, MAP_UNCACHED);

	id = mmio_read32(regs + REG_ID);
	printk("IVSHMEM: ID is %d\n", id);
	max_peers = mmio_read32(regs + REG_MAX_PEERS);
	printk("IVSHMEM: max. peers is %d\n", max_peers);

	state_table_size = pci_read_config(bdf, vcap + VCAP_STATE_TABLE_SIZE, 4);
	rw_size = read_config64(bdf, vcap + VCAP_RW_SECTION_SIZE);
	out_size = read_config64(bdf, vcap + VCAP_OUT_SECTION_SIZE);
	shmem = read_config64(bdf, vcap + VCAP_SHMEM_ADDRESS);

	state_table = (volatile u32 *)(unsigned long)shmem;
	rw_section = (volatile u32 *)(unsigned long)(shmem + state_table_size);
	in_sections = (volatile u32 *)(unsigned long)(shmem +
			state_table_size + rw_size);
	out_section = (volatile u32 *)((unsigned long)in_sections +
			id * out_size);
	printk("IVSHMEM: state table is at %p\n", state_table);
	printk("IVSHMEM: R/W section is at %p\n", rw_section);
	printk("IVSHMEM: input sections start at %p\n", in_sections);
	printk("IVSHMEM: output section is at %p\n", out_section);

	size = state_table_size + rw_size + max_peers * out_size;
	map_range((void *)(unsigned long)shmem, size, MAP_CACHED);

	have_msix = pci_find_cap(bdf, PCI_CAP_MSIX) >= 0;
	num_vectors = have_msix ? MAX_VECTORS : 1;
	if (have_msix)
		for (n = 0; n < num_vectors; n++)
			pci_msix_set_vector(bdf, irq_base + n, n);
}

void inmate_main(void)
{
	long long count, period_ms, target, sent;
	unsigned long long start, period;
	u32 class_rev, vector;
	int bdf;

	irq_base = cmdline_parse_int("irq_base", DEFAULT_IRQ_BASE);
	period_ms = cmdline_parse_int("period", DEFAULT_PERIOD_MS);
	count = cmdline_parse_int("count", 0);
	if (period_ms < 1)
		period_ms = 1;
	period = period_ms * NS_PER_MSEC;
	/* a vector for the wake-up timer that is none of ours */
	timer_vector = irq_base > IRQ_VECTOR_FIRST ? IRQ_VECTOR_FIRST
						   : NUM_IDT_VECTORS - 1;

	irq_init(irq_handler);
	pci_init();

	bdf = pci_find_device(IVSHMEM_VENDOR_ID, IVSHMEM_DEVICE_ID, 0);
	if (bdf < 0) {
		printk("IVSHMEM: No PCI devices found .. nothing to do.\n");
		stop();
	}
	printk("IVSHMEM: Found device at %02x:%02x.%x\n",
	       bdf >> 8, (bdf >> 3) & 0x1f, bdf & 0x3);

	class_rev = pci_read_config(bdf, 0x08, 4);
	if (class_rev != IVSHMEM_CLASS_REV) {
		printk("IVSHMEM: class/revision %08x, not supported\n",
		       class_rev);
		stop();
	}

	init_device(bdf);
	target = cmdline_parse_int("target", id < max_peers ? id + 1 : 0);
	printk("IVSHMEM: initialized device\n");

	mmio_write32(regs + REG_INT_CONTROL, INT_CONTROL_ENABLE);
	mmio_write32(regs + REG_STATE, id + 1);
	rw_section[id] = 0;
	out_section[0] = 0;
	dump_shmem();

	apic_timer_init(timer_vector);
	vector = cmdline_parse_int("vector", have_msix ? id + 1 : 0);
	start = pm_timer_read();
	for (sent = 0; !count || sent < count; sent++) {
		wait_until(start + (sent + 1) * period);
		printk("\nIVSHMEM: sending IRQ %d to peer %lld\n", vector,
		       target);
		mmio_write32(regs + REG_DOORBELL,
			     vector | (u32)target << DOORBELL_PEER_SHIFT);
	}

	/* count= reached: listen one more period, then sum up */
	wait_until(start + (sent + 1) * period);
	printk("IVSHMEM: done, %lld doorbell(s) sent, interrupts per vector: "
	       "%d %d %d %d\n", sent, irq_count[0], irq_count[1],
	       irq_count[2], irq_count[3]);
	stop();
}
