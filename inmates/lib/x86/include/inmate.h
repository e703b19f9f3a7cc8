/*
 * Jailhouse for Java - x86 inmate library, public interface.
 *
 * An inmate includes only <inmate.h>. The names follow upstream Jailhouse's
 * inmate API so that its demos can be written against this library; the
 * implementation is this project's own (see inmates/README.md).
 */

#ifndef _JAILHOUSE_INMATE_H
#define _JAILHOUSE_INMATE_H

#define COMM_REGION_BASE	0x100000

/* Image layout (inmate.lds, spec 5.2/5.6) */
#define CMDLINE_ADDR		0x1000
#define IMAGE_SIZE		0x10000
#define RESET_VECTOR_OFFSET	0xfff0

/* GDT selectors set up by the boot code (spec 5.3). */
#define INMATE_CS32		0x8
#define INMATE_CS64		0x10

#define PAGE_SIZE		(4 * 1024ULL)
#define HUGE_PAGE_SIZE		(2 * 1024 * 1024ULL)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#define HUGE_PAGE_MASK		(~(HUGE_PAGE_SIZE - 1))
#define BITS_PER_LONG		64

#define SMP_MAX_CPUS		255

/* IDT size set up by c_entry; vectors from 32 on are interrupts */
#define NUM_IDT_VECTORS		64
#define IRQ_VECTOR_FIRST	32

/* Control registers and MSRs the library touches. */
#define X86_CR0_PE		0x00000001
#define X86_CR0_WP		0x00010000
#define X86_CR0_PG		0x80000000
#define X86_CR4_PAE		0x00000020
#define X86_CR4_OSFXSR		0x00000200
#define X86_CR4_OSXSAVE		0x00040000

#define X86_XCR0_FP		0x1
#define X86_XCR0_SSE		0x2
#define X86_XCR0_AVX		0x4

#define MSR_EFER		0xc0000080
#define EFER_LME		0x00000100
#define MSR_MTRR_DEF_TYPE	0x000002ff
#define MTRR_ENABLE		0x00000800
#define MSR_IA32_TSC_DEADLINE	0x000006e0

/* x2APIC registers as MSRs (spec 5.4). */
#define X2APIC_ID		0x802
#define X2APIC_EOI		0x80b
#define X2APIC_SPIV		0x80f
#define X2APIC_ICR		0x830
#define X2APIC_LVTT		0x832
#define X2APIC_TMICT		0x838
#define X2APIC_TMCCT		0x839
#define X2APIC_TDCR		0x83e

#define APIC_EOI_ACK		0
#define APIC_SPIV_ENABLE_VEC	0x1ff	/* enabled, spurious vector 0xff */
#define APIC_DM_FIXED		0x000
#define APIC_DM_INIT		0x500
#define APIC_DM_SIPI		0x600
#define APIC_LVL_ASSERT		(1 << 14)
#define APIC_TIMER_TSC_DEADLINE	(1 << 18)

/* CPUID.1 feature bits */
#define X86_FEATURE_ECX_XSAVE	(1 << 26)
#define X86_FEATURE_ECX_AVX	(1 << 28)
#define X86_FEATURE_ECX_TSC_DEADLINE (1 << 24)
#define X86_FEATURE_EDX_FXSR	(1 << 24)

/* Page table entry bits */
#define PAGE_FLAG_PRESENT	0x001
#define PAGE_FLAG_RW		0x002
#define PAGE_FLAG_PCD		0x010
#define PAGE_FLAG_PS		0x080
#define PAGE_ADDR_MASK		0x000ffffffffff000ULL

#ifndef __ASSEMBLY__

typedef signed char s8;
typedef unsigned char u8;
typedef signed short s16;
typedef unsigned short u16;
typedef signed int s32;
typedef unsigned int u32;
typedef signed long long s64;
typedef unsigned long long u64;

static inline void arch_disable_irqs(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void disable_irqs(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void enable_irqs(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline void __attribute__((noreturn)) halt(void)
{
	while (1)
		asm volatile("hlt" : : : "memory");
}

static inline void outb(u8 v, u16 port)
{
	asm volatile("outb %0, %1" : : "a" (v), "dN" (port));
}

static inline void outw(u16 v, u16 port)
{
	asm volatile("outw %0, %1" : : "a" (v), "dN" (port));
}

static inline void outl(u32 v, u16 port)
{
	asm volatile("outl %0, %1" : : "a" (v), "dN" (port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a" (v) : "dN" (port));
	return v;
}

static inline u16 inw(u16 port)
{
	u16 v;

	asm volatile("inw %1, %0" : "=a" (v) : "dN" (port));
	return v;
}

static inline u32 inl(u16 port)
{
	u32 v;

	asm volatile("inl %1, %0" : "=a" (v) : "dN" (port));
	return v;
}

/*
 * MMIO accessors. Plain MOVs with a register operand: the hypervisor (or
 * KVM) has to decode the instruction, so keep to the simplest forms.
 */
static inline u8 mmio_read8(void *address)
{
	u8 v;

	asm volatile("movb (%1), %0" : "=q" (v) : "r" (address) : "memory");
	return v;
}

static inline u16 mmio_read16(void *address)
{
	u16 v;

	asm volatile("movw (%1), %0" : "=r" (v) : "r" (address) : "memory");
	return v;
}

static inline u32 mmio_read32(void *address)
{
	u32 v;

	asm volatile("movl (%1), %0" : "=r" (v) : "r" (address) : "memory");
	return v;
}

static inline u64 mmio_read64(void *address)
{
	u64 v;

	asm volatile("movq (%1), %0" : "=r" (v) : "r" (address) : "memory");
	return v;
}

static inline void mmio_write8(void *address, u8 value)
{
	asm volatile("movb %0, (%1)" : : "q" (value), "r" (address) : "memory");
}

static inline void mmio_write16(void *address, u16 value)
{
	asm volatile("movw %0, (%1)" : : "r" (value), "r" (address) : "memory");
}

static inline void mmio_write32(void *address, u32 value)
{
	asm volatile("movl %0, (%1)" : : "r" (value), "r" (address) : "memory");
}

static inline void mmio_write64(void *address, u64 value)
{
	asm volatile("movq %0, (%1)" : : "r" (value), "r" (address) : "memory");
}

static inline u64 read_msr(unsigned int msr)
{
	u32 low, high;

	asm volatile("rdmsr" : "=a" (low), "=d" (high) : "c" (msr) : "memory");
	return low | ((u64)high << 32);
}

static inline void write_msr(unsigned int msr, u64 val)
{
	asm volatile("wrmsr"
		     : : "c" (msr), "a" ((u32)val), "d" ((u32)(val >> 32))
		     : "memory");
}

static inline void cpuid(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx, u32 *ecx,
			 u32 *edx)
{
	asm volatile("cpuid"
		     : "=a" (*eax), "=b" (*ebx), "=c" (*ecx), "=d" (*edx)
		     : "a" (leaf), "c" (subleaf)
		     : "memory");
}

static inline u64 rdtsc(void)
{
	u32 low, high;

	asm volatile("rdtsc" : "=a" (low), "=d" (high));
	return low | ((u64)high << 32);
}

static inline unsigned long read_cr4(void)
{
	unsigned long cr4;

	asm volatile("mov %%cr4, %0" : "=r" (cr4));
	return cr4;
}

static inline void write_cr4(unsigned long cr4)
{
	asm volatile("mov %0, %%cr4" : : "r" (cr4) : "memory");
}

static inline u64 read_xcr0(void)
{
	u32 low, high;

	asm volatile("xgetbv" : "=a" (low), "=d" (high) : "c" (0));
	return low | ((u64)high << 32);
}

static inline void write_xcr0(u64 val)
{
	asm volatile("xsetbv"
		     : : "c" (0), "a" ((u32)val), "d" ((u32)(val >> 32))
		     : "memory");
}

/* x2APIC ID of the calling CPU (x2APIC is on from reset, spec 5.4). */
static inline unsigned int cpu_id(void)
{
	return read_msr(X2APIC_ID);
}

static inline void apic_eoi(void)
{
	write_msr(X2APIC_EOI, APIC_EOI_ACK);
}

/* IRQ / exceptions (int.c) */
void excp_reporting_init(void);
void irq_send_ipi(unsigned int cpu_id, unsigned int vector);

/* IOAPIC (ioapic.c) */
#define IOAPIC_BASE		((void *)0xfec00000)

enum ioapic_trigger_mode {
	TRIGGER_EDGE = 0,
	TRIGGER_LEVEL_ACTIVE_HIGH = 1 << 15,
	TRIGGER_LEVEL_ACTIVE_LOW = (1 << 15) | (1 << 13),
};

void ioapic_init(void);
void ioapic_pin_set_vector(unsigned int pin,
			   enum ioapic_trigger_mode trigger_mode,
			   unsigned int vector);

/* Timing (timing.c) */
#define PM_TIMER_HZ		3579545ULL
#define PM_TIMER_OVERFLOW	0x1000000ULL

unsigned long long pm_timer_read(void);
void delay_us(unsigned long microsecs);
unsigned long tsc_init(void);
unsigned long tsc_read_ns(void);
unsigned long apic_timer_init(unsigned int vector);
void apic_timer_set(unsigned long long timeout_ns);

/* SMP (smp.c, header-64.S) */
extern volatile u32 smp_num_cpus;
extern u8 smp_cpu_ids[SMP_MAX_CPUS];
void smp_wait_for_all_cpus(void);
void smp_start_cpu(unsigned int cpu_id, void (*entry)(void));

/* Boot code internals shared with C (header-64.S, setup.c) */
extern u64 pml4[512];
void arch_init_features(void);
void idt_load(void);
void c_entry(void);

#endif /* !__ASSEMBLY__ */

#include <inmate_common.h>

#endif /* !_JAILHOUSE_INMATE_H */
