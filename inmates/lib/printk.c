/*
 * Jailhouse for Java - inmate library: console and printk (spec 5.4).
 *
 * The console is set up on the first printk:
 *  - virtual console (hypercall 8): only if the comm region flags permit
 *    it; then command line "con-virtual" decides, defaulting to the
 *    DBG_PUTC_ACTIVE flag;
 *  - UART: "con-type" names the driver (x86 knows only "8250"; any other
 *    value such as "none" disables UART output); without "con-type" the
 *    comm region console type decides. "con-base", "con-divider",
 *    "con-is-mmio" and "con-regdist-1" override the comm region console.
 *    An inmate may replace the comm region's address as the default of
 *    "con-base" for port I/O consoles (printk_set_default_pio_base).
 */

#include <inmate.h>
#include <uart.h>

static struct uart_chip *const uart_chips[] = { &uart_8250_ops, NULL };

static struct uart_chip *chip;
static bool console_ready;
static bool virtual_console;

/* printk_set_default_pio_base(); 0: the comm region's address */
static u16 default_pio_base;

/* 0 = free, else x2APIC ID + 1 of the owner; lets a CPU nest printks. */
static volatile u32 console_owner;
static bool fatal_mode;

static void console_init(void)
{
	const struct jailhouse_console *con = &comm_region->console;
	u32 flags = comm_region->flags;
	struct uart_chip *const *iter;
	char buf[32];
	const char *type;

	if (JAILHOUSE_COMM_HAS_DBG_PUTC_PERMITTED(flags))
		virtual_console = cmdline_parse_bool("con-virtual",
				JAILHOUSE_COMM_HAS_DBG_PUTC_ACTIVE(flags));

	type = cmdline_parse_str("con-type", buf, sizeof(buf), NULL);
	for (iter = uart_chips; *iter; iter++) {
		if (type ? strncmp(type, (*iter)->name, sizeof(buf)) == 0
			 : con->type == (*iter)->con_type) {
			chip = *iter;
			break;
		}
	}

	if (chip) {
		chip->mmio = cmdline_parse_bool("con-is-mmio",
				con->flags & JAILHOUSE_CON_ACCESS_MMIO);
		chip->base = cmdline_parse_int("con-base",
				!chip->mmio && default_pio_base ?
				default_pio_base : con->address);
		chip->divider = cmdline_parse_int("con-divider", con->divider);
		chip->regdist_1 = cmdline_parse_bool("con-regdist-1",
				!(con->flags & JAILHOUSE_CON_REGDIST_4));
		if (chip->mmio)
			map_range((void *)chip->base, PAGE_SIZE, MAP_UNCACHED);
		chip->init(chip);
	}

	console_ready = true;
}

void printk_set_default_pio_base(u16 port)
{
	default_pio_base = port;
}

void hypercall_putc(char c)
{
	jailhouse_call_arg1(JAILHOUSE_HC_DEBUG_CONSOLE_PUTC, (u8)c);
}

static void uart_putc(char c)
{
	while (chip->is_busy(chip))
		cpu_relax();
	chip->write(chip, c);
}

static void console_putc(char c)
{
	if (chip) {
		if (c == '\n')
			uart_putc('\r');
		uart_putc(c);
	}
	if (virtual_console)
		hypercall_putc(c);
}

static void console_puts(const char *s)
{
	while (*s)
		console_putc(*s++);
}

static void console_lock(bool *nested)
{
	u32 me;

	*nested = fatal_mode;
	if (*nested)
		return;
	me = cpu_id() + 1;
	if (console_owner == me) {
		*nested = true;
		return;
	}
	while (!__sync_bool_compare_and_swap(&console_owner, 0, me))
		cpu_relax();
}

static void console_unlock(bool nested)
{
	if (!nested)
		__atomic_store_n(&console_owner, 0, __ATOMIC_RELEASE);
}

void printk_fatal_mode(void)
{
	fatal_mode = true;
}

/*
 * Converts value to text in buf (filled from the end), honouring the
 * minimum width and the fill character. Returns the first character.
 */
static char *format_number(char *end, unsigned long long value,
			   unsigned int base, bool negative,
			   unsigned int width, char fill)
{
	static const char digits[] = "0123456789abcdef";
	char *p = end;
	unsigned int len;

	*--p = 0;
	do {
		*--p = digits[value % base];
		value /= base;
	} while (value);

	len = end - p - 1 + (negative ? 1 : 0);
	if (fill == '0') {
		while (len < width) {
			*--p = '0';
			len++;
		}
		if (negative)
			*--p = '-';
	} else {
		if (negative)
			*--p = '-';
		while (len < width) {
			*--p = ' ';
			len++;
		}
	}
	return p;
}

static void pad_string(const char *s, unsigned int width)
{
	unsigned long len = strlen(s);

	while (len < width) {
		console_putc(' ');
		len++;
	}
	console_puts(s);
}

void vprintk(const char *fmt, va_list ap)
{
	/* up to 64 digits, a sign and padding to a width of at most 60 */
	char buf[128];
	char *const end = buf + sizeof(buf);
	unsigned long long uvalue;
	long long svalue;
	unsigned int width, longs;
	const char *s;
	bool nested;
	char fill, c;

	console_lock(&nested);

	if (!console_ready)
		console_init();

	while ((c = *fmt++)) {
		if (c != '%') {
			console_putc(c);
			continue;
		}

		fill = ' ';
		width = 0;
		longs = 0;

		c = *fmt++;
		if (c == '0') {
			fill = '0';
			c = *fmt++;
		}
		while (c >= '0' && c <= '9') {
			width = width * 10 + (c - '0');
			if (width > 60)
				width = 60;
			c = *fmt++;
		}
		while (c == 'l') {
			longs++;
			c = *fmt++;
		}

		switch (c) {
		case 'c':
			console_putc((char)va_arg(ap, int));
			break;
		case 'd':
			if (longs >= 2)
				svalue = va_arg(ap, long long);
			else if (longs == 1)
				svalue = va_arg(ap, long);
			else
				svalue = va_arg(ap, int);
			uvalue = svalue < 0 ? -(unsigned long long)svalue
					    : (unsigned long long)svalue;
			console_puts(format_number(end, uvalue, 10, svalue < 0,
						   width, fill));
			break;
		case 'u':
		case 'x':
			if (longs >= 2)
				uvalue = va_arg(ap, unsigned long long);
			else if (longs == 1)
				uvalue = va_arg(ap, unsigned long);
			else
				uvalue = va_arg(ap, unsigned int);
			console_puts(format_number(end, uvalue,
						   c == 'u' ? 10 : 16, false,
						   width, fill));
			break;
		case 'p':
			console_puts("0x");
			console_puts(format_number(end,
					(unsigned long)va_arg(ap, void *),
					16, false, 16, '0'));
			break;
		case 's':
			s = va_arg(ap, const char *);
			pad_string(s ? s : "(null)", width);
			break;
		case '%':
			console_putc('%');
			break;
		case 0:
			fmt--;	/* '%' at the very end: stop at the NUL */
			console_putc('%');
			break;
		default:
			console_putc('%');
			console_putc(c);
			break;
		}
	}

	console_unlock(nested);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}
