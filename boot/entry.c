/* The CPU state the boot vCPU starts in: a GDT with Linux's boot selectors,
 * identity page tables for the 64-bit protocol, control registers. */
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <string.h>

#define GDT_ENTRIES 6	/* null, null, CS, DS, TSS (16 bytes in long mode) */
#define GDT_CODE64  0x00af9b000000ffffULL	/* G, L, P, S, exec/read, accessed */
#define GDT_CODE32  0x00cf9b000000ffffULL	/* G, D, P, S, exec/read, accessed */
#define GDT_DATA    0x00cf93000000ffffULL	/* G, B, P, S, read/write, accessed */
#define GDT_TSS     0x00008b0000000067ULL	/* P, busy TSS, 104 bytes at 0 */

#define PTE_PRESENT 0x1ULL
#define PTE_RW      0x2ULL
#define PTE_PS      0x80ULL
#define PD_PAGES    4	/* 4 x 512 x 2 MiB = 4 GiB */
_Static_assert(PD_PAGES * 512 * 2 * MIB == BOOT_MAPPED_END, "elf.c trusts BOOT_MAPPED_END");

#define CR0_PE   (1ULL << 0)
#define CR0_ET   (1ULL << 4)
#define CR0_PG   (1ULL << 31)
#define CR4_PAE  (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static struct boot_segment seg_decode(uint64_t d, uint16_t selector)
{
	struct boot_segment s = { .selector = selector };
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	uint8_t access = (uint8_t)(d >> 40), flags = (uint8_t)(d >> 52);

	s.base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
	s.type = access & 0xf;
	s.s = (access >> 4) & 1;
	s.dpl = (access >> 5) & 3;
	s.present = access >> 7;
	s.l = (flags >> 1) & 1;
	s.db = (flags >> 2) & 1;
	s.g = (flags >> 3) & 1;
	s.limit = s.g ? (limit << 12) | 0xfff : limit;
	return s;
}

static int page_tables_build(struct guest_mem *gm)
{
	uint64_t *pml4 = gmem_ptr(gm, BOOT_PML4_ADDR, BOOT_PAGE);
	uint64_t *pdpt = gmem_ptr(gm, BOOT_PDPT_ADDR, BOOT_PAGE);
	uint64_t *pd = gmem_ptr(gm, BOOT_PD_ADDR, PD_PAGES * BOOT_PAGE);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, BOOT_PAGE);
	memset(pdpt, 0, BOOT_PAGE);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < PD_PAGES; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * BOOT_PAGE) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < PD_PAGES * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

int entry_setup(struct guest_mem *gm, enum boot_cpu_mode mode, struct boot_entry *entry)
{
	uint64_t code = mode == BOOT_CPU_LONG64 ? GDT_CODE64 : GDT_CODE32;
	uint64_t gdt[GDT_ENTRIES] = { 0, 0, code, GDT_DATA, GDT_TSS, 0 };

	if (gmem_write(gm, BOOT_GDT_ADDR, gdt, sizeof(gdt))) {
		log_error("boot: no RAM for the GDT at %#llx", (unsigned long long)BOOT_GDT_ADDR);
		return -EFAULT;
	}
	entry->mode = mode;
	entry->gdt_base = BOOT_GDT_ADDR;
	entry->gdt_limit = sizeof(gdt) - 1;
	entry->cs = seg_decode(code, BOOT_SEL_CS);
	entry->ds = seg_decode(GDT_DATA, BOOT_SEL_DS);
	entry->tr = seg_decode(GDT_TSS, BOOT_SEL_TSS);
	if (mode == BOOT_CPU_PROT32) {
		entry->cr0 = CR0_PE | CR0_ET;
		entry->cr3 = entry->cr4 = entry->efer = 0;
		return 0;
	}
	if (page_tables_build(gm)) {
		log_error("boot: no RAM for the page tables at %#llx",
			  (unsigned long long)BOOT_PML4_ADDR);
		return -EFAULT;
	}
	entry->cr0 = CR0_PE | CR0_ET | CR0_PG;
	entry->cr3 = BOOT_PML4_ADDR;
	entry->cr4 = CR4_PAE;
	entry->efer = EFER_LME | EFER_LMA;
	return 0;
}
