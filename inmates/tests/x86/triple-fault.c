/*
 * Jailhouse for Java - triple-fault: hostile test inmate. In long mode it
 * loads an IDT with limit 0 and executes int3: vector 3 lies outside the
 * IDT (#GP), so does the #GP's (#DF), and so does the #DF's: the CPU shuts
 * down (triple fault). The hypervisor must stop the cell
 * ("FATAL: Unhandled VM-Exit, reason 2" in Jailhouse's words); if it does
 * not, "triple-fault: survived" follows.
 */

#include <inmate.h>

void inmate_main(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	printk("triple-fault: loading an empty IDT and executing int3\n");
	asm volatile("cli\n\t"
		     "lidt %0\n\t"
		     "int3"
		     : : "m" (empty_idt) : "memory");
	idt_load();
	printk("triple-fault: survived\n");
}
