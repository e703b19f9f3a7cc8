/*
 * Jailhouse for Java - inmate library: 8250/16550 UART (spec 5.4).
 */

#include <inmate.h>
#include <uart.h>

#define UART_TX			0x0
#define UART_DLL		0x0
#define UART_DLM		0x1
#define UART_LCR		0x3
#define  UART_LCR_8N1		0x03
#define  UART_LCR_DLAB		0x80
#define UART_LSR		0x5
#define  UART_LSR_THRE		0x20

#define UART_IDLE_POLLS		100

u32 uart_reg_in(struct uart_chip *chip, unsigned int reg)
{
	if (!chip->mmio)
		return inb(chip->base + reg);
	if (chip->regdist_1)
		return mmio_read8((void *)(chip->base + reg));
	return mmio_read32((void *)(chip->base + reg * 4));
}

void uart_reg_out(struct uart_chip *chip, unsigned int reg, u32 value)
{
	if (!chip->mmio)
		outb(value, chip->base + reg);
	else if (chip->regdist_1)
		mmio_write8((void *)(chip->base + reg), value);
	else
		mmio_write32((void *)(chip->base + reg * 4), value);
}

static void uart_8250_init(struct uart_chip *chip)
{
	unsigned int idle = 0;

	if (chip->divider) {
		uart_reg_out(chip, UART_LCR, UART_LCR_DLAB);
		uart_reg_out(chip, UART_DLL, chip->divider);
		uart_reg_out(chip, UART_DLM, 0);
		uart_reg_out(chip, UART_LCR, UART_LCR_8N1);
	} else {
		/*
		 * Someone else set the UART up and may still be sending:
		 * wait until the transmitter has stayed empty for a while.
		 */
		while (idle < UART_IDLE_POLLS) {
			if (uart_reg_in(chip, UART_LSR) & UART_LSR_THRE)
				idle++;
			else
				idle = 0;
		}
	}
}

static bool uart_8250_is_busy(struct uart_chip *chip)
{
	return !(uart_reg_in(chip, UART_LSR) & UART_LSR_THRE);
}

static void uart_8250_write(struct uart_chip *chip, char c)
{
	uart_reg_out(chip, UART_TX, (u8)c);
}

struct uart_chip uart_8250_ops = {
	.name = "8250",
	.con_type = JAILHOUSE_CON_TYPE_8250,
	.init = uart_8250_init,
	.is_busy = uart_8250_is_busy,
	.write = uart_8250_write,
};
