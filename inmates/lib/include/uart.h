/*
 * Jailhouse for Java - inmate library: UART driver interface.
 */

#ifndef _JAILHOUSE_INMATE_UART_H
#define _JAILHOUSE_INMATE_UART_H

struct uart_chip {
	const char *name;		/* matched against con-type */
	u16 con_type;			/* JAILHOUSE_CON_TYPE_* it drives */

	void (*init)(struct uart_chip *chip);
	bool (*is_busy)(struct uart_chip *chip);
	void (*write)(struct uart_chip *chip, char c);

	/* filled from the comm region console and the command line */
	unsigned long base;		/* port or MMIO address */
	u32 divider;
	bool mmio;
	bool regdist_1;			/* byte registers at stride 1 (MMIO) */
};

/* Register access honouring PIO/MMIO and the register distance. */
u32 uart_reg_in(struct uart_chip *chip, unsigned int reg);
void uart_reg_out(struct uart_chip *chip, unsigned int reg, u32 value);

extern struct uart_chip uart_8250_ops;

#endif /* !_JAILHOUSE_INMATE_UART_H */
