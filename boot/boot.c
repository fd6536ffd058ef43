/* boot_check() and boot_load(): pick the loader by the kernel's format and
 * lay out everything else around it. */
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ELF_CMDLINE_MAX (BOOT_CMDLINE_MAX - 1)
#define ELF_KERNEL_ALIGN 0x1000000	/* what Linux expects in a zero page */

/* A parsed kernel, whichever format. */
struct kernel {
	struct boot_file file;
	bool is_elf;
	struct bzimage_info bz;
	struct elf_info elf;
	uint64_t cmdline_max;
	uint64_t initrd_max;
};

int boot_file_map(struct boot_file *f, const char *path, const char *what)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(f, 0, sizeof(*f));
	f->path = path;
	if (fd < 0) {
		int e = errno;
		log_error("boot: cannot open %s %s: %s", what, path, strerror(e));
		return -e;
	}
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		log_error("boot: %s %s: %s", what, path, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		log_error("boot: %s %s: not a regular file", what, path);
	} else if (st.st_size == 0) {
		r = -EINVAL;
		log_error("boot: %s %s: file is empty", what, path);
	} else {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			r = -errno;
			log_error("boot: %s %s: mmap: %s", what, path, strerror(-r));
		} else {
			f->data = p;
			f->size = (uint64_t)st.st_size;
		}
	}
	close(fd);
	return r;
}

void boot_file_unmap(struct boot_file *f)
{
	if (f->data && !f->borrowed)
		munmap((void *)f->data, f->size);
	f->data = NULL;
}

/* The kernel from spec: mapped from its file, or borrowed from memory. */
static int kernel_file(struct boot_file *f, const struct boot_spec *spec)
{
	if (!spec->kernel_data)
		return boot_file_map(f, spec->kernel_path, "kernel");
	*f = (struct boot_file){ .path = spec->kernel_path, .data = spec->kernel_data,
				 .size = spec->kernel_size, .borrowed = true };
	if (f->size == 0) {
		log_error("boot: kernel %s: file is empty", f->path);
		return -EINVAL;
	}
	return 0;
}

static int kernel_open(struct kernel *k, const struct boot_spec *spec)
{
	const char *path = spec->kernel_path;
	memset(k, 0, sizeof(*k));
	int r = kernel_file(&k->file, spec);
	if (r)
		return r;
	if (elf_detect(&k->file)) {
		k->is_elf = true;
		r = elf_parse(&k->file, &k->elf);
		k->cmdline_max = ELF_CMDLINE_MAX;
		k->initrd_max = UINT32_MAX;
	} else if (bzimage_detect(&k->file)) {
		r = bzimage_parse(&k->file, &k->bz);
		k->cmdline_max = k->bz.cmdline_max;
		k->initrd_max = k->bz.initrd_max;
	} else {
		log_error("boot: %s: not a kernel: neither an ELF file nor a bzImage "
			  "('HdrS' magic at 0x202)", path);
		r = -EINVAL;
	}
	if (r)
		boot_file_unmap(&k->file);
	return r;
}

static int cmdline_check(const struct kernel *k, const char *cmdline)
{
	size_t len = cmdline ? strlen(cmdline) : 0;

	if (len > k->cmdline_max) {
		log_error("boot: command line is %zu bytes, %s accepts at most %llu",
			  len, k->file.path, (unsigned long long)k->cmdline_max);
		return -E2BIG;
	}
	return 0;
}

static int initrd_stat(const struct boot_spec *spec, uint64_t *size)
{
	const char *path = spec->initrd_path;
	struct stat st;

	if (spec->initrd_data) {
		if (spec->initrd_size == 0 || spec->initrd_size > UINT32_MAX) {
			log_error("boot: initrd %s: %s", path, spec->initrd_size == 0 ?
				  "file is empty" : "larger than 4 GiB");
			return -EINVAL;
		}
		*size = spec->initrd_size;
		return 0;
	}

	if (stat(path, &st) < 0) {
		int e = errno;
		log_error("boot: initrd %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0 || (uint64_t)st.st_size > UINT32_MAX) {
		log_error("boot: initrd %s: %s", path, !S_ISREG(st.st_mode) ?
			  "not a regular file" : st.st_size == 0 ? "file is empty" :
			  "larger than 4 GiB");
		return -EINVAL;
	}
	if (access(path, R_OK) < 0) {
		int e = errno;
		log_error("boot: initrd %s: %s", path, strerror(e));
		return -e;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int spec_check(const struct boot_spec *spec)
{
	if (!spec || !spec->kernel_path || !*spec->kernel_path) {
		log_error("boot: no kernel given");
		return -EINVAL;
	}
	if (spec->ncpus < 1 || spec->ncpus > MAX_VCPUS) {
		log_error("boot: %u vCPUs: must be 1..%d", spec->ncpus, MAX_VCPUS);
		return -EINVAL;
	}
	return 0;
}

int boot_check(const struct boot_spec *spec)
{
	struct kernel k;
	uint64_t isize;

	int r = spec_check(spec);
	if (r == 0)
		r = kernel_open(&k, spec);
	if (r)
		return r;
	r = cmdline_check(&k, spec->cmdline);
	boot_file_unmap(&k.file);
	if (r == 0 && spec->initrd_path)
		r = initrd_stat(spec, &isize);
	return r;
}

/* ---- boot_load ---- */

struct layout {
	uint64_t kernel_end;
	uint64_t initrd_addr, initrd_size;
	uint64_t rsdp;
	struct e820_entry e820[E820_MAX_ENTRIES];
	unsigned e820_count;
};

static int kernel_load(struct guest_mem *gm, const struct kernel *k, struct layout *l,
		       struct boot_entry *entry)
{
	if (k->is_elf) {
		int r = elf_load(gm, &k->file);
		l->kernel_end = k->elf.end;
		entry->rip = k->elf.has_pvh ? k->elf.pvh_entry : k->elf.entry64;
		return r;
	}
	uint64_t load;
	int r = bzimage_place(&k->file, &k->bz, boot_low_ram_end(gm), &load);
	if (r)
		return r;
	if (gmem_write(gm, load, k->file.data + k->bz.setup_size, k->bz.payload_size)) {
		log_error("boot: %s: no RAM at %#llx for the kernel", k->file.path,
			  (unsigned long long)load);
		return -EFAULT;
	}
	l->kernel_end = load + k->bz.init_size;
	entry->rip = load + 0x200;	/* startup_64 */
	return 0;
}

static int initrd_read(struct guest_mem *gm, const char *path, uint64_t addr, uint64_t size)
{
	uint8_t *dst = gmem_ptr(gm, addr, size);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t done = 0;

	if (fd < 0 || !dst) {
		int e = fd < 0 ? errno : EFAULT;
		log_error("boot: initrd %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, (off_t)done);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			log_error("boot: initrd %s: read at %llu: %s", path,
				  (unsigned long long)done, n < 0 ? strerror(e) : "file shrank");
			close(fd);
			return -e;
		}
		done += (uint64_t)n;
	}
	close(fd);
	return 0;
}

static int initrd_load(struct guest_mem *gm, const struct kernel *k,
		       const struct boot_spec *spec, struct layout *l)
{
	const char *path = spec->initrd_path;
	uint64_t size;
	int r = initrd_stat(spec, &size);
	if (r)
		return r;
	uint64_t min = (l->kernel_end + BOOT_PAGE - 1) & ~(BOOT_PAGE - 1);
	uint64_t low_end = boot_low_ram_end(gm);
	if (initrd_place(size, min, k->initrd_max, low_end, &l->initrd_addr)) {
		log_error("boot: initrd %s (%llu bytes) does not fit between the kernel's end "
			  "%#llx and %#llx (initrd_addr_max %#llx, low RAM end %#llx)", path,
			  (unsigned long long)size, (unsigned long long)min,
			  (unsigned long long)(k->initrd_max < low_end ? k->initrd_max + 1 : low_end),
			  (unsigned long long)k->initrd_max, (unsigned long long)low_end);
		return -ENOMEM;
	}
	l->initrd_size = size;
	if (spec->initrd_data) {
		if (gmem_write(gm, l->initrd_addr, spec->initrd_data, size)) {
			log_error("boot: initrd %s: no RAM at %#llx", path,
				  (unsigned long long)l->initrd_addr);
			return -EFAULT;
		}
		return 0;
	}
	return initrd_read(gm, path, l->initrd_addr, size);
}

static int cmdline_write(struct guest_mem *gm, const char *cmdline)
{
	const char *s = cmdline ? cmdline : "";

	if (gmem_write(gm, BOOT_CMDLINE_ADDR, s, strlen(s) + 1)) {
		log_error("boot: no RAM for the command line at %#llx",
			  (unsigned long long)BOOT_CMDLINE_ADDR);
		return -EFAULT;
	}
	return 0;
}

/* The header a bzImage would carry, for an ELF kernel entered at 64 bits. */
static void elf_fill_header(struct setup_header *h)
{
	h->boot_flag = SETUP_BOOT_FLAG;
	h->header = SETUP_HDR_MAGIC;
	h->version = 0x020f;
	h->type_of_loader = 0xff;
	h->loadflags = LOADED_HIGH | CAN_USE_HEAP;
	h->kernel_alignment = ELF_KERNEL_ALIGN;
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	h->cmdline_size = ELF_CMDLINE_MAX;
}

static int zero_page_write(struct guest_mem *gm, const struct kernel *k, const struct layout *l)
{
	struct boot_params *bp = gmem_ptr(gm, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));

	if (!bp) {
		log_error("boot: no RAM for the zero page at %#llx",
			  (unsigned long long)BOOT_ZERO_PAGE_ADDR);
		return -EFAULT;
	}
	memset(bp, 0, sizeof(*bp));
	if (k->is_elf)
		elf_fill_header(&bp->hdr);
	else
		bzimage_fill_header(&k->bz, bp);
	bp->hdr.ramdisk_image = (uint32_t)l->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)l->initrd_size;
	bp->acpi_rsdp_addr = l->rsdp;
	bp->e820_entries = (uint8_t)l->e820_count;
	memcpy(bp->e820_table, l->e820, l->e820_count * sizeof(l->e820[0]));
	return 0;
}

static int pvh_info_write(struct guest_mem *gm, const struct layout *l)
{
	const uint64_t mod_at = BOOT_PVH_INFO_ADDR + 64, map_at = BOOT_PVH_INFO_ADDR + 128;
	uint64_t map_len = l->e820_count * sizeof(struct hvm_memmap_entry);
	struct hvm_start_info *si = gmem_ptr(gm, BOOT_PVH_INFO_ADDR, BOOT_PAGE);
	struct hvm_modlist_entry *mod = gmem_ptr(gm, mod_at, sizeof(*mod));
	struct hvm_memmap_entry *map = gmem_ptr(gm, map_at, map_len);

	_Static_assert(128 + E820_MAX_ENTRIES * sizeof(struct hvm_memmap_entry) <= BOOT_PAGE,
		       "PVH memmap fits its page");
	if (!si || !mod || !map) {
		log_error("boot: no RAM for the PVH start info at %#llx",
			  (unsigned long long)BOOT_PVH_INFO_ADDR);
		return -EFAULT;
	}
	memset(si, 0, BOOT_PAGE);
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC, .version = 1,
		.cmdline_paddr = BOOT_CMDLINE_ADDR, .rsdp_paddr = l->rsdp,
		.memmap_paddr = map_at, .memmap_entries = l->e820_count,
	};
	if (l->initrd_size) {
		si->nr_modules = 1;
		si->modlist_paddr = mod_at;
		*mod = (struct hvm_modlist_entry){ .paddr = l->initrd_addr, .size = l->initrd_size };
	}
	for (unsigned i = 0; i < l->e820_count; i++)
		map[i] = (struct hvm_memmap_entry){ .addr = l->e820[i].addr,
			.size = l->e820[i].size, .type = l->e820[i].type };
	return 0;
}

static int firmware_tables(struct guest_mem *gm, const struct boot_spec *spec, struct layout *l)
{
	unsigned ncpus = spec->ncpus;
	int n = e820_build(gm, l->e820, E820_MAX_ENTRIES);
	if (n < 0) {
		log_error("boot: e820 map has more than %d entries", E820_MAX_ENTRIES);
		return n;
	}
	l->e820_count = (unsigned)n;
	int r = acpi_build(gm, ncpus, &l->rsdp);
	if (r == 0)
		r = mptable_build(gm, ncpus);
	if (r == 0)
		r = smbios_load(gm, ncpus, spec->uuid);
	return r;
}

static int boot_load_kernel(struct guest_mem *gm, const struct boot_spec *spec,
			    const struct kernel *k, struct layout *l, struct boot_entry *entry)
{
	if (boot_low_ram_end(gm) < MEM_HIMEM_START + BOOT_PAGE) {
		log_error("boot: guest RAM is too small (%llu bytes)",
			  (unsigned long long)gmem_ram_size(gm));
		return -ENOMEM;
	}
	int r = cmdline_check(k, spec->cmdline);
	if (r == 0)
		r = kernel_load(gm, k, l, entry);
	if (r == 0)
		r = cmdline_write(gm, spec->cmdline);
	if (r == 0 && spec->initrd_path)
		r = initrd_load(gm, k, spec, l);
	if (r == 0)
		r = firmware_tables(gm, spec, l);
	if (r)
		return r;
	bool pvh = k->is_elf && k->elf.has_pvh;
	r = entry_setup(gm, pvh ? BOOT_CPU_PROT32 : BOOT_CPU_LONG64, entry);
	if (r)
		return r;
	if (pvh) {
		entry->rbx = BOOT_PVH_INFO_ADDR;
		return pvh_info_write(gm, l);
	}
	entry->rsi = BOOT_ZERO_PAGE_ADDR;
	return zero_page_write(gm, k, l);
}

static void boot_log(const struct kernel *k, const struct layout *l,
		     const struct boot_entry *e, unsigned ncpus)
{
	const char *kind = !k->is_elf ? "bzImage" : k->elf.has_pvh ? "ELF (PVH)" : "ELF";

	log_debug("boot: %s %s: entry %#llx in %s mode, kernel ends at %#llx, "
		 "initrd %#llx+%#llx, %u e820 entries, %u vCPUs", kind, k->file.path,
		 (unsigned long long)e->rip, e->mode == BOOT_CPU_LONG64 ? "64-bit" : "32-bit",
		 (unsigned long long)l->kernel_end, (unsigned long long)l->initrd_addr,
		 (unsigned long long)l->initrd_size, l->e820_count, ncpus);
}

int boot_load(struct guest_mem *gm, const struct boot_spec *spec, struct boot_entry *entry)
{
	struct kernel k;
	struct layout *l;

	memset(entry, 0, sizeof(*entry));
	int r = spec_check(spec);
	if (r)
		return r;
	l = calloc(1, sizeof(*l));
	if (!l) {
		log_error("boot: out of memory");
		return -ENOMEM;
	}
	r = kernel_open(&k, spec);
	if (r == 0) {
		r = boot_load_kernel(gm, spec, &k, l, entry);
		if (r == 0)
			boot_log(&k, l, entry, spec->ncpus);
		boot_file_unmap(&k.file);
	}
	free(l);
	return r;
}

int boot_file_fail(const struct boot_file *f, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("boot: %s: %s", f->path, msg);
	return -EINVAL;
}
