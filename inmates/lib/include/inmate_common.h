/*
 * Jailhouse for Java - inmate library, architecture-independent interface.
 * Included by the architecture's <inmate.h>, which defines the integer
 * types and low-level accessors first.
 */

#ifndef _JAILHOUSE_INMATE_COMMON_H
#define _JAILHOUSE_INMATE_COMMON_H

#define NULL			((void *)0)

#define NS_PER_USEC		1000ULL
#define NS_PER_MSEC		1000000ULL
#define NS_PER_SEC		1000000000ULL

#define CMDLINE_BUFFER_SIZE	256

#define PCI_CFG_VENDOR_ID	0x000
#define PCI_CFG_DEVICE_ID	0x002
#define PCI_CFG_COMMAND		0x004
# define PCI_CMD_IO		(1 << 0)
# define PCI_CMD_MEM		(1 << 1)
# define PCI_CMD_MASTER		(1 << 2)
# define PCI_CMD_INTX_OFF	(1 << 10)
#define PCI_CFG_STATUS		0x006
# define PCI_STS_INT		(1 << 3)
# define PCI_STS_CAPS		(1 << 4)
#define PCI_CFG_BAR		0x010
# define PCI_BAR_64BIT		0x4
#define PCI_CFG_CAP_PTR		0x034

#define PCI_ID_ANY		0xffff
#define PCI_DEV_CLASS_OTHER	0xff

#define PCI_CAP_MSI		0x05
#define PCI_CAP_VENDOR		0x09
#define PCI_CAP_MSIX		0x11

#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_FMASK		0x4000

#ifndef __ASSEMBLY__

typedef s8 __s8;
typedef u8 __u8;
typedef s16 __s16;
typedef u16 __u16;
typedef s32 __s32;
typedef u32 __u32;
typedef s64 __s64;
typedef u64 __u64;

typedef _Bool bool;
#define true	1
#define false	0

#include <stdarg.h>
#include <jailhouse/hypercall.h>

#define comm_region	((struct jailhouse_comm_region *)COMM_REGION_BASE)

static inline void __attribute__((noreturn)) stop(void)
{
	arch_disable_irqs();
	halt();
}

/* Console (printk.c) */
void __attribute__((format(printf, 1, 2))) printk(const char *fmt, ...);
void vprintk(const char *fmt, va_list ap);
/* For fatal paths: printk without taking the console lock from now on. */
void printk_fatal_mode(void);
/*
 * Call before the first printk: port becomes the default of "con-base"
 * for a port I/O UART instead of the comm region's console address
 * (pci-demo: the second serial port). The command line still wins.
 */
void printk_set_default_pio_base(u16 port);
/* Virtual console character output: hypercall 8 via JAILHOUSE_HC_PORT. */
void hypercall_putc(char c);

/* Bump allocator on the heap above stack_top (alloc.c) */
extern unsigned long heap_pos;
void *alloc(unsigned long size, unsigned long align);
void *zalloc(unsigned long size, unsigned long align);

/* string.c */
void *memset(void *s, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void *memmove(void *d, const void *s, unsigned long n);
int memcmp(const void *s1, const void *s2, unsigned long n);
unsigned long strlen(const char *s);
int strcmp(const char *s1, const char *s2);
int strncmp(const char *s1, const char *s2, unsigned long n);
int strncasecmp(const char *s1, const char *s2, unsigned long n);

/* Command line (cmdline.c), spec 5.4 */
const char *cmdline_parse_str(const char *param, char *value_buffer,
			      unsigned long buffer_size,
			      const char *default_value);
long long cmdline_parse_int(const char *param, long long default_value);
bool cmdline_parse_bool(const char *param, bool default_value);

/*
 * The command line buffer at 0x1000 (section .cmdline). The library brings
 * a CMDLINE_BUFFER_SIZE default; an inmate wanting more space writes
 * CMDLINE_BUFFER(size); at file scope.
 */
#define CMDLINE_BUFFER(size) \
	const char cmdline[size] __attribute__((section(".cmdline"), used))

extern const char cmdline[];
extern const char stack_top[];

/* Paging (mem.c): 2 MiB identity mappings */
enum map_type { MAP_CACHED, MAP_UNCACHED };
void map_range(void *start, unsigned long size, enum map_type map_type);

/* Interrupts (int.c). The library sends the EOI after the handler. */
typedef void (*irq_handler_t)(unsigned int);
void irq_init(irq_handler_t handler);
void irq_enable(unsigned int irq);

/* PCI (pci.c) */
void pci_init(void);
u32 pci_read_config(u16 bdf, unsigned int addr, unsigned int size);
void pci_write_config(u16 bdf, unsigned int addr, u32 value,
		      unsigned int size);
int pci_find_device(u16 vendor, u16 device, u16 start_bdf);
int pci_find_cap(u16 bdf, u16 cap);
void pci_msi_set_vector(u16 bdf, unsigned int vector);
void pci_msix_set_vector(u16 bdf, unsigned int vector, u32 index);

/* The inmate's entry point, called on the first CPU only. */
void inmate_main(void);

#endif /* !__ASSEMBLY__ */

#endif /* !_JAILHOUSE_INMATE_COMMON_H */
