/* The guest's memory map (e820, also the PVH memmap) and initrd placement. */
#include "boot/boot_internal.h"

#include <errno.h>

uint64_t boot_low_ram_end(const struct guest_mem *gm)
{
	const struct gmem_region *r = gmem_region(gm, 0);

	return r && r->gpa == 0 ? r->size : 0;
}

static int e820_add(struct e820_entry *out, unsigned max, unsigned *n,
		    uint64_t addr, uint64_t end, uint32_t type)
{
	if (end <= addr)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	out[(*n)++] = (struct e820_entry){ .addr = addr, .size = end - addr, .type = type };
	return 0;
}

/* One RAM region, with the legacy EBDA..1 MiB window carved out of it. */
static int e820_add_region(const struct gmem_region *r, struct e820_entry *out,
			   unsigned max, unsigned *n)
{
	uint64_t start = r->gpa, end = r->gpa + r->size;
	int e = 0;

	if (start >= MEM_HIMEM_START)
		return e820_add(out, max, n, start, end, E820_RAM);
	uint64_t low_end = end < MEM_EBDA_START ? end : MEM_EBDA_START;
	e = e820_add(out, max, n, start, low_end, E820_RAM);
	/* The BIOS window is reserved even where no RAM backs it: the ACPI
	 * tables and MP table live there. */
	if (e == 0 && end > MEM_EBDA_START)
		e = e820_add(out, max, n, MEM_EBDA_START, MEM_HIMEM_START, E820_RESERVED);
	if (e == 0 && end > MEM_HIMEM_START)
		e = e820_add(out, max, n, MEM_HIMEM_START, end, E820_RAM);
	return e;
}

int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < gmem_region_count(gm); i++) {
		int e = e820_add_region(gmem_region(gm, i), out, max, &n);
		if (e)
			return e;
	}
	return (int)n;
}

int initrd_place(uint64_t size, uint64_t min_addr, uint64_t max_addr,
		 uint64_t low_end, uint64_t *addr)
{
	/* top: one past the highest byte the initrd may use */
	uint64_t top = max_addr < UINT64_MAX ? max_addr + 1 : max_addr;

	if (top > low_end)
		top = low_end;
	if (size == 0 || size > top)
		return -ENOMEM;
	uint64_t a = (top - size) & ~(BOOT_PAGE - 1);
	if (a < min_addr)
		return -ENOMEM;
	*addr = a;
	return 0;
}
