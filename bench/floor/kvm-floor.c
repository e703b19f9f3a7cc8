/*
 * kvm-floor - the smallest KVM VMM that runs Jailhouse x86 inmates.
 *
 * It sets a guest up the way the Java hypervisor does for a cell (spec
 * 5.1, 11, 12) and handles exits with as little work as possible, so it
 * serves two purposes:
 *   - the performance floor the Java exit loop is measured against;
 *   - a harness that proves the inmate images boot and run.
 *
 * Guest: 1 MiB RAM at 0, the communication region page at 0x100000,
 * --cpus vCPUs (default 1) all RUNNABLE in real mode at the reset address,
 * x2APIC on from reset, in-kernel irqchip. Devices in user space: 8250
 * UART at 0x3f8 (or --uart PORT), PM timer at 0x608, port 0x80 (ignored),
 * PCI config space behind 0xcf8/0xcfc (an empty bus, or one device model
 * with --pci: an HD Audio controller or an ivshmem v2 peer) and, with
 * --virtual-console, the hypercall port. Anything else stops the
 * guest with a Jailhouse-style FATAL line.
 *
 * One thread per vCPU runs KVM_RUN (a halted vCPU blocks inside KVM_RUN
 * with the in-kernel irqchip); the main thread watches the stop
 * conditions and kicks the vCPU threads out with a signal.
 *
 * Usage: kvm-floor [options] IMAGE LOADADDR   (see usage())
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define RAM_SIZE		0x100000UL
#define COMM_REGION_BASE	0x100000UL
#define COMM_REGION_SIZE	0x1000UL
/* Out of the guest's way, below the 4 GiB boundary (3 pages). */
#define TSS_ADDR		0xfffbd000UL
#define MAX_CPUS		8

#define UART_BASE		0x3f8
#define UART_IIR		2
#define UART_LCR		3
#define UART_LCR_DLAB		0x80
#define UART_LSR		5
#define UART_LSR_IDLE		0x60	/* THR empty, transmitter empty */
#define PM_TIMER_PORT		0x608
#define PCI_ADDR_PORT		0xcf8
#define PCI_DATA_PORT		0xcfc
#define PM_TIMER_HZ		3579545ULL
#define POST_PORT		0x80
#define HC_PORT			0x5f0	/* JAILHOUSE_HC_PORT of the inmate lib */
#define HC_DEBUG_CONSOLE_PUTC	8
#define HC_ENOSYS		38

#define MSR_IA32_APICBASE	0x1b
#define APIC_BASE_X2APIC	(0xfee00000ULL | 0x800 | 0x400) /* EN|EXTD */
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_LVT_MASKED		0x10000

#define CPUID_1_ECX_VMX		(1U << 5)
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_80000001_ECX_SVM	(1U << 2)

#define CON_TYPE_8250		2
#define COMM_FLAG_DBG_PUTC_PERMITTED	0x1
#define COMM_FLAG_DBG_PUTC_ACTIVE	0x2

/* Communication region, ABI revision 2, x86 (spec 2). */
struct comm_region {
	char signature[6];
	uint16_t revision;
	uint32_t cell_state;
	uint32_t msg_to_cell;
	uint32_t reply_from_cell;
	uint32_t flags;
	struct {
		uint64_t address;
		uint32_t size;
		uint16_t type;
		uint16_t flags;
		uint32_t divider;
		uint32_t gate_nr;
		uint64_t clock_reg;
	} __attribute__((packed)) console;
	uint64_t pci_mmconfig_base;
	uint16_t pm_timer_address;
	uint16_t num_cpus;
	uint32_t tsc_khz;
	uint32_t apic_khz;
} __attribute__((packed));

_Static_assert(sizeof(struct comm_region) == 76, "comm region layout");

/* ---- PCI device models (--pci hda | --pci ivshmem) -------------------- */

/*
 * One device at most, just enough of it for the PCI demos: config space
 * (a 256-byte image with per-byte write masks; bytes a guest must not
 * write are fatal), BAR shadows that decide where the MMIO handlers sit,
 * MSI / MSI-X messages sent with KVM_SIGNAL_MSI. All state is protected
 * by vm->lock. The handlers return false with an error text in err
 * instead of calling fatal() (which takes the lock itself).
 */

#define PCI_CMD_MEM		0x0002
#define PCI_CMD_MASTER		0x0004

/* HDA: ICH9 HD Audio at 00:1b.0 with a 64-bit BAR 0 at 0xfebd4000 (16
 * KiB) and a 64-bit MSI capability at 0x60, as pci-demo.cell describes */
#define HDA_BDF			0x00d8
#define HDA_BAR0		0xfebd4000U
#define HDA_BAR0_SIZE		0x4000U
#define HDA_MSI_CAP		0x60
#define HDA_GCTL		0x08
#define HDA_WAKEEN		0x0c
#define HDA_STATESTS		0x0e
#define HDA_INTCTL		0x20
#define HDA_REGS		0x40	/* modelled; the rest reads 0 */

/* ivshmem v2 (spec 6): 01:0e.0, peer 1 of 3, 16 MSI-X vectors, the
 * shared memory of ivshmem-demo.cell. Peer 0 is simulated: it is up
 * (state 1), shows fixed values in its sections and answers each
 * doorbell rung at it with vector 1 to us (what ivshmem-demo as peer 0
 * would send to its default target). Peer 2 is absent (only its output
 * section holds a value). */
#define IVSHMEM_BDF		0x0170
#define IVSHMEM_ID		1
#define IVSHMEM_PEERS		3
#define IVSHMEM_VECTORS		16
#define IVSHMEM_MAX_TARGETS	12
#define IVSHMEM_VCAP		0x40
#define IVSHMEM_MSIX_CAP	0x60
#define IVSHMEM_SHMEM		0x3f0f0000UL
#define IVSHMEM_STATE_SIZE	0x1000UL
#define IVSHMEM_RW_SIZE		0x9000UL
#define IVSHMEM_OUT_SIZE	0x2000UL
#define IVSHMEM_BAR_SIZE	0x1000U
#define IVSHMEM_MSIX_DECODED	0x200U
#define IVSHMEM_PBA		0x100U
/* what the (simulated) peers 0 and 2 show in their sections */
#define IVSHMEM_PEER0_STATE	1
#define IVSHMEM_PEER0_RW	5
#define IVSHMEM_PEER0_OUT	100
#define IVSHMEM_PEER2_OUT	300

enum pci_model { PCI_NONE, PCI_HDA, PCI_IVSHMEM };

struct pci_model_state {
	enum pci_model model;
	uint16_t bdf;
	uint8_t cfg[256];
	uint8_t wmask[256];	/* bits a config write changes */
	uint8_t wok[256];	/* 1: the byte may be written at all */
	/* HDA */
	uint8_t hda[HDA_REGS];
	bool hda_irq;		/* interrupt condition, for the MSI edge */
	/* ivshmem */
	uint32_t int_control, state;
	uint32_t msix[IVSHMEM_VECTORS][4];
	uint32_t *state_table;	/* host view of the shared memory */
	unsigned long msi_sent;
	bool trace;		/* --pci-trace: each access to stderr */
};

#define MAX_CMDLINES	4
#define MAX_MESSAGES	4

#define RO_MEM_SIZE	0x1000UL
#define RO_MEM_PATTERN	0xfeedf00dU
#define CELL_SHUT_DOWN	2
#define CELL_FAILED	3
#define MESSAGE_TIMEOUT_NS	5000000000ULL

struct options {
	uint64_t reset;
	const char *cmdline[MAX_CMDLINES];
	uint64_t cmdline_addr[MAX_CMDLINES];
	int num_cmdlines;
	const char *until;
	unsigned long count;
	double linger;
	double timeout;
	bool virtual_console;
	unsigned int comm_revision;
	unsigned int cpus;
	uint32_t message[MAX_MESSAGES];
	int num_messages;
	uint64_t ro_mem;		/* 0: none */
	uint16_t uart_base;
	enum pci_model pci;
	bool pci_trace;
	const char *image;
	uint64_t load_addr;
	const char *extra[MAX_CMDLINES];	/* --load: more images, after the first */
	uint64_t extra_addr[MAX_CMDLINES];
	int num_extra;
};

enum { EXIT_IO_COUNT, EXIT_MMIO_COUNT, EXIT_INTERNAL_COUNT,
       EXIT_SHUTDOWN_COUNT, EXIT_INTR_COUNT, EXIT_OTHER_COUNT, EXIT_KINDS };
static const char *const exit_kind_name[EXIT_KINDS] = {
	"io", "mmio", "internal-error", "shutdown", "signal", "other",
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	uint32_t hc_result;	/* latched by the hypercall port's OUT */
	uint32_t pci_addr;	/* 0xcf8 latch (per CPU, as in Jailhouse) */
	/* statistics, read by the main thread after join */
	unsigned long exits[EXIT_KINDS];
	unsigned long handled_exits;
	uint64_t handling_ns;
	unsigned long xgetbv_emulated;
};

struct vm {
	int kvm_fd, vm_fd;
	uint8_t *ram;
	struct comm_region *comm;
	bool virtual_console;
	uint16_t uart_base;
	unsigned int num_vcpus;
	struct vcpu vcpus[MAX_CPUS];

	/* lock protects everything below (console, UART, stop state) */
	pthread_mutex_t lock;
	pthread_cond_t wakeup;		/* main thread waits here */
	uint8_t uart_regs[8];
	struct pci_model_state pci;
	const char *until;
	size_t until_len, window_fill;
	char *window;			/* last until_len console chars */
	unsigned long matches, count;
	bool fatal;
	uint64_t first_output_ns;
	char last_char;

	volatile bool stop;		/* set once, before kicking vCPUs */
};

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "kvm-floor: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(errno));
	fprintf(stderr, "\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The kick signal only has to make KVM_RUN return with EINTR; the handler
 * has nothing to do. immediate_exit (set before the signal is sent)
 * covers a vCPU thread that is outside KVM_RUN when the signal arrives.
 */
static void on_kick(int sig)
{
	(void)sig;
}

/* Called with vm->lock held: the main thread re-evaluates the situation. */
static void notify_main(struct vm *vm)
{
	pthread_cond_signal(&vm->wakeup);
}

/* ---- console ---------------------------------------------------------- */

/* Called with vm->lock held. */
static void console_putc(struct vm *vm, char c)
{
	if (!vm->first_output_ns)
		vm->first_output_ns = now_ns();
	vm->last_char = c;
	putchar(c);
	if (c == '\n')
		fflush(stdout);

	if (!vm->until)
		return;
	if (vm->window_fill < vm->until_len) {
		vm->window[vm->window_fill++] = c;
	} else {
		memmove(vm->window, vm->window + 1, vm->until_len - 1);
		vm->window[vm->until_len - 1] = c;
	}
	if (vm->window_fill == vm->until_len &&
	    memcmp(vm->window, vm->until, vm->until_len) == 0 &&
	    ++vm->matches == vm->count)
		notify_main(vm);
}

/* ---- exits ------------------------------------------------------------ */

static void dump_registers(struct vcpu *vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "(registers unavailable: %s)\n",
			strerror(errno));
		return;
	}
	fprintf(stderr,
		"RIP: 0x%016llx RSP: 0x%016llx FLAGS: %llx\n"
		"RAX: 0x%016llx RBX: 0x%016llx RCX: 0x%016llx\n"
		"RDX: 0x%016llx RSI: 0x%016llx RDI: 0x%016llx\n"
		"CS: %x BASE: 0x%016llx AR-BYTES: %x EFER.LMA %d\n"
		"CR0: 0x%016llx CR3: 0x%016llx CR4: 0x%016llx\n"
		"EFER: 0x%016llx\n",
		regs.rip, regs.rsp, regs.rflags, regs.rax, regs.rbx, regs.rcx,
		regs.rdx, regs.rsi, regs.rdi, sregs.cs.selector,
		sregs.cs.base, sregs.cs.type | sregs.cs.s << 4 |
		sregs.cs.dpl << 5 | sregs.cs.present << 7 | sregs.cs.avl << 12 |
		sregs.cs.l << 13 | sregs.cs.db << 14 | sregs.cs.g << 15,
		!!(sregs.efer & 0x400), sregs.cr0, sregs.cr3, sregs.cr4,
		sregs.efer);
	fprintf(stderr, "Stopping CPU %u\n", vcpu->id);
}

/* Reports a guest error in Jailhouse's words; always returns false. */
static bool fatal(struct vcpu *vcpu, const char *fmt, ...)
{
	struct vm *vm = vcpu->vm;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	dump_registers(vcpu);
	vm->fatal = true;
	notify_main(vm);
	pthread_mutex_unlock(&vm->lock);
	return false;
}

/* Hypercall through the I/O port: OUT latches the call, IN reads back. */
static void handle_hypercall(struct vcpu *vcpu, bool out, uint32_t *data)
{
	struct kvm_regs regs;

	if (!out) {
		*data = vcpu->hc_result;
		return;
	}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		die("KVM_GET_REGS:");
	switch ((uint32_t)regs.rax) {
	case HC_DEBUG_CONSOLE_PUTC:
		pthread_mutex_lock(&vcpu->vm->lock);
		console_putc(vcpu->vm, (char)regs.rdi);
		pthread_mutex_unlock(&vcpu->vm->lock);
		vcpu->hc_result = 0;
		break;
	default:
		vcpu->hc_result = (uint32_t)-HC_ENOSYS;
		break;
	}
}

static uint32_t pm_timer_ticks(void)
{
	uint64_t ns = now_ns();

	/* ns * HZ / 1e9 without overflowing 64 bits */
	return (uint32_t)((ns / 1000000000ULL) * PM_TIMER_HZ +
			  (ns % 1000000000ULL) * PM_TIMER_HZ / 1000000000ULL)
		& 0xffffff;
}

static void uart_access(struct vm *vm, unsigned int reg, bool out,
			uint8_t *data, unsigned int size)
{
	pthread_mutex_lock(&vm->lock);
	if (out) {
		if (reg == 0 && !(vm->uart_regs[UART_LCR] & UART_LCR_DLAB))
			console_putc(vm, (char)data[0]);
		else
			vm->uart_regs[reg] = data[0];
	} else {
		memset(data, 0, size);
		if (reg == UART_LSR)
			data[0] = UART_LSR_IDLE;
		else if (reg == UART_IIR)
			data[0] = 0x01;		/* no interrupt pending */
		else
			data[0] = vm->uart_regs[reg];
	}
	pthread_mutex_unlock(&vm->lock);
}

/* PCI device models (types and constants above) */

static void *map_guest_memory(struct vm *vm, int slot, uint64_t gpa,
			      size_t size, uint32_t flags);

static uint32_t cfg_get(const struct pci_model_state *d, unsigned int reg,
			unsigned int size)
{
	uint32_t v = 0;

	memcpy(&v, &d->cfg[reg], size);
	return v;
}

static void cfg_set(struct pci_model_state *d, unsigned int reg,
		    unsigned int size, uint32_t v, uint32_t wmask)
{
	memcpy(&d->cfg[reg], &v, size);
	memcpy(&d->wmask[reg], &wmask, size);
	memset(&d->wok[reg], 1, size);
}

/* read-only bytes: a write to them is fatal */
static void cfg_const(struct pci_model_state *d, unsigned int reg,
		      unsigned int size, uint32_t v)
{
	memcpy(&d->cfg[reg], &v, size);
	memset(&d->wok[reg], 0, size);
}

static uint64_t pci_bar(const struct pci_model_state *d, unsigned int n)
{
	uint32_t low = cfg_get(d, 0x10 + 4 * n, 4);
	uint64_t bar = low & ~0xfU;

	if ((low & 0x6) == 0x4)
		bar |= (uint64_t)cfg_get(d, 0x14 + 4 * n, 4) << 32;
	return bar;
}

static bool pci_mem_enabled(const struct pci_model_state *d)
{
	return cfg_get(d, 0x04, 2) & PCI_CMD_MEM;
}

static void trace_access(const struct pci_model_state *d, const char *what,
			 uint64_t where, bool write, const uint8_t *data,
			 unsigned int size)
{
	uint64_t v = 0;

	if (!d->trace)
		return;
	memcpy(&v, data, size);
	fprintf(stderr, "pci-trace: %s %s 0x%llx/%u %s 0x%0*llx\n", what,
		write ? "write" : "read ", (unsigned long long)where, size,
		write ? "<-" : "->", (int)size * 2, (unsigned long long)v);
}

static void send_msi(struct vm *vm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		die("KVM_SIGNAL_MSI:");
	vm->pci.msi_sent++;
	if (vm->pci.trace)
		fprintf(stderr, "pci-trace: MSI address 0x%llx data 0x%x\n",
			(unsigned long long)address, data);
}

/* Header bytes every model shares: identity, command, status, caps. */
static void pci_header(struct pci_model_state *d, uint16_t bdf,
		       uint32_t ids, uint32_t class_rev, uint8_t cap)
{
	d->bdf = bdf;
	cfg_const(d, 0x00, 4, ids);
	cfg_set(d, 0x04, 2, 0, 0x0406);		/* MEM, MASTER, INTX_OFF */
	cfg_set(d, 0x06, 2, 0x0010, 0);		/* caps list; writes ignored */
	cfg_const(d, 0x08, 4, class_rev);
	cfg_set(d, 0x0c, 4, 0, 0);		/* cache line etc.: ignored */
	cfg_const(d, 0x2c, 4, ids);
	d->cfg[0x34] = cap;
	cfg_set(d, 0x3c, 1, 0, 0xff);		/* interrupt line */
}

static void setup_hda(struct vm *vm)
{
	struct pci_model_state *d = &vm->pci;

	pci_header(d, HDA_BDF, 0x293e8086, 0x04030003, HDA_MSI_CAP);
	cfg_set(d, 0x10, 4, HDA_BAR0 | 0x4, ~(HDA_BAR0_SIZE - 1));
	cfg_set(d, 0x14, 4, 0, 0xffffffff);
	d->cfg[0x3d] = 1;			/* INTA */
	/* MSI: 64-bit, one vector */
	cfg_const(d, HDA_MSI_CAP, 2, 0x0005);
	cfg_set(d, HDA_MSI_CAP + 2, 2, 0x0080, 0x0001);
	cfg_set(d, HDA_MSI_CAP + 4, 4, 0, 0xfffffffc);
	cfg_set(d, HDA_MSI_CAP + 8, 4, 0, 0xffffffff);
	cfg_set(d, HDA_MSI_CAP + 12, 2, 0, 0xffff);
	/* GCAP: 4 output, 4 input streams, 64-bit; version 1.0 */
	d->hda[0x00] = 0x01;
	d->hda[0x01] = 0x44;
	d->hda[0x03] = 0x01;
}

static uint32_t *map_shmem(struct vm *vm, int slot, uint64_t gpa,
			   size_t size, bool writable)
{
	return map_guest_memory(vm, slot, gpa, size,
				writable ? 0 : KVM_MEM_READONLY);
}

static void setup_ivshmem(struct vm *vm)
{
	struct pci_model_state *d = &vm->pci;
	uint64_t out = IVSHMEM_SHMEM + IVSHMEM_STATE_SIZE + IVSHMEM_RW_SIZE;
	uint32_t *rw, *peer0, *peer2;
	unsigned int n;

	pci_header(d, IVSHMEM_BDF, 0x4106110a, 0xff000000, IVSHMEM_VCAP);
	cfg_set(d, 0x10, 4, 0, ~(IVSHMEM_BAR_SIZE - 1));
	cfg_set(d, 0x14, 4, 0, ~(IVSHMEM_BAR_SIZE - 1));
	/* vendor capability: sizes and address read-only, one-shot bit */
	cfg_set(d, IVSHMEM_VCAP, 4, 0x00206009, 0x01000000);
	cfg_set(d, IVSHMEM_VCAP + 0x04, 4, IVSHMEM_STATE_SIZE, 0);
	cfg_set(d, IVSHMEM_VCAP + 0x08, 4, IVSHMEM_RW_SIZE, 0);
	cfg_set(d, IVSHMEM_VCAP + 0x0c, 4, 0, 0);
	cfg_set(d, IVSHMEM_VCAP + 0x10, 4, IVSHMEM_OUT_SIZE, 0);
	cfg_set(d, IVSHMEM_VCAP + 0x14, 4, 0, 0);
	cfg_set(d, IVSHMEM_VCAP + 0x18, 4, (uint32_t)IVSHMEM_SHMEM, 0);
	cfg_set(d, IVSHMEM_VCAP + 0x1c, 4, (uint32_t)(IVSHMEM_SHMEM >> 32), 0);
	/* MSI-X: 16 vectors, table BIR 1 offset 0, PBA BIR 1 offset 0x100 */
	cfg_set(d, IVSHMEM_MSIX_CAP, 4, 0x0011 | (IVSHMEM_VECTORS - 1) << 16,
		0xc0000000);
	cfg_set(d, IVSHMEM_MSIX_CAP + 4, 4, 0x00000001, 0);
	cfg_set(d, IVSHMEM_MSIX_CAP + 8, 4, 0x00000101, 0);
	memset(&d->wok[0x6c], 1, 0x80 - 0x6c);	/* rest of 0x40-0x7f */
	for (n = 0; n < IVSHMEM_VECTORS; n++)
		d->msix[n][3] = 1;		/* masked */

	/* state table, R/W section, output sections of peers 0, 1 (us), 2 */
	d->state_table = map_shmem(vm, 3, IVSHMEM_SHMEM, IVSHMEM_STATE_SIZE,
				   false);
	rw = map_shmem(vm, 4, IVSHMEM_SHMEM + IVSHMEM_STATE_SIZE,
		       IVSHMEM_RW_SIZE, true);
	peer0 = map_shmem(vm, 5, out, IVSHMEM_OUT_SIZE, false);
	map_shmem(vm, 6, out + IVSHMEM_OUT_SIZE, IVSHMEM_OUT_SIZE, true);
	peer2 = map_shmem(vm, 7, out + 2 * IVSHMEM_OUT_SIZE, IVSHMEM_OUT_SIZE,
			  false);
	d->state_table[0] = IVSHMEM_PEER0_STATE;
	rw[0] = IVSHMEM_PEER0_RW;
	peer0[0] = IVSHMEM_PEER0_OUT;
	peer2[0] = IVSHMEM_PEER2_OUT;
}

static void setup_pci(struct vm *vm, enum pci_model model, bool trace)
{
	vm->pci.model = model;
	vm->pci.trace = trace;
	if (model != PCI_NONE &&
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) <= 0)
		die("KVM lacks KVM_CAP_SIGNAL_MSI");
	if (model == PCI_HDA)
		setup_hda(vm);
	else if (model == PCI_IVSHMEM)
		setup_ivshmem(vm);
}

/* HDA: an MSI on each rising edge of "codec status and enabled". */
static void hda_update_irq(struct vm *vm)
{
	struct pci_model_state *d = &vm->pci;
	uint16_t wakeen, statests;
	uint32_t intctl;
	bool irq;

	memcpy(&wakeen, &d->hda[HDA_WAKEEN], 2);
	memcpy(&statests, &d->hda[HDA_STATESTS], 2);
	memcpy(&intctl, &d->hda[HDA_INTCTL], 4);
	irq = (statests & wakeen & 0x7fff) && (intctl & (1U << 31)) &&
		(intctl & (1U << 30));
	if (irq && !d->hda_irq && (cfg_get(d, HDA_MSI_CAP + 2, 2) & 1) &&
	    (cfg_get(d, 0x04, 2) & PCI_CMD_MASTER))
		send_msi(vm, cfg_get(d, HDA_MSI_CAP + 4, 4) |
			 (uint64_t)cfg_get(d, HDA_MSI_CAP + 8, 4) << 32,
			 cfg_get(d, HDA_MSI_CAP + 12, 2));
	d->hda_irq = irq;
}

static void hda_mmio(struct vm *vm, unsigned int off, bool write,
		     uint8_t *data, unsigned int len)
{
	struct pci_model_state *d = &vm->pci;
	unsigned int i, r;
	bool crst;

	if (!write) {
		for (i = 0; i < len; i++)
			data[i] = off + i < HDA_REGS ? d->hda[off + i] : 0;
		return;
	}
	crst = d->hda[HDA_GCTL] & 1;
	for (i = 0; i < len; i++) {
		r = off + i;
		if (r >= HDA_REGS || r < 0x08)
			continue;		/* read-only or not modelled */
		if (r == HDA_STATESTS || r == HDA_STATESTS + 1)
			d->hda[r] &= ~data[i];	/* write 1 to clear */
		else
			d->hda[r] = data[i];
	}
	/* leaving reset: codec 0 reports itself */
	if (!crst && (d->hda[HDA_GCTL] & 1))
		d->hda[HDA_STATESTS] |= 1;
	hda_update_irq(vm);
}

static void ivshmem_deliver(struct vm *vm, unsigned int vector)
{
	struct pci_model_state *d = &vm->pci;
	uint8_t ctrl = d->cfg[IVSHMEM_MSIX_CAP + 3];

	if (!(d->int_control & 1) ||
	    !(cfg_get(d, 0x04, 2) & PCI_CMD_MASTER) ||
	    !(ctrl & 0x80) || (ctrl & 0x40) || (d->msix[vector][3] & 1))
		return;
	if (d->cfg[IVSHMEM_VCAP + 3] & 1)	/* one-shot mode */
		d->int_control = 0;
	send_msi(vm, d->msix[vector][0] | (uint64_t)d->msix[vector][1] << 32,
		 d->msix[vector][2]);
}

static bool ivshmem_regs(struct vm *vm, unsigned int off, bool write,
			 uint8_t *data, unsigned int len, char *err)
{
	struct pci_model_state *d = &vm->pci;
	uint32_t v = 0;

	if (len != 4 || off & 3) {
		sprintf(err, "FATAL: ivshmem register access of %u bytes at "
			"0x%x (model: aligned dwords only)", len, off);
		return false;
	}
	if (!write) {
		switch (off) {
		case 0x00: v = IVSHMEM_ID; break;
		case 0x04: v = IVSHMEM_PEERS; break;
		case 0x08: v = d->int_control; break;
		case 0x10: v = d->state; break;
		}
		memcpy(data, &v, 4);
		return true;
	}
	memcpy(&v, data, 4);
	switch (off) {
	case 0x08:
		d->int_control = v & 1;
		break;
	case 0x0c:
		if ((v & 0xffff) >= IVSHMEM_VECTORS ||
		    (v >> 16) >= IVSHMEM_MAX_TARGETS)
			break;				/* ignored */
		if ((v >> 16) == IVSHMEM_ID)
			ivshmem_deliver(vm, v & 0xffff);
		else if ((v >> 16) == 0)
			/* peer 0 rings back: its ID + 1 to its default
			 * target, us; peer 2 is absent */
			ivshmem_deliver(vm, 0 + 1);
		break;
	case 0x10:
		/* a change would raise vector 0 on the other peers: none */
		d->state = v;
		d->state_table[IVSHMEM_ID] = v;
		break;
	}
	return true;
}

static bool ivshmem_msix(struct vm *vm, unsigned int off, bool write,
			 uint8_t *data, unsigned int len, char *err)
{
	struct pci_model_state *d = &vm->pci;
	uint32_t v = 0;

	if (len != 4 || off & 3 ||
	    (off < IVSHMEM_PBA && off / 16 >= IVSHMEM_VECTORS) ||
	    (off >= IVSHMEM_PBA && write)) {
		sprintf(err, "FATAL: Invalid PCI MSI-X table/PBA access, "
			"device %02x:%02x.%x", d->bdf >> 8, (d->bdf >> 3) & 0x1f,
			d->bdf & 7);
		return false;
	}
	if (off >= IVSHMEM_PBA) {
		memcpy(data, &v, 4);
		return true;
	}
	if (write)
		memcpy(&d->msix[off / 16][(off % 16) / 4], data, 4);
	else
		memcpy(data, &d->msix[off / 16][(off % 16) / 4], 4);
	return true;
}

/*
 * MMIO on a device BAR. Returns 1 if handled, 0 if the address is none
 * of ours, -1 for a fatal access (text in err).
 */
static int pci_mmio_access(struct vm *vm, uint64_t addr, bool write,
			   uint8_t *data, unsigned int len, char *err)
{
	struct pci_model_state *d = &vm->pci;
	uint64_t bar;

	if (d->model == PCI_NONE || !pci_mem_enabled(d))
		return 0;
	if (d->model == PCI_HDA) {
		bar = pci_bar(d, 0);
		if (addr < bar || addr + len > bar + HDA_BAR0_SIZE)
			return 0;
		hda_mmio(vm, addr - bar, write, data, len);
		return 1;
	}
	bar = pci_bar(d, 0);
	if (bar && addr >= bar && addr + len <= bar + IVSHMEM_BAR_SIZE)
		return ivshmem_regs(vm, addr - bar, write, data, len, err)
			? 1 : -1;
	bar = pci_bar(d, 1);
	if (bar && addr >= bar && addr + len <= bar + IVSHMEM_MSIX_DECODED)
		return ivshmem_msix(vm, addr - bar, write, data, len, err)
			? 1 : -1;
	return 0;
}

static int pci_mmio(struct vm *vm, uint64_t addr, bool write, uint8_t *data,
		    unsigned int len, char *err)
{
	int handled;

	if (write)
		trace_access(&vm->pci, "mmio  ", addr, true, data, len);
	handled = pci_mmio_access(vm, addr, write, data, len, err);
	if (!write && handled > 0)
		trace_access(&vm->pci, "mmio  ", addr, false, data, len);
	return handled;
}

/* A config data access (0xcfc + byte) with the vCPU's address latch. */
static bool pci_config(struct vm *vm, uint32_t latch, unsigned int byte,
		       bool write, uint8_t *data, unsigned int size, char *err)
{
	struct pci_model_state *d = &vm->pci;
	uint16_t bdf = (latch >> 8) & 0xffff;
	unsigned int reg = (latch & 0xfc) + byte, i;

	if (d->model == PCI_NONE || bdf != d->bdf) {
		if (write) {
			sprintf(err, "FATAL: Invalid PCI config write, device "
				"%02x:%02x.%x, reg: 0x%x, size: %u", bdf >> 8,
				(bdf >> 3) & 0x1f, bdf & 7, reg, size);
			return false;
		}
		memset(data, 0xff, size);
		return true;
	}
	if (!write) {
		for (i = 0; i < size; i++)
			data[i] = d->model == PCI_IVSHMEM && reg + i >= 0x80 ?
				0xff : d->cfg[reg + i];
		trace_access(d, "config", reg, false, data, size);
		return true;
	}
	trace_access(d, "config", reg, true, data, size);
	for (i = 0; i < size; i++)
		if (!d->wok[reg + i]) {
			sprintf(err, "FATAL: Invalid PCI config write, device "
				"%02x:%02x.%x, reg: 0x%x, size: %u",
				bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7, reg, size);
			return false;
		}
	for (i = 0; i < size; i++)
		d->cfg[reg + i] = (d->cfg[reg + i] & ~d->wmask[reg + i]) |
			(data[i] & d->wmask[reg + i]);
	if (d->model == PCI_HDA)
		hda_update_irq(vm);
	return true;
}

static bool handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint16_t port = run->io.port;
	unsigned int size = run->io.size;
	char err[160];
	uint32_t value;
	bool ok;

	/* Jailhouse refuses string and REP I/O on every port. */
	if (run->io.count != 1)
		goto invalid;

	if (port >= PM_TIMER_PORT && port < PM_TIMER_PORT + 4) {
		if (!out) {
			value = pm_timer_ticks() >> (8 * (port - PM_TIMER_PORT));
			memcpy(data, &value, size);
		}
		return true;
	}

	if (port >= vcpu->vm->uart_base && port < vcpu->vm->uart_base + 8) {
		uart_access(vcpu->vm, port - vcpu->vm->uart_base, out, data,
			    size);
		return true;
	}

	/*
	 * PCI: the address latch takes dword accesses only; config data
	 * reads return all ones except for the --pci model, config data
	 * writes to anything else are invalid (Jailhouse: fatal for
	 * unassigned devices).
	 */
	if (port == PCI_ADDR_PORT && size == 4) {
		if (out)
			memcpy(&vcpu->pci_addr, data, 4);
		else
			memcpy(data, &vcpu->pci_addr, 4);
		return true;
	}
	if (port >= PCI_DATA_PORT && port + size <= PCI_DATA_PORT + 4) {
		if (!out && vcpu->vm->pci.model == PCI_NONE) {
			memset(data, 0xff, size);
			return true;
		}
		pthread_mutex_lock(&vcpu->vm->lock);
		ok = pci_config(vcpu->vm, vcpu->pci_addr, port - PCI_DATA_PORT,
				out, data, size, err);
		pthread_mutex_unlock(&vcpu->vm->lock);
		return ok || fatal(vcpu, "%s\n", err);
	}

	if (port == POST_PORT && size == 1)
		return true;

	if (port == HC_PORT && size == 4 && vcpu->vm->virtual_console) {
		handle_hypercall(vcpu, out, &value);
		if (!out)
			memcpy(data, &value, 4);
		return true;
	}

invalid:
	return fatal(vcpu, "FATAL: Invalid PIO %s, port: %x size: %d\n",
		     out ? "write" : "read", port, size);
}

/*
 * XGETBV (0f 01 d0) is not emulated by some KVM hosts without hardware
 * virtualization (spec 12): complete it with the vCPU's XCRs.
 */
static bool emulate_xgetbv(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_xcrs xcrs;
	struct kvm_regs regs;
	unsigned int i;

	if (run->emulation_failure.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags &
	      KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) ||
	    run->emulation_failure.insn_size < 3 ||
	    memcmp(run->emulation_failure.insn_bytes, "\x0f\x01\xd0", 3) != 0)
		return false;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		die("KVM_GET_REGS:");
	if ((uint32_t)regs.rcx != 0)
		return false;	/* only XCR0 exists for us */
	if (ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs) < 0)
		die("KVM_GET_XCRS:");
	for (i = 0; i < xcrs.nr_xcrs; i++) {
		if (xcrs.xcrs[i].xcr == 0) {
			regs.rax = (uint32_t)xcrs.xcrs[i].value;
			regs.rdx = (uint32_t)(xcrs.xcrs[i].value >> 32);
			regs.rip += 3;
			if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
				die("KVM_SET_REGS:");
			vcpu->xgetbv_emulated++;
			return true;
		}
	}
	return false;
}

static bool handle_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char text[512];
	int len = 0;
	unsigned int i;

	if (emulate_xgetbv(vcpu))
		return true;

	len += snprintf(text + len, sizeof(text) - len,
			"FATAL: KVM internal error, suberror %u, data:",
			run->internal.suberror);
	for (i = 0; i < run->internal.ndata && i < 16 &&
		    len < (int)sizeof(text); i++)
		len += snprintf(text + len, sizeof(text) - len, " 0x%llx",
				(unsigned long long)run->internal.data[i]);
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (run->emulation_failure.flags &
	     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		len += snprintf(text + len, sizeof(text) - len,
				"\ninstruction bytes:");
		for (i = 0; i < run->emulation_failure.insn_size &&
			    i < sizeof(run->emulation_failure.insn_bytes) &&
			    len < (int)sizeof(text); i++)
			len += snprintf(text + len, sizeof(text) - len, " %02x",
					run->emulation_failure.insn_bytes[i]);
	}
	return fatal(vcpu, "%s\n", text);
}

static bool handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char err[160];
	int handled;

	if (run->mmio.len > 8)
		handled = 0;
	else {
		pthread_mutex_lock(&vcpu->vm->lock);
		handled = pci_mmio(vcpu->vm, run->mmio.phys_addr,
				   run->mmio.is_write, run->mmio.data,
				   run->mmio.len, err);
		pthread_mutex_unlock(&vcpu->vm->lock);
	}
	if (handled > 0)
		return true;
	if (handled < 0)
		return fatal(vcpu, "%s\n", err);
	return fatal(vcpu, "FATAL: Invalid MMIO/RAM %s, "
		     "addr: 0x%016llx size: %d\n",
		     run->mmio.is_write ? "write" : "read",
		     (unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

/* One exit; false stops the guest. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu->exits[EXIT_IO_COUNT]++;
		return handle_io(vcpu);
	case KVM_EXIT_MMIO:
		vcpu->exits[EXIT_MMIO_COUNT]++;
		return handle_mmio(vcpu);
	case KVM_EXIT_SHUTDOWN:
		vcpu->exits[EXIT_SHUTDOWN_COUNT]++;
		return fatal(vcpu, "FATAL: Unhandled VM-Exit, reason 2 "
			     "(triple fault)\n");
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu->exits[EXIT_INTERNAL_COUNT]++;
		return handle_internal_error(vcpu);
	case KVM_EXIT_INTR:
		vcpu->exits[EXIT_INTR_COUNT]++;
		return true;
	default:
		vcpu->exits[EXIT_OTHER_COUNT]++;
		return fatal(vcpu, "FATAL: unexpected KVM exit reason %u\n",
			     run->exit_reason);
	}
}

/* The exit loop: the part of the floor that is measured. */
static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	uint64_t exit_time = 0;
	int ret;

	for (;;) {
		if (exit_time)
			vcpu->handling_ns += now_ns() - exit_time;

		ret = ioctl(vcpu->fd, KVM_RUN, 0);
		exit_time = now_ns();

		if (ret < 0) {
			if (errno != EINTR && errno != EAGAIN)
				die("KVM_RUN:");
			vcpu->exits[EXIT_INTR_COUNT]++;
			/* clear before checking stop: see stop_vcpus() */
			__atomic_store_n(&vcpu->run->immediate_exit, 0,
					 __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&vcpu->vm->stop, __ATOMIC_SEQ_CST))
				break;
			continue;
		}

		vcpu->handled_exits++;
		if (!handle_exit(vcpu))
			break;
	}
	return NULL;
}

/* ---- set-up ----------------------------------------------------------- */

static void *map_guest_memory(struct vm *vm, int slot, uint64_t gpa,
			      size_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
	};
	void *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest memory:");
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION:");
	return mem;
}

static void load_image(struct vm *vm, const char *path, uint64_t addr)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s:", path);
	if (addr > RAM_SIZE || (uint64_t)st.st_size > RAM_SIZE - addr)
		die("%s (%lld bytes) does not fit at 0x%llx in %lu KiB of RAM",
		    path, (long long)st.st_size, (unsigned long long)addr,
		    RAM_SIZE / 1024);
	n = read(fd, vm->ram + addr, st.st_size);
	if (n != st.st_size)
		die("reading %s:", path);
	close(fd);
}

static void load_cmdline(struct vm *vm, const char *text, uint64_t addr)
{
	size_t len = strlen(text) + 1;	/* with the NUL, like "cell load -s" */

	if (addr > RAM_SIZE || len > RAM_SIZE - addr)
		die("command line does not fit at 0x%llx",
		    (unsigned long long)addr);
	memcpy(vm->ram + addr, text, len);
}

/*
 * A read-only page (like a cell region without JAILHOUSE_MEM_WRITE): reads
 * see RO_MEM_PATTERN, writes exit as MMIO and are fatal.
 */
static void setup_ro_mem(struct vm *vm, uint64_t addr)
{
	uint32_t *page;
	unsigned int i;

	if (addr & (RO_MEM_SIZE - 1) || addr < COMM_REGION_BASE +
	    COMM_REGION_SIZE)
		die("--ro-mem 0x%llx: must be page-aligned, above the comm "
		    "region", (unsigned long long)addr);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		die("KVM lacks KVM_CAP_READONLY_MEM");
	page = map_guest_memory(vm, 2, addr, RO_MEM_SIZE, KVM_MEM_READONLY);
	for (i = 0; i < RO_MEM_SIZE / 4; i++)
		page[i] = RO_MEM_PATTERN;
}

static void setup_comm_region(struct vm *vm, const struct options *opt,
			      uint32_t tsc_khz)
{
	struct comm_region *comm = vm->comm;

	memset(comm, 0, COMM_REGION_SIZE);
	memcpy(comm->signature, "JHCOMM", 6);
	comm->revision = opt->comm_revision;
	comm->cell_state = 0;			/* RUNNING */
	comm->flags = opt->virtual_console ?
		COMM_FLAG_DBG_PUTC_PERMITTED | COMM_FLAG_DBG_PUTC_ACTIVE : 0;
	comm->console.address = UART_BASE;	/* whatever --uart says */
	comm->console.type = CON_TYPE_8250;
	comm->console.flags = 0;		/* PIO, byte registers */
	comm->console.divider = 0;		/* as tiny-demo.cell: keep */
	comm->pm_timer_address = PM_TIMER_PORT;
	comm->num_cpus = opt->cpus;
	comm->tsc_khz = tsc_khz;
	comm->apic_khz = 1000000;
}

static struct kvm_cpuid2 *get_supported_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid;
	int nent = 128;

	for (;;) {
		/* +2: room for the hypervisor leaves added later */
		cpuid = calloc(1, sizeof(*cpuid) +
			       (nent + 2) * sizeof(cpuid->entries[0]));
		if (!cpuid)
			die("out of memory");
		cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		if (errno != E2BIG)
			die("KVM_GET_SUPPORTED_CPUID:");
		free(cpuid);
		nent *= 2;
	}
}

/*
 * The host's leaves with Jailhouse's changes (spec 3): hypervisor bit,
 * x2APIC and TSC-deadline on, VMX/SVM off, and KVM's own paravirtual
 * range 0x40000000+ replaced by Jailhouse's signature leaves.
 */
static void setup_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *host)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_cpuid_entry2 e;
	unsigned int i, out = 0;

	cpuid = calloc(1, sizeof(*cpuid) +
		       (host->nent + 2) * sizeof(cpuid->entries[0]));
	if (!cpuid)
		die("out of memory");

	for (i = 0; i < host->nent; i++) {
		e = host->entries[i];
		if (e.function >= 0x40000000 && e.function < 0x50000000)
			continue;
		if (e.function == 1) {
			e.ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC |
				 CPUID_1_ECX_TSC_DEADLINE;
			e.ecx &= ~CPUID_1_ECX_VMX;
			e.ebx = (e.ebx & 0x00ffffff) | vcpu->id << 24;
		}
		if (e.function == 0xb || e.function == 0x1f)
			e.edx = vcpu->id;	/* x2APIC ID */
		if (e.function == 0x80000001)
			e.ecx &= ~CPUID_80000001_ECX_SVM;
		cpuid->entries[out++] = e;
	}
	cpuid->entries[out++] = (struct kvm_cpuid_entry2) {
		.function = 0x40000000,
		.eax = 0x40000001,
		.ebx = 0x6c69614a,	/* "Jail" */
		.ecx = 0x73756f68,	/* "hous" */
		.edx = 0x00000065,	/* "e" */
	};
	cpuid->entries[out++] = (struct kvm_cpuid_entry2) {
		.function = 0x40000001,
	};
	cpuid->nent = out;

	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2:");
	free(cpuid);
}

/*
 * KVM resets the first vCPU's LVT0 to ExtINT; with the in-kernel irqchip a
 * PIC interrupt would then reach the inmate (spec 12). Jailhouse masks all
 * LVTs at reset; LVT0 and LVT1 are the ones KVM may leave open.
 */
static void mask_lint(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *reg;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		die("KVM_GET_LAPIC:");
	reg = (uint32_t *)&lapic.regs[APIC_LVT0];
	*reg |= APIC_LVT_MASKED;
	reg = (uint32_t *)&lapic.regs[APIC_LVT1];
	*reg |= APIC_LVT_MASKED;
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		die("KVM_SET_LAPIC:");
}

static void set_segment(struct kvm_segment *seg, uint16_t selector,
			uint64_t base, uint8_t type, uint8_t s)
{
	*seg = (struct kvm_segment) {
		.selector = selector,
		.base = base,
		.limit = 0xffff,
		.type = type,
		.s = s,
		.present = 1,
	};
}

/* Real-mode state at the reset address (spec 5.1). */
static void setup_registers(struct vcpu *vcpu, uint64_t reset)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = { 0 };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS:");
	set_segment(&sregs.cs, (reset >> 4) & 0xf000, reset & ~0xffffULL,
		    0xb, 1);				/* AR 0x9b */
	set_segment(&sregs.ds, 0, 0, 0x3, 1);		/* AR 0x93 */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	set_segment(&sregs.tr, 0, 0, 0xb, 0);		/* AR 0x8b */
	set_segment(&sregs.ldt, 0, 0, 0x2, 0);		/* AR 0x82 */
	sregs.gdt.base = 0;
	sregs.gdt.limit = 0xffff;
	sregs.idt.base = 0;
	sregs.idt.limit = 0xffff;
	sregs.cr0 = 0x60000010;				/* CD|NW|ET */
	sregs.cr2 = 0;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	/*
	 * KVM_SET_SREGS also writes APIC_BASE; give it the x2APIC value so
	 * it does not undo the MSR below. No BSP bit (spec 12): INIT must
	 * leave every CPU waiting for SIPI.
	 */
	sregs.apic_base = APIC_BASE_X2APIC;
	memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS:");

	regs.rip = reset & 0xffff;
	regs.rflags = 0x2;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS:");

	msrs.hdr.nmsrs = 1;
	msrs.entry.index = MSR_IA32_APICBASE;
	msrs.entry.data = APIC_BASE_X2APIC;
	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
		die("KVM_SET_MSRS(IA32_APIC_BASE) failed");

	/* every cell CPU starts at the reset vector, not just a BSP */
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		die("KVM_SET_MP_STATE:");
}

static void setup_vm(struct vm *vm, const struct options *opt)
{
	struct kvm_cpuid2 *host_cpuid;
	struct vcpu *vcpu;
	int mmap_size, tsc_khz = 0, i;
	unsigned int n;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die("/dev/kvm:");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("unexpected KVM API version");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		die("KVM lacks KVM_CAP_IMMEDIATE_EXIT");

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die("KVM_CREATE_VM:");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		die("KVM_SET_TSS_ADDR:");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP:");

	vm->ram = map_guest_memory(vm, 0, 0, RAM_SIZE, 0);
	vm->comm = map_guest_memory(vm, 1, COMM_REGION_BASE, COMM_REGION_SIZE,
				    0);
	if (opt->ro_mem)
		setup_ro_mem(vm, opt->ro_mem);

	load_image(vm, opt->image, opt->load_addr);
	for (i = 0; i < opt->num_cmdlines; i++)
		load_cmdline(vm, opt->cmdline[i], opt->cmdline_addr[i]);
	for (i = 0; i < opt->num_extra; i++)
		load_image(vm, opt->extra[i], opt->extra_addr[i]);

	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE:");
	host_cpuid = get_supported_cpuid(vm);

	vm->num_vcpus = opt->cpus;
	for (n = 0; n < vm->num_vcpus; n++) {
		vcpu = &vm->vcpus[n];
		vcpu->vm = vm;
		vcpu->id = n;	/* vCPU id = APIC ID = logical CPU number */
		vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, n);
		if (vcpu->fd < 0)
			die("KVM_CREATE_VCPU:");
		vcpu->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, vcpu->fd, 0);
		if (vcpu->run == MAP_FAILED)
			die("mmap kvm_run:");
		if (n == 0) {
			tsc_khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
			if (tsc_khz <= 0)
				die("KVM_GET_TSC_KHZ:");
		}
		/* CPUID first: KVM accepts x2APIC mode only if CPUID has it */
		setup_cpuid(vcpu, host_cpuid);
		mask_lint(vcpu);
		setup_registers(vcpu, opt->reset);
	}
	free(host_cpuid);

	setup_comm_region(vm, opt, tsc_khz);
	setup_pci(vm, opt->pci, opt->pci_trace);
}

/* ---- run control ------------------------------------------------------ */

static void stop_vcpus(struct vm *vm)
{
	unsigned int n;

	/*
	 * stop first, then immediate_exit, then the signal: a vCPU thread
	 * that clears immediate_exit after an EINTR and then reads stop
	 * either sees stop or gets immediate_exit set again afterwards.
	 */
	__atomic_store_n(&vm->stop, true, __ATOMIC_SEQ_CST);
	for (n = 0; n < vm->num_vcpus; n++) {
		__atomic_store_n(&vm->vcpus[n].run->immediate_exit, 1,
				 __ATOMIC_SEQ_CST);
		pthread_kill(vm->vcpus[n].thread, SIGUSR1);
	}
	for (n = 0; n < vm->num_vcpus; n++)
		pthread_join(vm->vcpus[n].thread, NULL);
}

static struct timespec to_timespec(uint64_t ns)
{
	return (struct timespec) {
		.tv_sec = ns / 1000000000ULL,
		.tv_nsec = ns % 1000000000ULL,
	};
}

static volatile uint32_t *comm_field(struct vm *vm, size_t offset)
{
	return (volatile uint32_t *)((uint8_t *)vm->comm + offset);
}

/*
 * The hypervisor's side of the message exchange (spec 2), one message
 * after the other: reply := 0, barrier, message; then poll until a reply,
 * a terminal cell state, a fatal error or MESSAGE_TIMEOUT_NS. Each result
 * goes to stderr.
 */
static void send_messages(struct vm *vm, const struct options *opt)
{
	volatile uint32_t *state = comm_field(vm,
			offsetof(struct comm_region, cell_state));
	volatile uint32_t *msg = comm_field(vm,
			offsetof(struct comm_region, msg_to_cell));
	volatile uint32_t *reply = comm_field(vm,
			offsetof(struct comm_region, reply_from_cell));
	uint32_t r = 0, st = 0;
	uint64_t deadline;
	int i;

	for (i = 0; i < opt->num_messages; i++) {
		*reply = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		*msg = opt->message[i];
		deadline = now_ns() + MESSAGE_TIMEOUT_NS;
		for (;;) {
			st = *state;
			r = *reply;
			if (r || st == CELL_SHUT_DOWN || st == CELL_FAILED ||
			    __atomic_load_n(&vm->fatal, __ATOMIC_SEQ_CST) ||
			    now_ns() >= deadline)
				break;
			usleep(1000);
		}
		fflush(stdout);
		fprintf(stderr, "kvm-floor: message %u: reply %u, "
			"cell_state %u%s\n", opt->message[i], r, st,
			r || st == CELL_SHUT_DOWN || st == CELL_FAILED ?
			"" : " (no answer)");
	}
}

/*
 * Main thread: waits for a stop condition. Returns true when --until
 * matched (and the messages were sent and the linger time passed without
 * a fatal error).
 */
static bool supervise(struct vm *vm, const struct options *opt,
		      uint64_t start)
{
	uint64_t timeout_at = start + (uint64_t)(opt->timeout * 1e9);
	uint64_t linger_at = 0, t, wake;
	bool result = false, messages_sent = false;
	struct timespec ts;

	pthread_mutex_lock(&vm->lock);
	for (;;) {
		t = now_ns();
		if (vm->fatal)
			break;
		if (vm->until && vm->matches >= vm->count) {
			if (opt->num_messages && !messages_sent) {
				pthread_mutex_unlock(&vm->lock);
				send_messages(vm, opt);
				pthread_mutex_lock(&vm->lock);
				messages_sent = true;
				continue;
			}
			if (!linger_at)
				linger_at = t + (uint64_t)(opt->linger * 1e9);
			if (t >= linger_at) {
				result = true;
				break;
			}
		}
		if (opt->timeout > 0 && t >= timeout_at) {
			fflush(stdout);
			fprintf(stderr, "\nkvm-floor: timeout after %.1f s\n",
				opt->timeout);
			break;
		}

		wake = opt->timeout > 0 ? timeout_at : UINT64_MAX;
		if (linger_at && linger_at < wake)
			wake = linger_at;
		if (wake == UINT64_MAX) {
			pthread_cond_wait(&vm->wakeup, &vm->lock);
		} else {
			ts = to_timespec(wake);
			pthread_cond_timedwait(&vm->wakeup, &vm->lock, &ts);
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return result;
}

static void print_summary(struct vm *vm, uint64_t setup_ns, uint64_t run_start,
			  uint64_t run_end)
{
	unsigned long exits[EXIT_KINDS] = { 0 }, total = 0, handled = 0;
	unsigned long xgetbv = 0;
	uint64_t handling_ns = 0;
	struct vcpu *vcpu;
	unsigned int n;
	int i;

	for (n = 0; n < vm->num_vcpus; n++) {
		vcpu = &vm->vcpus[n];
		for (i = 0; i < EXIT_KINDS; i++)
			exits[i] += vcpu->exits[i];
		handled += vcpu->handled_exits;
		handling_ns += vcpu->handling_ns;
		xgetbv += vcpu->xgetbv_emulated;
	}

	/* stopped in mid-line (--until matched before the newline) */
	if (vm->last_char && vm->last_char != '\n')
		putchar('\n');
	fflush(stdout);

	for (i = 0; i < EXIT_KINDS; i++)
		total += exits[i];
	fprintf(stderr, "kvm-floor: %lu exits:", total);
	for (i = 0; i < EXIT_KINDS; i++)
		if (exits[i])
			fprintf(stderr, " %s %lu", exit_kind_name[i], exits[i]);
	fprintf(stderr, "\n");
	if (xgetbv)
		fprintf(stderr, "kvm-floor: xgetbv emulated %lu time(s)\n",
			xgetbv);
	if (vm->pci.model != PCI_NONE)
		fprintf(stderr, "kvm-floor: PCI model sent %lu MSI(s)\n",
			vm->pci.msi_sent);
	fprintf(stderr, "kvm-floor: cell_state %u\n", vm->comm->cell_state);
	fprintf(stderr, "kvm-floor: host handling %.0f ns/exit (mean, user "
		"space from KVM_RUN return to re-entry)\n",
		handled ? (double)handling_ns / handled : 0.0);
	fprintf(stderr, "kvm-floor: set-up %.1f ms, run %.1f ms, first "
		"console output after %.1f ms\n", setup_ns / 1e6,
		(run_end - run_start) / 1e6, vm->first_output_ns ?
		(vm->first_output_ns - run_start) / 1e6 : -1.0);
}

/* ---- command line ----------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvm-floor [options] IMAGE LOADADDR\n"
"  --reset ADDR          CPU reset address: 0 (default) or 0xffff0\n"
"  --cmdline STR         load STR (with NUL) into guest memory ...\n"
"  --cmdline-addr ADDR   ... at ADDR (default 0x1000); up to %d pairs\n"
"  --load FILE           load FILE too, after IMAGE and the command lines ...\n"
"  --load-addr ADDR      ... at ADDR (default 0); as many as --cmdline\n"
"  --until TEXT          stop with status 0 once the console shows TEXT\n"
"  --count N             ... N times (default 1)\n"
"  --linger SEC          keep running SEC seconds after the match\n"
"  --timeout SEC         stop with status 1 after SEC seconds (default 60,\n"
"                        0 = none)\n"
"  --cpus N              vCPUs (default 1, at most %d)\n"
"  --virtual-console     permit and activate the virtual console (comm\n"
"                        flags), serve hypercalls on port 0x5f0\n"
"  --comm-revision N     comm region ABI revision to offer (default 2;\n"
"                        for testing the inmate's revision check)\n"
"  --message CODE        once --until matched, send CODE to the cell (comm\n"
"                        region) and report its answer; up to %d, in order\n"
"  --ro-mem ADDR         a read-only 4 KiB page at ADDR (0x%08x words)\n"
"  --uart PORT           the UART's I/O base (default 0x3f8; the comm\n"
"                        region keeps announcing 0x3f8)\n"
"  --pci MODEL           a PCI device: hda (00:1b.0, as pci-demo.cell) or\n"
"                        ivshmem (01:0e.0, peer 1 of 3, as\n"
"                        ivshmem-demo.cell); default: an empty bus\n"
"  --pci-trace           log the model's config/MMIO accesses and MSIs\n"
"Exit status: 0 if --until matched, 1 otherwise, 2 on set-up errors.\n",
		MAX_CMDLINES, MAX_CPUS, MAX_MESSAGES, RO_MEM_PATTERN);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *s == 0 || *end != 0)
		die("invalid %s: %s", what, s);
	return v;
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == 0 || *end != 0 || v < 0)
		die("invalid %s: %s", what, s);
	return v;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "reset", required_argument, NULL, 'r' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "cmdline-addr", required_argument, NULL, 'a' },
		{ "until", required_argument, NULL, 'u' },
		{ "count", required_argument, NULL, 'n' },
		{ "linger", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "virtual-console", no_argument, NULL, 'v' },
		{ "comm-revision", required_argument, NULL, 'R' },
		{ "message", required_argument, NULL, 'm' },
		{ "ro-mem", required_argument, NULL, 'o' },
		{ "uart", required_argument, NULL, 'U' },
		{ "pci", required_argument, NULL, 'P' },
		{ "pci-trace", no_argument, NULL, 'T' },
		{ "load", required_argument, NULL, 'L' },
		{ "load-addr", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t port;
	int c;

	*opt = (struct options) { .count = 1, .timeout = 60, .cpus = 1,
				  .comm_revision = 2, .uart_base = UART_BASE };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			opt->reset = parse_u64(optarg, "reset address");
			break;
		case 'c':
			if (opt->num_cmdlines == MAX_CMDLINES)
				die("too many --cmdline options");
			opt->cmdline[opt->num_cmdlines] = optarg;
			opt->cmdline_addr[opt->num_cmdlines++] = 0x1000;
			break;
		case 'a':
			if (opt->num_cmdlines == 0)
				die("--cmdline-addr must follow --cmdline");
			opt->cmdline_addr[opt->num_cmdlines - 1] =
				parse_u64(optarg, "command line address");
			break;
		case 'L':
			if (opt->num_extra == MAX_CMDLINES)
				die("too many --load options");
			opt->extra[opt->num_extra] = optarg;
			opt->extra_addr[opt->num_extra++] = 0;
			break;
		case 'A':
			if (opt->num_extra == 0)
				die("--load-addr must follow --load");
			opt->extra_addr[opt->num_extra - 1] =
				parse_u64(optarg, "image address");
			break;
		case 'u':
			if (!*optarg)
				die("--until needs a non-empty text");
			opt->until = optarg;
			break;
		case 'n':
			opt->count = parse_u64(optarg, "count");
			break;
		case 'l':
			opt->linger = parse_seconds(optarg, "linger time");
			break;
		case 't':
			opt->timeout = parse_seconds(optarg, "timeout");
			break;
		case 'C':
			opt->cpus = parse_u64(optarg, "number of CPUs");
			if (opt->cpus < 1 || opt->cpus > MAX_CPUS)
				die("--cpus must be 1..%d", MAX_CPUS);
			break;
		case 'v':
			opt->virtual_console = true;
			break;
		case 'R':
			opt->comm_revision = parse_u64(optarg, "revision");
			break;
		case 'm':
			if (opt->num_messages == MAX_MESSAGES)
				die("too many --message options");
			opt->message[opt->num_messages++] =
				parse_u64(optarg, "message");
			break;
		case 'o':
			opt->ro_mem = parse_u64(optarg, "read-only address");
			break;
		case 'U':
			port = parse_u64(optarg, "UART port");
			if (port == 0 || port > 0xfff8)
				die("invalid UART port: %s", optarg);
			opt->uart_base = port;
			break;
		case 'P':
			if (strcmp(optarg, "hda") == 0)
				opt->pci = PCI_HDA;
			else if (strcmp(optarg, "ivshmem") == 0)
				opt->pci = PCI_IVSHMEM;
			else
				die("unknown PCI model: %s", optarg);
			break;
		case 'T':
			opt->pci_trace = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		exit(2);
	}
	if (opt->num_messages && !opt->until)
		die("--message needs --until");
	opt->image = argv[optind];
	opt->load_addr = parse_u64(argv[optind + 1], "load address");
	if (opt->reset != 0 && opt->reset != 0xffff0)
		fprintf(stderr, "kvm-floor: warning: unusual reset address "
			"0x%llx\n", (unsigned long long)opt->reset);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_kick };
	pthread_condattr_t cattr;
	struct options opt;
	static struct vm vm;
	uint64_t t0, t1;
	unsigned int n;
	bool matched;

	parse_options(argc, argv, &opt);

	/* no SA_RESTART: KVM_RUN must come back with EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die("sigaction:");

	pthread_mutex_init(&vm.lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm.wakeup, &cattr);
	vm.virtual_console = opt.virtual_console;
	vm.uart_base = opt.uart_base;
	vm.until = opt.until;
	vm.until_len = opt.until ? strlen(opt.until) : 0;
	vm.window = malloc(vm.until_len + 1);
	if (!vm.window)
		die("out of memory");
	vm.count = opt.count;

	t0 = now_ns();
	setup_vm(&vm, &opt);
	t1 = now_ns();

	for (n = 0; n < vm.num_vcpus; n++)
		if (pthread_create(&vm.vcpus[n].thread, NULL, vcpu_thread,
				   &vm.vcpus[n]) != 0)
			die("pthread_create failed");

	matched = supervise(&vm, &opt, t1);
	stop_vcpus(&vm);

	print_summary(&vm, t1 - t0, t1, now_ns());
	return matched ? 0 : 1;
}
