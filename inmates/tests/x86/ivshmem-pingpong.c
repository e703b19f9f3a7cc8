/*
 * Jailhouse for Java - ivshmem-pingpong: doorbell round-trip latency over
 * one ivshmem v2 link (spec 6), measured in TSC cycles.
 *
 * Two cells run it on the same link, one as "ping", one as "pong". Both
 * set the device up as ivshmem-demo does (BAR 0 0xff000000, BAR 1
 * 0xff001000, MEM|MASTER, MSI-X vectors 0 and 1 on irq_base and
 * irq_base + 1, INT_CONTROL = 1), write STATE = 1 and print
 * "pingpong: peer %d ready (%s)".
 *
 *   pong: every interrupt of vector 1 rings the target's vector 1 at once
 *         (from the handler); forever.
 *   ping: waits 200 ms and until state[target] != 0, then per round:
 *         t0 = rdtsc, doorbell (target, vector 1), "sti; hlt" until the
 *         handler has counted the reply, t1 = rdtsc. Prints
 *         "pingpong: N rounds, round trip min A avg B max C cycles,
 *         D ns avg" and "pingpong: done", and halts.
 *
 * Command line:
 *   role=ping|pong  (default pong)
 *   target=N        the other peer's ID (default 2 if our ID is 1, else 1)
 *   rounds=N        ping only (default 1000)
 *   irq_base=N      first interrupt vector (default 32)
 *   toggles=N       before "ready", clear and set INT_CONTROL N times
 *                   (a guest re-programming its interrupts in a loop)
 *
 * Without an ivshmem device: "pingpong: no ivshmem device" and halt.
 *
 * Interrupts stay off except in "sti; hlt"; the handler never prints (the
 * printk lock is not re-entrant across an interrupt on the same line).
 */

#include <inmate.h>

#define IVSHMEM_VENDOR_ID	0x110a
#define IVSHMEM_DEVICE_ID	0x4106

#define REGS_BASE		0xff000000UL	/* BAR 0: registers */
#define MSIX_BASE		(REGS_BASE + PAGE_SIZE)	/* BAR 1: MSI-X */

/* vendor capability: offsets from its start */
#define VCAP_STATE_TABLE_SIZE	0x04	/* u32 */
#define VCAP_SHMEM_ADDRESS	0x18	/* u64 */

/* register region (BAR 0) */
#define REG_ID			0x00
#define REG_INT_CONTROL		0x08
#define REG_DOORBELL		0x0c
#define  DOORBELL_PEER_SHIFT	16
#define REG_STATE		0x10

#define PING_VECTOR		1	/* device vector of ping and pong */

static u8 *regs;
static volatile u32 *state_table;
static unsigned int irq_base;
static u32 doorbell;		/* target << 16 | PING_VECTOR */
static bool is_ping;
static volatile unsigned long replies;

static void irq_handler(unsigned int vector)
{
	if (vector != irq_base + PING_VECTOR)
		return;		/* vector 0: a peer's state changed */
	if (is_ping)
		replies++;
	else
		mmio_write32(regs + REG_DOORBELL, doorbell);
}

static void init_device(u16 bdf)
{
	u32 state_table_size;
	u64 shmem;
	int vcap;

	vcap = pci_find_cap(bdf, PCI_CAP_VENDOR);
	if (vcap < 0 || pci_find_cap(bdf, PCI_CAP_MSIX) < 0) {
		printk("pingpong: vendor or MSI-X capability missing\n");
		stop();
	}

	regs = (u8 *)REGS_BASE;
	pci_write_config(bdf, PCI_CFG_BAR, REGS_BASE, 4);
	pci_write_config(bdf, PCI_CFG_BAR + 4, MSIX_BASE, 4);
	pci_write_config(bdf, PCI_CFG_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);
	map_range(regs, 2 * PAGE_SIZE, MAP_UNCACHED);

	state_table_size = pci_read_config(bdf, vcap + VCAP_STATE_TABLE_SIZE, 4);
	shmem = pci_read_config(bdf, vcap + VCAP_SHMEM_ADDRESS, 4) |
		(u64)pci_read_config(bdf, vcap + VCAP_SHMEM_ADDRESS + 4, 4) << 32;
	state_table = (volatile u32 *)(unsigned long)shmem;
	map_range((void *)(unsigned long)shmem, state_table_size, MAP_CACHED);

	pci_msix_set_vector(bdf, irq_base, 0);
	pci_msix_set_vector(bdf, irq_base + PING_VECTOR, PING_VECTOR);
}

static void ping(unsigned long rounds, u32 target)
{
	unsigned long n, delta, min = ~0UL, max = 0, sum = 0, avg, ns;
	u64 t0, t1;

	delay_us(200000);
	if (!state_table[target])
		printk("pingpong: waiting for peer %d\n", target);
	while (!state_table[target])
		delay_us(1000);

	for (n = 0; n < rounds; n++) {
		t0 = rdtsc();
		mmio_write32(regs + REG_DOORBELL, doorbell);
		while (replies == n)
			asm volatile("sti; hlt; cli" : : : "memory");
		t1 = rdtsc();
		delta = t1 - t0;
		if (delta < min)
			min = delta;
		if (delta > max)
			max = delta;
		sum += delta;
	}

	avg = rounds ? sum / rounds : 0;
	if (!rounds)
		min = 0;
	ns = comm_region->tsc_khz ?
		avg * 1000000UL / comm_region->tsc_khz : 0;
	printk("pingpong: %d rounds, round trip min %lu avg %lu max %lu "
	       "cycles, %lu ns avg\n", (int)rounds, min, avg, max, ns);
	printk("pingpong: done\n");
}

void inmate_main(void)
{
	char buf[8];
	const char *role;
	long long rounds;
	long toggles, n;
	u64 t0;
	u32 id, target;
	int bdf;

	role = cmdline_parse_str("role", buf, sizeof(buf), "pong");
	is_ping = strcmp(role, "ping") == 0;
	rounds = cmdline_parse_int("rounds", 1000);
	if (rounds < 0)
		rounds = 0;
	irq_base = cmdline_parse_int("irq_base", 32);

	irq_init(irq_handler);
	pci_init();

	bdf = pci_find_device(IVSHMEM_VENDOR_ID, IVSHMEM_DEVICE_ID, 0);
	if (bdf < 0) {
		printk("pingpong: no ivshmem device\n");
		stop();
	}

	init_device(bdf);
	id = mmio_read32(regs + REG_ID);
	target = cmdline_parse_int("target", id == 1 ? 2 : 1);
	doorbell = target << DOORBELL_PEER_SHIFT | PING_VECTOR;

	toggles = cmdline_parse_int("toggles", 0);
	if (toggles > 0) {
		t0 = pm_timer_read();
		for (n = 0; n < toggles; n++) {
			mmio_write32(regs + REG_INT_CONTROL, 1);
			mmio_write32(regs + REG_INT_CONTROL, 0);
		}
		printk("pingpong: INT_CONTROL toggled %ld times in %ld us\n",
		       toggles, (long)((pm_timer_read() - t0) / 1000));
	}
	mmio_write32(regs + REG_INT_CONTROL, 1);
	mmio_write32(regs + REG_STATE, 1);
	printk("pingpong: peer %d ready (%s)\n", id, is_ping ? "ping" : "pong");

	if (is_ping) {
		ping(rounds, target);
		stop();
	}
	while (1)
		asm volatile("sti; hlt; cli" : : : "memory");
}
