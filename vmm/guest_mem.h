/* Guest RAM and the one bounds-checked way to reach it.
 *
 * Every access to guest memory from the VMM goes through gmem_ptr() (or the
 * read/write helpers built on it): a guest-supplied address or length is
 * hostile, so both ends of the range are checked with overflow-safe
 * arithmetic and a range that is not wholly inside one RAM region is
 * refused. */
#ifndef MINIVMM_GUEST_MEM_H
#define MINIVMM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem;

struct gmem_region {
	uint64_t gpa;	/* guest-physical start */
	uint64_t size;
	void *hva;	/* host mapping */
};

/* Map ram_size bytes of anonymous memory (MAP_NORESERVE) laid out as in
 * vmm/layout.h: low RAM from 0 up to the PCI hole, the rest above 4 GiB.
 * Returns NULL with errno set. */
struct guest_mem *gmem_create(uint64_t ram_size);
/* Wrap a caller-owned buffer as RAM at GPA 0 (tests, device harnesses). */
struct guest_mem *gmem_wrap(void *buf, uint64_t size);
void gmem_destroy(struct guest_mem *gm);

uint64_t gmem_ram_size(const struct guest_mem *gm);
unsigned gmem_region_count(const struct guest_mem *gm);
const struct gmem_region *gmem_region(const struct guest_mem *gm, unsigned i);

/* Host pointer for [gpa, gpa+len) or NULL if any byte of it is not RAM
 * (or len is 0 with gpa outside RAM). */
void *gmem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy helpers: 0 or -EFAULT. */
int gmem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

#endif
