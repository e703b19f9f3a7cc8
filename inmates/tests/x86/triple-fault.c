/*
 * Jailhouse for Java - triple-fault: hostile test inmate. In long mode it
 * loads an IDT with limit 0 and raises an exception: its vector lies
 * outside the IDT (#GP), so does the #GP's (#DF), and so does the #DF's:
 * the CPU shuts down (triple fault). The hypervisor must stop the cell
 * ("FATAL: Unhandled VM-Exit, reason 2" in Jailhouse's words); if it does
 * not, "triple-fault: survived" follows.
 *
 * "insn=" picks the instruction: int3 (default) or ud2. KVM hosts that
 * emulate guest ring-0 code (spec 12) may fail to emulate the int3 (an
 * emulation failure instead of a shutdown); ud2 raises #UD as a hardware
 * exception and triple-faults there too.
 */

#include <inmate.h>

void inmate_main(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) empty_idt = { 0, 0 };
	char insn[8];
	bool ud2 = strcmp(cmdline_parse_str("insn", insn, sizeof(insn),
					    "int3"), "ud2") == 0;

	printk("triple-fault: loading an empty IDT and executing %s\n",
	       ud2 ? "ud2" : "int3");
	asm volatile("cli\n\t"
		     "lidt %0"
		     : : "m" (empty_idt) : "memory");
	if (ud2)
		asm volatile("ud2");
	else
		asm volatile("int3");
	idt_load();
	printk("triple-fault: survived\n");
}
