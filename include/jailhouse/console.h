/*
 * Jailhouse for Java - console descriptor shared by the system configuration
 * (hypervisor debug console) and each cell configuration (inmate console).
 *
 * Layout: configuration format revision 14, 32 bytes, packed, little endian.
 */

#ifndef _JAILHOUSE_CONSOLE_H
#define _JAILHOUSE_CONSOLE_H

#include <jailhouse/types.h>

/* Values of jailhouse_console.type */
#define JAILHOUSE_CON_TYPE_NONE		0x0000
#define JAILHOUSE_CON_TYPE_EFIFB	0x0001
#define JAILHOUSE_CON_TYPE_8250		0x0002
#define JAILHOUSE_CON_TYPE_PL011	0x0003
#define JAILHOUSE_CON_TYPE_XUARTPS	0x0004
#define JAILHOUSE_CON_TYPE_MVEBU	0x0005
#define JAILHOUSE_CON_TYPE_HSCIF	0x0006
#define JAILHOUSE_CON_TYPE_SCIFA	0x0007
#define JAILHOUSE_CON_TYPE_IMX		0x0008
#define JAILHOUSE_CON_TYPE_IMX_LPUART	0x0009
#define JAILHOUSE_CON_TYPE_SCIF		0x000a

/*
 * Bits of jailhouse_console.flags. Several names stand for 0: they document
 * the default choice of their group (port I/O, byte stride, 1024x768).
 */
#define JAILHOUSE_CON_ACCESS_PIO	0x0000
#define JAILHOUSE_CON_ACCESS_MMIO	0x0001

#define JAILHOUSE_CON_REGDIST_1		0x0000
#define JAILHOUSE_CON_REGDIST_4		0x0002

#define JAILHOUSE_CON_FB_1024x768	0x0000
#define JAILHOUSE_CON_FB_1920x1080	0x0004

#define JAILHOUSE_CON_INVERTED_GATE	0x1000
#define JAILHOUSE_CON_MDR_QUIRK		0x2000

#ifndef __ASSEMBLY__

struct jailhouse_console {
	__u64 address;		/* port number or MMIO base */
	__u32 size;		/* MMIO window size, unused for port I/O */
	__u16 type;		/* JAILHOUSE_CON_TYPE_* */
	__u16 flags;		/* JAILHOUSE_CON_* bits */
	__u32 divider;		/* UART divisor; 0 keeps the firmware setup */
	__u32 gate_nr;		/* clock gate bit (ARM) */
	__u64 clock_reg;	/* clock gate register (ARM), 0 = none */
} __attribute__((packed));

_Static_assert(sizeof(struct jailhouse_console) == 32,
	       "struct jailhouse_console must be 32 bytes");

#endif /* !__ASSEMBLY__ */

#endif /* !_JAILHOUSE_CONSOLE_H */
