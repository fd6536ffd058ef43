#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define GMEM_MAX_REGIONS 2
#define GMEM_HUGE_ALIGN (2UL << 20)

struct guest_mem {
	unsigned nregions;
	struct gmem_region regions[GMEM_MAX_REGIONS];
	uint64_t ram_size;
	void *mapping;		/* one mmap covering all regions, NULL if wrapped */
	size_t mapping_size;
};

struct guest_mem *gmem_create(uint64_t ram_size)
{
	if (ram_size < MEM_MIN_SIZE || ram_size > MEM_MAX_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	struct guest_mem *gm = calloc(1, sizeof(*gm));
	if (!gm)
		return NULL;
	/* One host mapping; the guest sees it split around the hole. It is
	 * aligned to 2 MiB and asks for transparent huge pages, so the host
	 * backs guest RAM (and KVM maps it) 2 MiB at a time: far fewer
	 * faults and TLB misses while the guest kernel touches its memory. */
	size_t map_size = ram_size + GMEM_HUGE_ALIGN;
	void *raw = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		free(gm);
		return NULL;
	}
	uintptr_t start = ((uintptr_t)raw + GMEM_HUGE_ALIGN - 1) & ~(uintptr_t)(GMEM_HUGE_ALIGN - 1);
	size_t head = start - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	if (GMEM_HUGE_ALIGN - head)
		munmap((char *)start + ram_size, GMEM_HUGE_ALIGN - head);
	void *p = (void *)start;
	madvise(p, ram_size, MADV_HUGEPAGE);	/* advice only: fine if refused */
	gm->mapping = p;
	gm->mapping_size = ram_size;
	gm->ram_size = ram_size;

	uint64_t low = ram_size < MEM_HOLE_START ? ram_size : MEM_HOLE_START;
	gm->regions[0] = (struct gmem_region){ .gpa = 0, .size = low, .hva = p };
	gm->nregions = 1;
	if (ram_size > low) {
		gm->regions[1] = (struct gmem_region){
			.gpa = MEM_HIGH_START, .size = ram_size - low,
			.hva = (char *)p + low };
		gm->nregions = 2;
	}
	return gm;
}

struct guest_mem *gmem_wrap(void *buf, uint64_t size)
{
	struct guest_mem *gm = calloc(1, sizeof(*gm));
	if (!gm)
		return NULL;
	gm->regions[0] = (struct gmem_region){ .gpa = 0, .size = size, .hva = buf };
	gm->nregions = 1;
	gm->ram_size = size;
	return gm;
}

void gmem_destroy(struct guest_mem *gm)
{
	if (!gm)
		return;
	if (gm->mapping)
		munmap(gm->mapping, gm->mapping_size);
	free(gm);
}

uint64_t gmem_ram_size(const struct guest_mem *gm) { return gm->ram_size; }
unsigned gmem_region_count(const struct guest_mem *gm) { return gm->nregions; }

const struct gmem_region *gmem_region(const struct guest_mem *gm, unsigned i)
{
	return i < gm->nregions ? &gm->regions[i] : NULL;
}

void *gmem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		/* gpa - r->gpa cannot wrap once gpa >= r->gpa; compare lengths
		 * rather than end addresses so gpa + len cannot overflow. */
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size)
			continue;
		if (len > r->size - off)
			return NULL;
		return (char *)r->hva + off;
	}
	return NULL;
}

int gmem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gmem_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
