/*
 * Jailhouse for Java - x86 inmate library: identity mappings with 2 MiB
 * pages in the boot page tables (pml4 in header-64.S). Missing tables come
 * from the heap.
 */

#include <inmate.h>

static u64 *next_table(u64 *entry)
{
	if (!(*entry & PAGE_FLAG_PRESENT))
		*entry = (unsigned long)zalloc(PAGE_SIZE, PAGE_SIZE) |
			PAGE_FLAG_PRESENT | PAGE_FLAG_RW;
	return (u64 *)(unsigned long)(*entry & PAGE_ADDR_MASK);
}

void map_range(void *start, unsigned long size, enum map_type map_type)
{
	u64 vaddr = (unsigned long)start & HUGE_PAGE_MASK;
	u64 end = (unsigned long)start + size;
	u64 *pdpt, *pd;

	while (vaddr < end) {
		pdpt = next_table(&pml4[(vaddr >> 39) & 0x1ff]);
		pd = next_table(&pdpt[(vaddr >> 30) & 0x1ff]);
		pd[(vaddr >> 21) & 0x1ff] = vaddr | PAGE_FLAG_PRESENT |
			PAGE_FLAG_RW | PAGE_FLAG_PS |
			(map_type == MAP_UNCACHED ? PAGE_FLAG_PCD : 0);
		asm volatile("invlpg (%0)" : : "r" (vaddr) : "memory");
		vaddr += HUGE_PAGE_SIZE;
	}
}
