/* ELF vmlinux (or a freestanding ELF guest): PT_LOAD segments at p_paddr,
 * 64-bit entry at e_entry (translated to a physical address), or the PVH
 * entry from a Xen ELF note (XEN_ELFNOTE_PHYS32_ENTRY). */
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define X "%#" PRIx64

bool elf_detect(const struct boot_file *f)
{
	return f->size >= SELFMAG && memcmp(f->data, ELFMAG, SELFMAG) == 0;
}

static int elf_check_ehdr(const struct boot_file *f, const Elf64_Ehdr *eh)
{
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return boot_file_fail(f, "not a 64-bit ELF file (EI_CLASS %u); minivmm boots "
				"x86-64 kernels only", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return boot_file_fail(f, "not a little-endian ELF file (EI_DATA %u)",
				eh->e_ident[EI_DATA]);
	if (eh->e_machine != EM_X86_64)
		return boot_file_fail(f, "ELF machine %u is not x86-64 (%u)", eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return boot_file_fail(f, "ELF type %u is not an executable", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return boot_file_fail(f, "garbled ELF header: e_phentsize %u (expected %zu)",
				eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return boot_file_fail(f, "ELF file has no program headers");
	uint64_t phsize = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > f->size || phsize > f->size - eh->e_phoff)
		return boot_file_fail(f, "truncated: program headers at " X " (+" X ") run past the "
				"end of the file (" X " bytes)", eh->e_phoff, phsize, f->size);
	return 0;
}

/* A copy of program header i: e_phoff need not be aligned. */
static Elf64_Phdr elf_phdr(const struct boot_file *f, const Elf64_Ehdr *eh, unsigned i)
{
	Elf64_Phdr ph;

	memcpy(&ph, f->data + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

static int elf_check_load(const struct boot_file *f, unsigned i, const Elf64_Phdr *ph)
{
	if (ph->p_offset > f->size || ph->p_filesz > f->size - ph->p_offset)
		return boot_file_fail(f, "truncated: segment %u data at " X " (+" X ") runs past the "
				"end of the file (" X " bytes)", i, ph->p_offset, ph->p_filesz,
				f->size);
	if (ph->p_filesz > ph->p_memsz)
		return boot_file_fail(f, "garbled segment %u: p_filesz " X " > p_memsz " X, i,
				ph->p_filesz, ph->p_memsz);
	if (ph->p_paddr > UINT64_MAX - ph->p_memsz || ph->p_vaddr > UINT64_MAX - ph->p_memsz)
		return boot_file_fail(f, "garbled segment %u: address " X " + size " X " overflows", i,
				ph->p_paddr, ph->p_memsz);
	return 0;
}

/* Walk one PT_NOTE's notes looking for Xen's PHYS32_ENTRY. */
static int elf_scan_notes(const struct boot_file *f, const Elf64_Phdr *ph, struct elf_info *info)
{
	if (ph->p_offset > f->size || ph->p_filesz > f->size - ph->p_offset)
		return boot_file_fail(f, "truncated: PT_NOTE at " X " (+" X ") runs past the end of "
				"the file", ph->p_offset, ph->p_filesz);
	const uint8_t *p = f->data + ph->p_offset;
	uint64_t left = ph->p_filesz;

	while (left >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p, sizeof(nh));
		uint64_t name_len = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		uint64_t desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		left -= sizeof(nh);
		p += sizeof(nh);
		if (name_len > left || desc_len > left - name_len)
			return boot_file_fail(f, "garbled ELF note: name %u + desc %u bytes run past "
					"its PT_NOTE", nh.n_namesz, nh.n_descsz);
		const uint8_t *name = p, *desc = p + name_len;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(name, "Xen", 4) == 0) {
			uint64_t entry = 0;
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return boot_file_fail(f, "garbled PVH note: %u-byte entry", nh.n_descsz);
			memcpy(&entry, desc, nh.n_descsz);
			if (entry > UINT32_MAX)
				return boot_file_fail(f, "PVH entry " X " is above 4 GiB", entry);
			info->pvh_entry = (uint32_t)entry;
			info->has_pvh = true;
		}
		p += name_len + desc_len;
		left -= name_len + desc_len;
	}
	return 0;
}

/* The physical address of virtual address va, through the PT_LOADs. */
static bool elf_virt_to_phys(const struct boot_file *f, const Elf64_Ehdr *eh, uint64_t va,
			     uint64_t *pa)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, eh, i);
		if (ph.p_type == PT_LOAD && va >= ph.p_vaddr && va - ph.p_vaddr < ph.p_memsz) {
			*pa = ph.p_paddr + (va - ph.p_vaddr);
			return true;
		}
	}
	return false;
}

static bool elf_phys_loaded(const struct boot_file *f, const Elf64_Ehdr *eh, uint64_t pa)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, eh, i);
		if (ph.p_type == PT_LOAD && pa >= ph.p_paddr && pa - ph.p_paddr < ph.p_memsz)
			return true;
	}
	return false;
}

/* A PT_LOAD: checked, and counted toward the kernel's end if it loads anything. */
static int elf_account_load(const struct boot_file *f, unsigned i, const Elf64_Phdr *ph,
			    struct elf_info *info, unsigned *nload)
{
	int r = elf_check_load(f, i, ph);
	if (r || ph->p_memsz == 0)
		return r;	/* an empty segment loads nothing and ends nothing */
	/* The 64-bit entry runs on boot/entry.c's page tables, PVH with paging
	 * off: either way only the first 4 GiB are reachable. */
	if (ph->p_paddr + ph->p_memsz > BOOT_MAPPED_END)
		return boot_file_fail(f, "segment %u at [" X ", +" X ") ends above 4 GiB: the "
				"boot page tables map only the first 4 GiB", i, ph->p_paddr,
				ph->p_memsz);
	(*nload)++;
	if (ph->p_paddr + ph->p_memsz > info->end)
		info->end = ph->p_paddr + ph->p_memsz;
	return 0;
}

static int elf_check_segments(const struct boot_file *f, const Elf64_Ehdr *eh,
			      struct elf_info *info)
{
	unsigned nload = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, eh, i);
		int r = 0;
		if (ph.p_type == PT_LOAD)
			r = elf_account_load(f, i, &ph, info, &nload);
		else if (ph.p_type == PT_NOTE)
			r = elf_scan_notes(f, &ph, info);
		if (r)
			return r;
	}
	if (nload == 0)
		return boot_file_fail(f, "ELF file has no PT_LOAD segment with contents");
	return 0;
}

int elf_parse(const struct boot_file *f, struct elf_info *info)
{
	Elf64_Ehdr eh;

	memset(info, 0, sizeof(*info));
	if (!elf_detect(f))
		return boot_file_fail(f, "not an ELF file");
	if (f->size < sizeof(eh))
		return boot_file_fail(f, "truncated: " X " bytes is shorter than an ELF64 header",
				f->size);
	memcpy(&eh, f->data, sizeof(eh));
	int r = elf_check_ehdr(f, &eh);
	if (r == 0)
		r = elf_check_segments(f, &eh, info);
	if (r)
		return r;
	if (info->has_pvh && !elf_phys_loaded(f, &eh, info->pvh_entry))
		return boot_file_fail(f, "PVH entry %#x is not inside any PT_LOAD segment",
				info->pvh_entry);
	/* Linux's vmlinux has a physical e_entry; other ELFs a virtual one. */
	info->entry64 = eh.e_entry;
	if (!info->has_pvh && !elf_phys_loaded(f, &eh, eh.e_entry) &&
	    !elf_virt_to_phys(f, &eh, eh.e_entry, &info->entry64))
		return boot_file_fail(f, "entry point " X " is not inside any PT_LOAD segment",
				(uint64_t)eh.e_entry);
	return 0;
}

int elf_load(struct guest_mem *gm, const struct boot_file *f)
{
	Elf64_Ehdr eh;

	memcpy(&eh, f->data, sizeof(eh));	/* elf_parse() checked size and headers */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(f, &eh, i);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		uint8_t *dst = gmem_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (ph.p_paddr < MEM_HIMEM_START || !dst)
			return boot_file_fail(f, "segment %u at [" X ", +" X ") is outside guest RAM "
					"above 1 MiB (RAM is " X " bytes)", i, ph.p_paddr,
					ph.p_memsz, gmem_ram_size(gm));
		memcpy(dst, f->data + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}
