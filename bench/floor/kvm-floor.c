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
 * an empty PCI bus behind 0xcf8/0xcfc (config reads return all ones) and,
 * with --virtual-console, the hypercall port. Anything else stops the
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
	const char *image;
	uint64_t load_addr;
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

static bool handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint16_t port = run->io.port;
	unsigned int size = run->io.size;
	uint32_t value;

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
	 * An empty PCI bus: the address latch takes dword accesses only;
	 * config data reads return all ones (no device anywhere), config
	 * data writes are invalid (Jailhouse: fatal for unassigned devices).
	 */
	if (port == PCI_ADDR_PORT && size == 4) {
		if (out)
			memcpy(&vcpu->pci_addr, data, 4);
		else
			memcpy(data, &vcpu->pci_addr, 4);
		return true;
	}
	if (!out && port >= PCI_DATA_PORT && port + size <= PCI_DATA_PORT + 4) {
		memset(data, 0xff, size);
		return true;
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
		return fatal(vcpu, "FATAL: Invalid MMIO/RAM %s, "
			     "addr: 0x%016llx size: %d\n",
			     run->mmio.is_write ? "write" : "read",
			     (unsigned long long)run->mmio.phys_addr,
			     run->mmio.len);
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
