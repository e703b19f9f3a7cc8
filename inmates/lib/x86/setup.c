/*
 * Jailhouse for Java - x86 inmate library: CPU feature set-up and the C
 * entry of the first CPU (spec 5.3).
 */

#include <inmate.h>

struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_high;
	u32 reserved;
} __attribute__((packed));

/* 64 vector stubs of 16 bytes each (int-entry.S). */
extern const u8 int_entry_stubs[NUM_IDT_VECTORS][16];

static struct idt_gate idt[NUM_IDT_VECTORS] __attribute__((aligned(16)));

/* Loads the shared IDT on the calling CPU (APs: from header-64.S). */
void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = {
		.limit = sizeof(idt) - 1,
		.base = (unsigned long)idt,
	};

	asm volatile("lidt %0" : : "m" (idtr));
}

static void idt_init(void)
{
	unsigned int vector;
	unsigned long entry;

	for (vector = 0; vector < NUM_IDT_VECTORS; vector++) {
		entry = (unsigned long)int_entry_stubs[vector];
		idt[vector].offset_low = entry & 0xffff;
		idt[vector].selector = INMATE_CS64;
		idt[vector].ist = 0;
		idt[vector].type_attr = 0x8e;	/* present, 64-bit int gate */
		idt[vector].offset_mid = (entry >> 16) & 0xffff;
		idt[vector].offset_high = entry >> 32;
		idt[vector].reserved = 0;
	}
	idt_load();
}

/*
 * Runs on every CPU that reaches C code, before anything else: lets the
 * CPU use the FPU/SSE state (FXSR) and, with XSAVE, enables x87, SSE and,
 * where supported, AVX state in XCR0. The xgetbv here is the one
 * instruction some KVM hosts cannot emulate (spec 12) - the hypervisor
 * completes it.
 */
void arch_init_features(void)
{
	u32 eax, ebx, ecx, edx;
	u32 xcr0_supported, unused;
	u64 xcr0;

	cpuid(1, 0, &eax, &ebx, &ecx, &edx);

	if (edx & X86_FEATURE_EDX_FXSR)
		write_cr4(read_cr4() | X86_CR4_OSFXSR);

	if (ecx & X86_FEATURE_ECX_XSAVE) {
		write_cr4(read_cr4() | X86_CR4_OSXSAVE);
		cpuid(0xd, 0, &xcr0_supported, &unused, &unused, &unused);

		xcr0 = read_xcr0() | X86_XCR0_FP | X86_XCR0_SSE;
		if ((ecx & X86_FEATURE_ECX_AVX) &&
		    (xcr0_supported & X86_XCR0_AVX))
			xcr0 |= X86_XCR0_AVX;
		write_xcr0(xcr0);
	}
}

void c_entry(void)
{
	idt_init();

	if (memcmp(comm_region->signature, COMM_REGION_MAGIC,
		   sizeof(comm_region->signature)) != 0 ||
	    comm_region->revision != COMM_REGION_ABI_REVISION) {
		comm_region->cell_state = JAILHOUSE_CELL_FAILED_COMM_REV;
		stop();
	}

	inmate_main();

	stop();
}
