/*
 * Jailhouse for Java - x86 inmate library: IOAPIC redirection entries
 * (spec 5.4). The IOAPIC sits at its fixed address 0xfec00000.
 */

#include <inmate.h>

#define IOAPIC_REG_INDEX	0x00
#define IOAPIC_REG_DATA		0x10
#define IOAPIC_REDIR_TBL_START	0x10

static void ioapic_reg_write(unsigned int reg, u32 value)
{
	mmio_write32((u8 *)IOAPIC_BASE + IOAPIC_REG_INDEX, reg);
	mmio_write32((u8 *)IOAPIC_BASE + IOAPIC_REG_DATA, value);
}

void ioapic_init(void)
{
	map_range(IOAPIC_BASE, PAGE_SIZE, MAP_UNCACHED);
}

void ioapic_pin_set_vector(unsigned int pin,
			   enum ioapic_trigger_mode trigger_mode,
			   unsigned int vector)
{
	ioapic_reg_write(IOAPIC_REDIR_TBL_START + pin * 2 + 1, cpu_id() << 24);
	ioapic_reg_write(IOAPIC_REDIR_TBL_START + pin * 2,
			 trigger_mode | vector);
}
