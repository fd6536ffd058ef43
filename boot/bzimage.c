/* bzImage: parse and check the setup header (Linux boot protocol), choose
 * the load address, fill the header in the zero page. The 64-bit entry is
 * at load address + 0x200; the real-mode setup code is never run. */
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define BZ_JUMP_OPCODE     0xEB	/* short jmp at 0x200, its target ends the header */
#define BZ_HEADER_LIMIT    0x290	/* boot_params field after the setup header */
#define BZ_DEFAULT_SECTS   4
#define BZ_DEFAULT_INITRD_MAX 0x37FFFFFFULL
#define BZ_HEAP_END        0xfe00	/* offset of heap end from setup start */

bool bzimage_detect(const struct boot_file *f)
{
	uint32_t magic;

	if (f->size < 0x206)
		return false;
	memcpy(&magic, f->data + 0x202, sizeof(magic));
	return magic == SETUP_HDR_MAGIC;
}

#define X "%#" PRIx64

/* Copy the header as far as the file says it goes (the jump at 0x200). */
static int bz_read_header(const struct boot_file *f, struct bzimage_info *bz)
{
	uint8_t sects = f->data[SETUP_HDR_OFFSET];

	if (sects == 0)
		sects = BZ_DEFAULT_SECTS;
	bz->setup_size = ((uint64_t)sects + 1) * 512;
	if (f->size < bz->setup_size)
		return boot_file_fail(f, "truncated: the setup code needs " X " bytes, the file has " X,
			       bz->setup_size, f->size);
	if (f->data[0x200] != BZ_JUMP_OPCODE)
		return boot_file_fail(f, "garbled setup header: no jump instruction at 0x200 (byte " X ")",
			       (uint64_t)f->data[0x200]);
	uint64_t end = 0x202 + (uint64_t)f->data[0x201];
	if (end > BZ_HEADER_LIMIT)
		return boot_file_fail(f, "garbled setup header: it claims to end at " X " (limit " X ")",
			       end, (uint64_t)BZ_HEADER_LIMIT);
	uint64_t len = end - SETUP_HDR_OFFSET;
	if (len > sizeof(bz->hdr))
		len = sizeof(bz->hdr);
	memset(&bz->hdr, 0, sizeof(bz->hdr));
	memcpy(&bz->hdr, f->data + SETUP_HDR_OFFSET, len);
	return 0;
}

static int bz_check_version(const struct boot_file *f, const struct setup_header *h)
{
	if (h->boot_flag != SETUP_BOOT_FLAG)
		return boot_file_fail(f, "bad boot flag " X " at 0x1fe (expected " X ")",
			       (uint64_t)h->boot_flag, (uint64_t)SETUP_BOOT_FLAG);
	/* xloadflags (and so the 64-bit entry) exist from 2.12 on. */
	if (h->version < BZ_MIN_VERSION) {
		log_error("boot: %s: boot protocol %u.%02u is too old (minivmm needs >= 2.12, "
			  "a kernel with a 64-bit entry point)",
			  f->path, h->version >> 8, h->version & 0xff);
		return -EINVAL;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		log_error("boot: %s: kernel has no 64-bit entry point (protocol %u.%02u, "
			  "xloadflags %#x lacks XLF_KERNEL_64); minivmm boots 64-bit kernels only",
			  f->path, h->version >> 8, h->version & 0xff, h->xloadflags);
		return -EINVAL;
	}
	return 0;
}

static int bz_check_sizes(const struct boot_file *f, struct bzimage_info *bz)
{
	const struct setup_header *h = &bz->hdr;

	bz->payload_size = f->size - bz->setup_size;
	if (bz->payload_size == 0)
		return boot_file_fail(f, "truncated: no protected-mode payload after " X " bytes of setup",
			       bz->setup_size);
	uint64_t sys = (uint64_t)h->syssize * 16;
	if (sys > bz->payload_size)
		return boot_file_fail(f, "truncated: the header says the payload is " X " bytes, "
			       "the file has " X, sys, bz->payload_size);
	bz->init_size = h->init_size;
	if (bz->init_size < bz->payload_size)
		return boot_file_fail(f, "garbled setup header: init_size " X " is smaller than the "
			       "payload (" X " bytes)", bz->init_size, bz->payload_size);
	if (h->pref_address > UINT64_MAX - bz->init_size)
		return boot_file_fail(f, "garbled setup header: pref_address " X " + init_size overflows",
			       h->pref_address);
	if (h->relocatable_kernel) {
		uint32_t a = h->kernel_alignment;
		if (a == 0 || (a & (a - 1)))
			return boot_file_fail(f, "garbled setup header: kernel_alignment " X " is not "
				       "a power of two", (uint64_t)a);
	} else if (h->pref_address < MEM_HIMEM_START) {
		return boot_file_fail(f, "kernel is not relocatable and wants to load at " X ", "
			       "below 1 MiB", h->pref_address);
	}
	return 0;
}

int bzimage_parse(const struct boot_file *f, struct bzimage_info *bz)
{
	memset(bz, 0, sizeof(*bz));
	if (!bzimage_detect(f))
		return boot_file_fail(f, "not a bzImage: no 'HdrS' magic at 0x202");
	int r = bz_read_header(f, bz);
	if (r == 0)
		r = bz_check_version(f, &bz->hdr);
	if (r == 0)
		r = bz_check_sizes(f, bz);
	if (r)
		return r;
	bz->cmdline_max = bz->hdr.cmdline_size;
	if (bz->cmdline_max > BOOT_CMDLINE_MAX - 1)
		bz->cmdline_max = BOOT_CMDLINE_MAX - 1;
	bz->initrd_max = bz->hdr.initrd_addr_max ? bz->hdr.initrd_addr_max
						  : BZ_DEFAULT_INITRD_MAX;
	return 0;
}

static bool bz_fits(uint64_t addr, uint64_t size, uint64_t low_end)
{
	return addr >= MEM_HIMEM_START && addr <= low_end && size <= low_end - addr;
}

int bzimage_place(const struct boot_file *f, const struct bzimage_info *bz,
		  uint64_t low_end, uint64_t *load_addr)
{
	const struct setup_header *h = &bz->hdr;

	/* A relocatable kernel's startup_64 rounds its load address up to
	 * kernel_alignment and decompresses there: load it there, so the
	 * init_size we check (and the initrd placement) is what it uses. */
	uint64_t pref = h->pref_address;
	if (h->relocatable_kernel) {
		uint64_t align = h->kernel_alignment;
		pref = pref > UINT64_MAX - (align - 1) ? 0 : (pref + align - 1) & ~(align - 1);
	}
	if (pref && bz_fits(pref, bz->init_size, low_end)) {
		*load_addr = pref;
		return 0;
	}
	if (!h->relocatable_kernel) {
		log_error("boot: %s: kernel is not relocatable and needs [%#llx, +%#llx) but "
			  "low RAM ends at %#llx", f->path, (unsigned long long)h->pref_address,
			  (unsigned long long)bz->init_size, (unsigned long long)low_end);
		return -ENOMEM;
	}
	/* startup_64 also never runs below LOAD_PHYSICAL_ADDR, which is what
	 * pref_address holds: loaded lower, it still decompresses at
	 * pref_address, beyond the RAM (or the initrd) we checked. Only a
	 * kernel that names no such address can go lower. */
	if (h->pref_address >= MEM_HIMEM_START) {
		log_error("boot: %s: kernel decompresses at %#llx (its pref_address: it never "
			  "runs lower) and needs %#llx bytes there, but low RAM ends at %#llx: "
			  "give the VM more --memory", f->path, (unsigned long long)pref,
			  (unsigned long long)bz->init_size, (unsigned long long)low_end);
		return -ENOMEM;
	}
	uint64_t align = h->kernel_alignment;
	uint64_t addr = (MEM_HIMEM_START + align - 1) & ~(align - 1);
	if (!bz_fits(addr, bz->init_size, low_end)) {
		log_error("boot: %s: kernel needs %#llx bytes at a %#llx-aligned address but "
			  "low RAM ends at %#llx", f->path, (unsigned long long)bz->init_size,
			  (unsigned long long)align, (unsigned long long)low_end);
		return -ENOMEM;
	}
	*load_addr = addr;
	return 0;
}

void bzimage_fill_header(const struct bzimage_info *bz, struct boot_params *bp)
{
	struct setup_header *h = &bp->hdr;

	*h = bz->hdr;
	/* Fields the boot protocol has the loader write: never the file's. A
	 * setup_data pointer from the file would have the kernel walk a chain
	 * at an address of the file's choosing; a subarch would send it down
	 * Xen's or Moorestown's path. minivmm passes no setup_data. */
	h->setup_data = 0;
	h->hardware_subarch = 0;	/* X86_SUBARCH_PC */
	h->hardware_subarch_data = 0;
	h->ext_loader_ver = 0;
	h->ext_loader_type = 0;
	h->ramdisk_image = 0;		/* boot.c sets both when there is an initrd */
	h->ramdisk_size = 0;
	h->type_of_loader = 0xff;	/* undefined loader: no ext_loader_* needed */
	/* Only LOADED_HIGH is the kernel's; QUIET_FLAG and KEEP_SEGMENTS are
	 * the loader's to set, and we set neither. */
	h->loadflags = (uint8_t)(LOADED_HIGH | CAN_USE_HEAP);
	h->heap_end_ptr = BZ_HEAP_END - 0x200;
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	if (h->vid_mode == 0)
		h->vid_mode = 0xffff;	/* "normal" */
}
