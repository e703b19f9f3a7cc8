/*
 * Jailhouse for Java - guest-noise: hostile test inmate for everything a
 * guest can make the hypervisor say. Each option runs one part, in this
 * order, then "guest-noise: done" is printed:
 *
 *   info          HYPERVISOR_GET_INFO with types that are small only in
 *                 their low 32 bits (the full 64-bit value must decide);
 *                 prints "info TYPE: RESULT" for each
 *   hypercalls=N  N calls of an unknown hypercall (0x4242), each of which
 *                 the hypervisor could report with a line
 *   putc=N        N bytes through the debug-console hypercall (lines of
 *                 63 '~' and a newline); needs a cell that permits it
 *   escapes       terminal control sequences on the console: a window
 *                 title, a screen clear and a C1 CSI
 */

#include <inmate.h>

/* A hypercall with full 64-bit arguments (the library's take 32 bits). */
static inline u32 call64(u32 code, unsigned long arg1)
{
	u32 result;

	asm volatile("outl %%eax, %%dx\n\t"
		     "inl %%dx, %%eax"
		     : "=a" (result)
		     : "a" (code), "d" ((u16)JAILHOUSE_HC_PORT), "D" (arg1),
		       "S" (0UL)
		     : "memory");
	return result;
}

static void info(void)
{
	static const unsigned long types[] = {
		4, 0x8000000000000000UL, 0xffffffff00000004UL,
		0x100000000UL, 5,
	};
	unsigned int n;

	for (n = 0; n < sizeof(types) / sizeof(types[0]); n++)
		printk("info 0x%lx: %d\n", types[n],
		       (int)call64(JAILHOUSE_HC_HYPERVISOR_GET_INFO, types[n]));
}

void inmate_main(void)
{
	long hypercalls = cmdline_parse_int("hypercalls", 0);
	long putc = cmdline_parse_int("putc", 0);
	long n;

	printk("guest-noise: starting\n");
	if (cmdline_parse_bool("info", false))
		info();
	for (n = 0; n < hypercalls; n++)
		call64(0x4242, 0);
	if (hypercalls)
		printk("guest-noise: %ld unknown hypercalls made\n", hypercalls);
	for (n = 0; n < putc; n++)
		jailhouse_call_arg1(JAILHOUSE_HC_DEBUG_CONSOLE_PUTC,
				    n % 64 == 63 ? '\n' : '~');
	if (putc)
		printk("guest-noise: %ld debug-console bytes written\n", putc);
	if (cmdline_parse_bool("escapes", false))
		printk("escapes: \033]0;retitled\007 \033[2J \302\233" "31m "
		       "bell\007 end\n");
	printk("guest-noise: done\n");
}
