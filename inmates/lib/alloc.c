/*
 * Jailhouse for Java - inmate library: bump allocator. The heap starts at
 * stack_top (inmate.lds) and is never given back. Not SMP-safe: allocate
 * from one CPU (upstream's contract as well).
 */

#include <inmate.h>

unsigned long heap_pos = (unsigned long)stack_top;

void *alloc(unsigned long size, unsigned long align)
{
	unsigned long base = (heap_pos + align - 1) & ~(align - 1);

	heap_pos = base + size;
	return (void *)base;
}

void *zalloc(unsigned long size, unsigned long align)
{
	return memset(alloc(size, align), 0, size);
}
