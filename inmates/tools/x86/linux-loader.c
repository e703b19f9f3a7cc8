/*
 * Jailhouse for Java - linux-loader: enters a Linux kernel in a non-root
 * x86 cell (`jailhouse cell linux`, spec 14).
 *
 * The tool loads this image at 0, the cell's reset address, then the
 * bzImage, the initrd and the boot parameters at 0x1000: the zero page,
 * the SETUP_JAILHOUSE setup_data at 0x2000 and the command line after it
 * (this image leaves [0x1000, 0x3000) to them, see the Makefile).
 *
 * Every cell CPU runs the library's boot code, which records its APIC ID
 * and halts it, except CPU 0, which comes here: it completes setup_data
 * with what only the cell knows (the comm region's platform fields, the
 * APIC IDs), maps the kernel and calls its 64-bit entry. The other CPUs
 * stay halted with interrupts off until Linux wakes them with INIT/SIPI.
 */

#include <inmate.h>

#define ZERO_PAGE		0x1000UL
/* kernel_alignment: the tool stores the kernel's address there (as upstream's tool does) */
#define ZP_KERNEL_ADDRESS	0x230
#define ZP_INIT_SIZE		0x260
#define SETUP_DATA		0x2000UL

#define SETUP_JAILHOUSE		6
#define SETUP_DATA_VERSION	2
#define MAX_CPU_IDS		255

/* Entry of the kernel's 64-bit boot protocol, from the protected-mode start. */
#define STARTUP_64_OFFSET	0x200

/* How long CPU 0 waits for the others to check in: the emulated ring 0 of
 * some hosts runs a million instructions a second. */
#define CHECK_IN_TIMEOUT_NS	(30ULL * 1000 * 1000 * 1000)

struct setup_data_jailhouse {
	u64 next;
	u32 type;
	u32 len;
	u16 version;
	u16 compatible_version;
	u16 pm_timer_address;
	u16 num_cpus;
	u64 pci_mmconfig_base;
	u32 tsc_khz;
	u32 apic_khz;
	u8 standard_ioapic;
	u8 cpu_ids[MAX_CPU_IDS];
	u32 flags;
} __attribute__((packed));

_Static_assert(sizeof(struct setup_data_jailhouse) == 16 + 284,
	       "SETUP_JAILHOUSE version 2 has a 284-byte payload");

void inmate_main(void)
{
	struct setup_data_jailhouse *sd = (void *)SETUP_DATA;
	unsigned long kernel = *(volatile u64 *)(ZERO_PAGE + ZP_KERNEL_ADDRESS);
	u32 init_size = *(volatile u32 *)(ZERO_PAGE + ZP_INIT_SIZE);
	unsigned int cpus = comm_region->num_cpus;
	unsigned long long deadline;
	unsigned int n;

	if (sd->type != SETUP_JAILHOUSE || sd->version != SETUP_DATA_VERSION ||
	    kernel == 0 || init_size == 0) {
		printk("linux-loader: no Linux boot parameters at 0x%lx "
		       "(load them with -a 0x%lx, after the other images)\n",
		       ZERO_PAGE, ZERO_PAGE);
		stop();
	}
	if (cpus == 0 || cpus > MAX_CPU_IDS) {
		printk("linux-loader: the comm region announces %u CPUs "
		       "(1 to %u are possible)\n", cpus, MAX_CPU_IDS);
		stop();
	}

	sd->pm_timer_address = comm_region->pm_timer_address;
	sd->num_cpus = cpus;
	sd->pci_mmconfig_base = comm_region->pci_mmconfig_base;
	sd->tsc_khz = comm_region->tsc_khz;
	sd->apic_khz = comm_region->apic_khz;

	deadline = pm_timer_read() + CHECK_IN_TIMEOUT_NS;
	while (smp_num_cpus < cpus) {
		if (pm_timer_read() > deadline) {
			printk("linux-loader: %u of %u CPUs checked in within "
			       "%llu s\n", smp_num_cpus, cpus,
			       CHECK_IN_TIMEOUT_NS / 1000000000ULL);
			stop();
		}
		cpu_relax();
	}
	for (n = 0; n < cpus; n++)
		sd->cpu_ids[n] = smp_cpu_ids[n];

	map_range((void *)kernel, init_size, MAP_CACHED);

	/* The 64-bit boot protocol: RSI holds the zero page, interrupts off. */
	asm volatile("cli\n\t"
		     "jmp *%0"
		     : : "r"(kernel + STARTUP_64_OFFSET), "S"(ZERO_PAGE)
		     : "memory");
	__builtin_unreachable();
}
