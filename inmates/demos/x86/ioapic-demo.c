/*
 * Jailhouse for Java - ioapic-demo: takes the ACPI SCI through the IOAPIC
 * (spec 5.5, 13). Pin 9 (GSI 9, the SCI) is programmed level-triggered,
 * active high, to vector 32 on this CPU; TMR_EN is set in PM1a_EN, which
 * sits at the PM timer port - 8 as on QEMU's machines. The PM timer's bit 23
 * toggles every 2.34 s and sets TMR_STS, which asserts the SCI; each
 * interrupt prints the status and writes it back to clear it. The main path
 * only waits in hlt.
 */

#include <inmate.h>

#define ACPI_GSI		9
#define ACPI_VECTOR		32

#define PM1_STATUS		0
#define PM1_ENABLE		2
#define PM1_TMR_EN		0x0001
#define PM1_BELOW_PM_TIMER	8

static u16 pm_base;

static void irq_handler(unsigned int vector)
{
	u16 status;

	if (vector != ACPI_VECTOR)
		return;

	status = inw(pm_base + PM1_STATUS);
	printk("ACPI IRQ received, status: %04x\n", status);
	/* write 1 to clear: the line drops before the EOI that follows */
	outw(status, pm_base + PM1_STATUS);
}

void inmate_main(void)
{
	irq_init(irq_handler);

	ioapic_init();
	ioapic_pin_set_vector(ACPI_GSI, TRIGGER_LEVEL_ACTIVE_HIGH, ACPI_VECTOR);

	pm_base = comm_region->pm_timer_address - PM1_BELOW_PM_TIMER;
	outw(inw(pm_base + PM1_ENABLE) | PM1_TMR_EN, pm_base + PM1_ENABLE);

	printk("Note: ACPI IRQs are broken for Linux now.\n");

	enable_irqs();
	halt();
}
