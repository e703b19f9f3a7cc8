/*
 * Jailhouse for Java - endless-loop: hostile test inmate. Turns interrupts
 * off and spins forever without a single VM exit. The hypervisor must keep
 * the other cells running and still be able to shut this one down and
 * destroy it (it cannot answer a shutdown request).
 */

#include <inmate.h>

void inmate_main(void)
{
	printk("endless-loop: spinning with interrupts off\n");
	asm volatile("cli\n"
		     "1:\tjmp 1b" : : : "memory");
}
