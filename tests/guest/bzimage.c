/* See bzimage.h. The ELF is our own build output, but it is still parsed
 * as untrusted input: every offset and size is bounds-checked. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "vmm/log.h"

/* Setup header offsets (Documentation/arch/x86/boot.rst). */
#define HDR_SETUP_SECTS   0x1f1
#define HDR_SYSSIZE       0x1f4
#define HDR_VID_MODE      0x1fa
#define HDR_BOOT_FLAG     0x1fe
#define HDR_JUMP          0x200
#define HDR_MAGIC         0x202
#define HDR_VERSION       0x206
#define HDR_START_SYS_SEG 0x20c
#define HDR_KERNEL_VER    0x20e
#define HDR_LOADFLAGS     0x211
#define HDR_CODE32_START  0x214
#define HDR_INITRD_MAX    0x22c
#define HDR_KERNEL_ALIGN  0x230
#define HDR_RELOCATABLE   0x234
#define HDR_MIN_ALIGN     0x235
#define HDR_XLOADFLAGS    0x236
#define HDR_CMDLINE_SIZE  0x238
#define HDR_PREF_ADDRESS  0x258
#define HDR_INIT_SIZE     0x260
#define HDR_END           0x26c	/* kernel_info_offset is the last field */

#define LOADED_HIGH   0x01
#define XLF_KERNEL_64 0x01

static const char version_string[] = "minivmm test guest";

struct payload {
	uint64_t file_end;	/* highest p_paddr + p_filesz */
	uint64_t mem_end;	/* highest p_paddr + p_memsz */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static int check_ehdr(const Elf64_Ehdr *eh, size_t len)
{
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		log_error("mkbzimage: input is not an ELF file");
		return -EINVAL;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC) {
		log_error("mkbzimage: input is not an x86-64 ELF64 executable");
		return -EINVAL;
	}
	if (eh->e_entry != BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET) {
		log_error("mkbzimage: entry point 0x%llx, want 0x%x (load address + 0x%x)",
			  (unsigned long long)eh->e_entry, BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET,
			  BZ_ENTRY64_OFFSET);
		return -EINVAL;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > len || (len - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		log_error("mkbzimage: program headers (%u at offset 0x%llx) outside the file",
			  eh->e_phnum, (unsigned long long)eh->e_phoff);
		return -EINVAL;
	}
	return 0;
}

static int check_load(const Elf64_Phdr *ph, size_t len, struct payload *pl)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset) {
		log_error("mkbzimage: segment at 0x%llx: file range outside the file",
			  (unsigned long long)ph->p_paddr);
		return -EINVAL;
	}
	if (ph->p_filesz > ph->p_memsz) {
		log_error("mkbzimage: segment at 0x%llx: file size above memory size",
			  (unsigned long long)ph->p_paddr);
		return -EINVAL;
	}
	if (ph->p_paddr < BZ_LOAD_ADDR || ph->p_memsz > BZ_MAX_PAYLOAD ||
	    ph->p_paddr - BZ_LOAD_ADDR > BZ_MAX_PAYLOAD - ph->p_memsz) {
		log_error("mkbzimage: segment 0x%llx+0x%llx outside [0x%x, 0x%x)",
			  (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			  BZ_LOAD_ADDR, BZ_LOAD_ADDR + BZ_MAX_PAYLOAD);
		return ph->p_memsz > BZ_MAX_PAYLOAD ? -EFBIG : -EINVAL;
	}
	if (ph->p_paddr + ph->p_filesz > pl->file_end)
		pl->file_end = ph->p_paddr + ph->p_filesz;
	if (ph->p_paddr + ph->p_memsz > pl->mem_end)
		pl->mem_end = ph->p_paddr + ph->p_memsz;
	return 0;
}

/* Copies (the file may be unaligned) program header i; check_ehdr first. */
static Elf64_Phdr phdr_at(const uint8_t *elf, const Elf64_Ehdr *eh, unsigned int i)
{
	Elf64_Phdr ph;

	memcpy(&ph, elf + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

/* Validates the segments and finds the payload's extent. */
static int scan_segments(const uint8_t *elf, size_t len, struct payload *pl)
{
	Elf64_Ehdr eh;

	if (len < sizeof(eh)) {
		log_error("mkbzimage: input is not an ELF file");
		return -EINVAL;
	}
	memcpy(&eh, elf, sizeof(eh));
	int err = check_ehdr(&eh, len);
	if (err)
		return err;
	pl->file_end = pl->mem_end = BZ_LOAD_ADDR;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr_at(elf, &eh, i);

		if (ph.p_type == PT_LOAD && (err = check_load(&ph, len, pl)))
			return err;
	}
	if (pl->file_end < BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET + 1) {
		log_error("mkbzimage: no loadable code at the 64-bit entry 0x%x",
			  BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET);
		return -EINVAL;
	}
	return 0;
}

static void write_header(uint8_t *img, unsigned int setup_sects, uint64_t payload_len,
			 uint64_t init_size, size_t version_off)
{
	img[HDR_SETUP_SECTS] = (uint8_t)setup_sects;
	put32(img + HDR_SYSSIZE, (uint32_t)(payload_len / 16));
	put16(img + HDR_VID_MODE, 0xffff);		/* NORMAL_VGA */
	put16(img + HDR_BOOT_FLAG, 0xaa55);
	img[HDR_JUMP] = 0xeb;				/* jmp short to the setup code */
	img[HDR_JUMP + 1] = (uint8_t)(BZ_SETUP_CODE_OFF - (HDR_JUMP + 2));
	memcpy(img + HDR_MAGIC, "HdrS", 4);
	put16(img + HDR_VERSION, BZ_PROTOCOL);
	put16(img + HDR_START_SYS_SEG, 0x1000);
	put16(img + HDR_KERNEL_VER, (uint16_t)(version_off - 0x200));
	img[HDR_LOADFLAGS] = LOADED_HIGH;
	put32(img + HDR_CODE32_START, BZ_LOAD_ADDR);
	put32(img + HDR_INITRD_MAX, 0x7fffffff);
	put32(img + HDR_KERNEL_ALIGN, 0x1000);
	img[HDR_RELOCATABLE] = 0;
	img[HDR_MIN_ALIGN] = 12;
	put16(img + HDR_XLOADFLAGS, XLF_KERNEL_64);
	put32(img + HDR_CMDLINE_SIZE, BZ_CMDLINE_SIZE);
	put64(img + HDR_PREF_ADDRESS, BZ_LOAD_ADDR);
	put32(img + HDR_INIT_SIZE, (uint32_t)init_size);
}

static void copy_segments(const uint8_t *elf, uint8_t *payload)
{
	Elf64_Ehdr eh;

	memcpy(&eh, elf, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr_at(elf, &eh, i);

		if (ph.p_type == PT_LOAD)
			memcpy(payload + (ph.p_paddr - BZ_LOAD_ADDR), elf + ph.p_offset,
			       ph.p_filesz);
	}
}

int bzimage_build(const uint8_t *elf, size_t elf_len, const uint8_t *setup_code,
		  size_t setup_code_len, uint8_t **out, size_t *out_len)
{
	struct payload pl;
	int err = scan_segments(elf, elf_len, &pl);

	if (err)
		return err;
	if (setup_code_len > 127 * 512) {
		log_error("mkbzimage: setup code of %zu bytes does not fit", setup_code_len);
		return -EFBIG;
	}
	size_t version_off = BZ_SETUP_CODE_OFF + setup_code_len;
	size_t setup_len = (version_off + sizeof(version_string) + 511) / 512 * 512;
	if (setup_len < 1024)
		setup_len = 1024;		/* setup_sects >= 1: 0 would mean 4 */
	/* Padded to whole 16-byte paragraphs: loaders read syssize * 16 bytes. */
	uint64_t payload_len = (pl.file_end - BZ_LOAD_ADDR + 15) / 16 * 16;
	uint64_t init_size = (pl.mem_end - BZ_LOAD_ADDR + 4095) / 4096 * 4096;
	uint8_t *img = calloc(1, setup_len + payload_len);

	if (!img) {
		log_error("mkbzimage: out of memory for a %llu-byte image",
			  (unsigned long long)(setup_len + payload_len));
		return -ENOMEM;
	}
	write_header(img, (unsigned int)(setup_len / 512 - 1), payload_len, init_size,
		     version_off);
	if (setup_code_len)
		memcpy(img + BZ_SETUP_CODE_OFF, setup_code, setup_code_len);
	memcpy(img + version_off, version_string, sizeof(version_string));
	copy_segments(elf, img + setup_len);
	*out = img;
	*out_len = setup_len + payload_len;
	return 0;
}
