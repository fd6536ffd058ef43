/* bzImage parsing and loading, command line, initrd placement, e820, and
 * the entry state, against crafted images and a wrapped RAM buffer. */
#include "helpers.h"

#include <errno.h>

#define RAM_64M (64 * MIB)

static int check_bz(const struct bz_params *p, const char *cmdline)
{
	char path[64];
	bz_file(path, p);
	struct boot_spec spec = { .kernel_path = path, .cmdline = cmdline, .ncpus = 1 };
	log_clear_last_error();
	int r = boot_check(&spec);
	unlink(path);
	return r;
}

/* A file of raw bytes given to boot_check(). */
static int check_bytes(const void *data, size_t size)
{
	char path[64];
	tmp_write(path, data, size);
	struct boot_spec spec = { .kernel_path = path, .ncpus = 1 };
	log_clear_last_error();
	int r = boot_check(&spec);
	unlink(path);
	return r;
}

START_TEST(bz_load_fills_zero_page)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_entry e;
	char path[64];

	ram_init(&ram, RAM_64M);
	bz_file(path, &p);
	struct boot_spec spec = { .kernel_path = path, .cmdline = "console=ttyS0 quiet",
				  .ncpus = 2 };
	ck_assert_int_eq(boot_check(&spec), 0);
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	unlink(path);

	ck_assert_int_eq(e.mode, BOOT_CPU_LONG64);
	ck_assert_uint_eq(e.rip, 0x1000000 + 0x200);
	ck_assert_uint_eq(e.rsi, BOOT_ZERO_PAGE_ADDR);
	/* payload copied to pref_address */
	for (size_t i = 0; i < p.payload_size; i += 997)
		ck_assert_uint_eq(ram_at(&ram, 0x1000000)[i], (uint8_t)(i * 7));
	const struct boot_params *bp = (void *)ram_at(&ram, BOOT_ZERO_PAGE_ADDR);
	ck_assert_uint_eq(bp->hdr.header, SETUP_HDR_MAGIC);
	ck_assert_uint_eq(bp->hdr.boot_flag, SETUP_BOOT_FLAG);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.loadflags & (LOADED_HIGH | CAN_USE_HEAP),
			  LOADED_HIGH | CAN_USE_HEAP);
	ck_assert_uint_ne(bp->hdr.heap_end_ptr, 0);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	ck_assert_str_eq((char *)ram_at(&ram, bp->hdr.cmd_line_ptr), "console=ttyS0 quiet");
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0);
	ck_assert_uint_eq(bp->acpi_rsdp_addr, BOOT_ACPI_ADDR);
	ck_assert_mem_eq(ram_at(&ram, bp->acpi_rsdp_addr), "RSD PTR ", 8);
	ck_assert_uint_eq(bp->e820_entries, 3);
	ck_assert_uint_eq(bp->e820_table[2].addr + bp->e820_table[2].size, RAM_64M);
	ram_fini(&ram);
}
END_TEST

START_TEST(bz_refuses_when_pref_does_not_fit)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_entry e;
	char path[64];

	p.pref_address = 0x1000000;
	p.init_size = 8 * MIB;		/* 16 MiB + 8 MiB > 16 MiB of RAM */
	ram_init(&ram, 16 * MIB);
	bz_file(path, &p);
	struct boot_spec spec = { .kernel_path = path, .ncpus = 1 };
	/* The kernel would still decompress at pref_address: refused. */
	log_clear_last_error();
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), -ENOMEM);
	assert_error_has("decompresses at 0x1000000");
	assert_error_has("--memory");

	/* A kernel that names no preferred address goes low instead. */
	p.pref_address = 0;
	bz_file(path, &p);
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	ck_assert_uint_eq(e.rip, 0x200000 + 0x200);	/* 1 MiB aligned up to 2 MiB */
	ck_assert_uint_eq(ram_at(&ram, 0x200000)[7], 49);

	p.pref_address = 0x1000000;
	p.relocatable = 0;
	bz_file(path, &p);
	log_clear_last_error();
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), -ENOMEM);
	assert_error_has("not relocatable");
	assert_error_has(path);
	unlink(path);
	ram_fini(&ram);
}
END_TEST

/* A relocatable kernel rounds its load address up to kernel_alignment
 * itself: an unaligned pref_address is loaded where the kernel will run. */
START_TEST(bz_unaligned_pref_address_is_aligned)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_entry e;
	char path[64];

	p.pref_address = 0x1000800;	/* kernel_alignment 2 MiB */
	ram_init(&ram, RAM_64M);
	bz_file(path, &p);
	struct boot_spec spec = { .kernel_path = path, .ncpus = 1 };
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	ck_assert_uint_eq(e.rip, 0x1200000 + 0x200);
	ck_assert_uint_eq(ram_at(&ram, 0x1200000)[7], 49);

	p.relocatable = 0;		/* not relocatable: exactly where it asks */
	bz_file(path, &p);
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	ck_assert_uint_eq(e.rip, 0x1000800 + 0x200);
	unlink(path);
	ram_fini(&ram);
}
END_TEST

/* Loader-written header fields come from minivmm, not from the file: a
 * file's setup_data would make the kernel follow a pointer of its choice. */
START_TEST(bz_file_cannot_set_loader_fields)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_entry e;
	char path[64];
	size_t size;
	uint8_t *img = bz_build(&p, &size);
	struct setup_header h;

	memcpy(&h, img + SETUP_HDR_OFFSET, sizeof(h));
	h.setup_data = 0x2000000;
	h.hardware_subarch = 2;		/* Xen */
	h.hardware_subarch_data = 0x3000000;
	h.ext_loader_ver = 7;
	h.ext_loader_type = 9;
	h.ramdisk_image = 0x1800000;
	h.ramdisk_size = 0x1000;
	memcpy(img + SETUP_HDR_OFFSET, &h, sizeof(h));
	tmp_write(path, img, size);
	free(img);

	ram_init(&ram, RAM_64M);
	struct boot_spec spec = { .kernel_path = path, .ncpus = 1 };
	ck_assert_int_eq(boot_check(&spec), 0);
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	unlink(path);
	const struct boot_params *bp = (void *)ram_at(&ram, e.rsi);
	ck_assert_uint_eq(bp->hdr.setup_data, 0);
	ck_assert_uint_eq(bp->hdr.hardware_subarch, 0);
	ck_assert_uint_eq(bp->hdr.hardware_subarch_data, 0);
	ck_assert_uint_eq(bp->hdr.ext_loader_ver, 0);
	ck_assert_uint_eq(bp->hdr.ext_loader_type, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0);	/* no initrd given */
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0);
	ck_assert_uint_eq(bp->hdr.init_size, h.init_size);	/* read-only fields kept */
	ram_fini(&ram);
}
END_TEST

START_TEST(bz_setup_sects_zero_means_four)
{
	struct bz_params p = bz_default();
	struct bzimage_info bz;
	size_t size;

	p.setup_sects = 0;
	uint8_t *img = bz_build(&p, &size);
	struct boot_file f = { .path = "k", .data = img, .size = size };
	ck_assert_int_eq(bzimage_parse(&f, &bz), 0);
	ck_assert_uint_eq(bz.setup_size, 5 * 512);
	ck_assert_uint_eq(bz.payload_size, p.payload_size);
	free(img);
}
END_TEST

START_TEST(bz_rejects_wrong_magic)
{
	struct bz_params p = bz_default();
	size_t size;
	uint8_t *img = bz_build(&p, &size);

	memcpy(img + 0x202, "HdrX", 4);
	ck_assert_int_eq(check_bytes(img, size), -EINVAL);
	assert_error_has("not a kernel");
	assert_error_has("HdrS");
	free(img);
}
END_TEST

START_TEST(bz_rejects_bad_boot_flag)
{
	struct bz_params p = bz_default();
	size_t size;
	uint8_t *img = bz_build(&p, &size);

	img[0x1fe] = 0x12;
	ck_assert_int_eq(check_bytes(img, size), -EINVAL);
	assert_error_has("bad boot flag");
	free(img);
}
END_TEST

START_TEST(bz_rejects_old_protocol)
{
	struct bz_params p = bz_default();

	p.version = 0x0205;
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("boot protocol 2.05 is too old");
}
END_TEST

START_TEST(bz_rejects_no_64bit_entry)
{
	struct bz_params p = bz_default();

	p.xloadflags = 0;
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("no 64-bit entry point");
	/* 2.10 has no xloadflags field at all, whatever the bytes say */
	p = bz_default();
	p.version = 0x020a;
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("boot protocol 2.10 is too old (minivmm needs >= 2.12");
}
END_TEST

START_TEST(bz_rejects_truncated_setup)
{
	struct bz_params p = bz_default();
	size_t size;
	uint8_t *img = bz_build(&p, &size);

	ck_assert_int_eq(check_bytes(img, 0x400), -EINVAL);
	assert_error_has("truncated: the setup code needs 0xa00 bytes");
	ck_assert_int_eq(check_bytes(img, 0xa00), -EINVAL);	/* setup only */
	assert_error_has("no protected-mode payload");
	free(img);
}
END_TEST

START_TEST(bz_rejects_truncated_payload)
{
	struct bz_params p = bz_default();
	size_t size;
	uint8_t *img = bz_build(&p, &size);

	ck_assert_int_eq(check_bytes(img, size - 16), -EINVAL);
	assert_error_has("truncated: the header says the payload is 0x10000 bytes");
	free(img);
}
END_TEST

START_TEST(bz_rejects_garbled_header)
{
	struct bz_params p = bz_default();
	size_t size;
	uint8_t *img = bz_build(&p, &size);

	img[0x200] = 0x90;	/* no jump */
	ck_assert_int_eq(check_bytes(img, size), -EINVAL);
	assert_error_has("no jump instruction");
	img[0x200] = 0xEB;
	img[0x201] = 0xff;	/* header past 0x290 */
	ck_assert_int_eq(check_bytes(img, size), -EINVAL);
	assert_error_has("garbled setup header: it claims to end at 0x301");
	free(img);
}
END_TEST

START_TEST(bz_rejects_bad_sizes)
{
	struct bz_params p = bz_default();

	p.init_size = 0x1000;	/* smaller than the 64 KiB payload */
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("init_size 0x1000 is smaller than the payload");

	p = bz_default();
	p.pref_address = UINT64_MAX - 0x100;
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("overflows");

	p = bz_default();
	p.kernel_alignment = 0x300000;
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("kernel_alignment 0x300000 is not a power of two");

	p = bz_default();
	p.relocatable = 0;
	p.pref_address = 0x10000;
	ck_assert_int_eq(check_bz(&p, NULL), -EINVAL);
	assert_error_has("below 1 MiB");
}
END_TEST

START_TEST(cmdline_length_is_checked)
{
	struct bz_params p = bz_default();
	char line[40];

	p.cmdline_size = 16;
	memset(line, 'a', sizeof(line));
	line[16] = 0;
	ck_assert_int_eq(check_bz(&p, line), 0);
	line[16] = 'a';
	line[17] = 0;
	ck_assert_int_eq(check_bz(&p, line), -E2BIG);
	assert_error_has("command line is 17 bytes");
	assert_error_has("at most 16");
}
END_TEST

START_TEST(rejects_missing_and_empty_files)
{
	struct boot_spec spec = { .kernel_path = "/nonexistent/vmlinuz", .ncpus = 1 };

	log_clear_last_error();
	ck_assert_int_eq(boot_check(&spec), -ENOENT);
	assert_error_has("cannot open kernel /nonexistent/vmlinuz");
	ck_assert_int_eq(check_bytes("", 0), -EINVAL);
	assert_error_has("file is empty");
	ck_assert_int_eq(check_bytes("hello, world", 12), -EINVAL);
	assert_error_has("not a kernel");

	struct bz_params p = bz_default();
	char kpath[64], ipath[64];
	bz_file(kpath, &p);
	tmp_write(ipath, "", 0);
	spec = (struct boot_spec){ .kernel_path = kpath, .initrd_path = ipath, .ncpus = 1 };
	ck_assert_int_eq(boot_check(&spec), -EINVAL);
	assert_error_has("initrd");
	assert_error_has("file is empty");
	spec.initrd_path = "/nonexistent/initrd";
	ck_assert_int_eq(boot_check(&spec), -ENOENT);
	assert_error_has("initrd /nonexistent/initrd");
	spec.initrd_path = NULL;
	spec.ncpus = 0;
	ck_assert_int_eq(boot_check(&spec), -EINVAL);
	spec.ncpus = MAX_VCPUS + 1;
	ck_assert_int_eq(boot_check(&spec), -EINVAL);
	assert_error_has("vCPUs");
	unlink(kpath);
	unlink(ipath);
}
END_TEST

/* Loads a bzImage with an initrd of isize bytes; returns boot_load's result. */
static int load_with_initrd(struct test_ram *ram, const struct bz_params *p, size_t isize,
			    struct boot_params **bp)
{
	char kpath[64], ipath[64];
	uint8_t *initrd = malloc(isize);
	struct boot_entry e;

	for (size_t i = 0; i < isize; i++)
		initrd[i] = (uint8_t)(i ^ (i >> 8));
	bz_file(kpath, p);
	tmp_write(ipath, initrd, isize);
	struct boot_spec spec = { .kernel_path = kpath, .initrd_path = ipath, .ncpus = 1 };
	log_clear_last_error();
	int r = boot_load(ram->gm, &spec, &e);
	*bp = (void *)ram_at(ram, BOOT_ZERO_PAGE_ADDR);
	if (r == 0)
		ck_assert_mem_eq(ram_at(ram, (*bp)->hdr.ramdisk_image), initrd, isize);
	unlink(kpath);
	unlink(ipath);
	free(initrd);
	return r;
}

/* Kernel and initrd from memory buffers (a kernel read out of a disk
 * image): the same layout as from files, the buffers left untouched. */
START_TEST(load_from_memory)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_entry e;
	size_t ksize;
	uint8_t *kernel = bz_build(&p, &ksize);
	uint8_t initrd[5000];
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 13);

	ram_init(&ram, RAM_64M);
	struct boot_spec spec = { .kernel_path = "disk.img:/boot/vmlinuz", .kernel_data = kernel,
				  .kernel_size = ksize, .initrd_path = "disk.img:/boot/initrd.img",
				  .initrd_data = initrd, .initrd_size = sizeof(initrd),
				  .cmdline = "ro", .ncpus = 1 };
	ck_assert_int_eq(boot_check(&spec), 0);
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	const struct boot_params *bp = (void *)ram_at(&ram, BOOT_ZERO_PAGE_ADDR);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	ck_assert_mem_eq(ram_at(&ram, bp->hdr.ramdisk_image), initrd, sizeof(initrd));
	ck_assert_uint_eq(ram_at(&ram, 0x1000000)[997], (uint8_t)(997 * 7));
	ck_assert_uint_eq(kernel[0x202], 'H');		/* not unmapped or changed */
	/* Errors name the in-image path. */
	spec.kernel_size = 100;
	log_clear_last_error();
	ck_assert_int_eq(boot_check(&spec), -EINVAL);
	assert_error_has("disk.img:/boot/vmlinuz");
	spec.kernel_size = ksize;
	spec.initrd_size = 0;
	ck_assert_int_eq(boot_check(&spec), -EINVAL);
	assert_error_has("initrd disk.img:/boot/initrd.img: file is empty");
	ram_fini(&ram);
	free(kernel);
}
END_TEST

START_TEST(initrd_below_addr_max)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_params *bp;

	p.initrd_addr_max = 0x1ffffff;	/* 32 MiB - 1 */
	ram_init(&ram, RAM_64M);
	ck_assert_int_eq(load_with_initrd(&ram, &p, 100000, &bp), 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 100000);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, (0x2000000 - 100000) & ~0xfffULL);
	ram_fini(&ram);
}
END_TEST

START_TEST(initrd_below_ram_end)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_params *bp;

	ram_init(&ram, RAM_64M);
	ck_assert_int_eq(load_with_initrd(&ram, &p, 12345, &bp), 0);
	uint64_t a = bp->hdr.ramdisk_image;
	ck_assert_uint_eq(a % 4096, 0);
	ck_assert_uint_le(a + 12345, RAM_64M);
	ck_assert_uint_gt(a + 12345 + 4096, RAM_64M);	/* as high as allowed */
	ram_fini(&ram);
}
END_TEST

START_TEST(initrd_too_large)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_params *bp;

	ram_init(&ram, 32 * MIB);	/* kernel occupies 16 MiB .. 16 MiB + 128 KiB */
	ck_assert_int_eq(load_with_initrd(&ram, &p, 17 * MIB, &bp), -ENOMEM);
	assert_error_has("does not fit");
	ram_fini(&ram);
}
END_TEST

START_TEST(initrd_place_rules)
{
	uint64_t a;

	ck_assert_int_eq(initrd_place(0x1800, 0x100000, 0x7fffffff, 0x4000000, &a), 0);
	ck_assert_uint_eq(a, 0x4000000 - 0x2000);
	ck_assert_int_eq(initrd_place(0x1000, 0x100000, 0x37ffffff, 0x80000000, &a), 0);
	ck_assert_uint_eq(a, 0x38000000 - 0x1000);
	ck_assert_int_eq(initrd_place(0x1000, 0x3fff000, 0x7fffffff, 0x4000000, &a), 0);
	ck_assert_int_eq(initrd_place(0x1001, 0x3fff000, 0x7fffffff, 0x4000000, &a), -ENOMEM);
	ck_assert_int_eq(initrd_place(0x5000000, 0, 0x7fffffff, 0x4000000, &a), -ENOMEM);
	ck_assert_int_eq(initrd_place(0, 0, 0x7fffffff, 0x4000000, &a), -ENOMEM);
	ck_assert_int_eq(initrd_place(0x1000, 0, UINT64_MAX, 0x4000000, &a), 0);
}
END_TEST

START_TEST(e820_small_ram)
{
	struct test_ram ram;
	struct e820_entry e[8];

	ram_init(&ram, 16 * MIB);
	ck_assert_int_eq(e820_build(ram.gm, e, 8), 3);
	ck_assert_uint_eq(e[0].addr, 0);
	ck_assert_uint_eq(e[0].size, MEM_EBDA_START);
	ck_assert_uint_eq(e[0].type, E820_RAM);
	ck_assert_uint_eq(e[1].addr, MEM_EBDA_START);
	ck_assert_uint_eq(e[1].addr + e[1].size, MEM_HIMEM_START);
	ck_assert_uint_eq(e[1].type, E820_RESERVED);
	ck_assert_uint_eq(e[2].addr, MEM_HIMEM_START);
	ck_assert_uint_eq(e[2].addr + e[2].size, 16 * MIB);
	ck_assert_uint_eq(e[2].type, E820_RAM);
	ck_assert_int_eq(e820_build(ram.gm, e, 2), -ENOSPC);
	ram_fini(&ram);
}
END_TEST

START_TEST(e820_large_ram_has_hole)
{
	struct guest_mem *gm = gmem_create(5 * GIB);
	struct e820_entry e[8];

	ck_assert_ptr_nonnull(gm);
	ck_assert_int_eq(e820_build(gm, e, 8), 4);
	ck_assert_uint_eq(e[2].addr, MEM_HIMEM_START);
	ck_assert_uint_eq(e[2].addr + e[2].size, MEM_HOLE_START);
	ck_assert_uint_eq(e[3].addr, MEM_HIGH_START);
	ck_assert_uint_eq(e[3].size, 5 * GIB - MEM_HOLE_START);
	ck_assert_uint_eq(e[3].type, E820_RAM);
	uint64_t ram = 0;
	for (int i = 0; i < 4; i++)
		ram += e[i].type == E820_RAM ? e[i].size : 0;
	ck_assert_uint_eq(ram, 5 * GIB - (MEM_HIMEM_START - MEM_EBDA_START));
	ck_assert_uint_eq(boot_low_ram_end(gm), MEM_HOLE_START);
	gmem_destroy(gm);
}
END_TEST

START_TEST(bz_load_large_ram_with_hole)
{
	struct bz_params p = bz_default();
	struct guest_mem *gm = gmem_create(4 * GIB);
	struct boot_entry e;
	char kpath[64], ipath[64];

	ck_assert_ptr_nonnull(gm);
	p.initrd_addr_max = 0xffffffff;		/* only the hole limits it */
	bz_file(kpath, &p);
	tmp_write(ipath, "initrd-data", 11);
	struct boot_spec spec = { .kernel_path = kpath, .initrd_path = ipath, .ncpus = 8 };
	ck_assert_int_eq(boot_load(gm, &spec, &e), 0);
	const struct boot_params *bp = gmem_ptr(gm, e.rsi, sizeof(*bp));
	ck_assert_ptr_nonnull(bp);
	ck_assert_uint_eq(bp->e820_entries, 4);
	ck_assert_uint_eq(bp->e820_table[3].addr, MEM_HIGH_START);
	ck_assert_uint_eq(bp->e820_table[3].size, 4 * GIB - MEM_HOLE_START);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, MEM_HOLE_START - 4096);
	ck_assert_mem_eq(gmem_ptr(gm, bp->hdr.ramdisk_image, 11), "initrd-data", 11);
	unlink(kpath);
	unlink(ipath);
	gmem_destroy(gm);
}
END_TEST

START_TEST(entry_long64_gdt_and_page_tables)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	struct boot_entry e;
	char path[64];

	ram_init(&ram, RAM_64M);
	bz_file(path, &p);
	struct boot_spec spec = { .kernel_path = path, .ncpus = 1 };
	ck_assert_int_eq(boot_load(ram.gm, &spec, &e), 0);
	unlink(path);
	uint64_t *gdt = (void *)ram_at(&ram, e.gdt_base);
	ck_assert_uint_ge(e.gdt_limit, BOOT_SEL_TSS + 7);
	ck_assert_uint_eq(gdt[BOOT_SEL_CS / 8] >> 53 & 1, 1);	/* L */
	ck_assert_uint_eq(e.cs.l, 1);
	ck_assert_uint_eq(e.cs.db, 0);
	ck_assert_uint_eq(e.cs.type, 0xb);
	ck_assert_uint_eq(e.cs.selector, BOOT_SEL_CS);
	ck_assert_uint_eq(e.ds.limit, 0xffffffff);
	ck_assert_uint_eq(e.ds.type, 0x3);
	ck_assert_uint_eq(e.tr.type, 0xb);
	ck_assert_uint_eq(e.tr.s, 0);
	ck_assert_uint_eq(e.efer & 0x500, 0x500);
	ck_assert_uint_eq(e.cr4 & 0x20, 0x20);
	ck_assert_uint_eq(e.cr0 >> 31, 1);
	/* walk the identity map for a few addresses up to 4 GiB */
	uint64_t probe[] = { 0, 0x1000200, 0x3fffffff, 0xfee00000, 0xffffffff };
	for (unsigned i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		uint64_t va = probe[i];
		uint64_t *pml4 = (void *)ram_at(&ram, e.cr3);
		uint64_t *pdpt = (void *)ram_at(&ram, pml4[va >> 39 & 511] & ~0xfffULL);
		uint64_t pde_tab = pdpt[va >> 30 & 511];
		ck_assert(pde_tab & 1);
		uint64_t *pd = (void *)ram_at(&ram, pde_tab & ~0xfffULL);
		uint64_t pde = pd[va >> 21 & 511];
		ck_assert_uint_eq(pde & 0x83, 0x83);
		ck_assert_uint_eq((pde & ~0x1fffffULL) | (va & 0x1fffff), va);
	}
	ram_fini(&ram);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot-bzimage");
	TCase *tc = tcase_create("bzimage");

	log_set_quiet(true);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, bz_load_fills_zero_page);
	tcase_add_test(tc, load_from_memory);
	tcase_add_test(tc, bz_refuses_when_pref_does_not_fit);
	tcase_add_test(tc, bz_setup_sects_zero_means_four);
	tcase_add_test(tc, bz_unaligned_pref_address_is_aligned);
	tcase_add_test(tc, bz_file_cannot_set_loader_fields);
	tcase_add_test(tc, bz_rejects_wrong_magic);
	tcase_add_test(tc, bz_rejects_bad_boot_flag);
	tcase_add_test(tc, bz_rejects_old_protocol);
	tcase_add_test(tc, bz_rejects_no_64bit_entry);
	tcase_add_test(tc, bz_rejects_truncated_setup);
	tcase_add_test(tc, bz_rejects_truncated_payload);
	tcase_add_test(tc, bz_rejects_garbled_header);
	tcase_add_test(tc, bz_rejects_bad_sizes);
	tcase_add_test(tc, cmdline_length_is_checked);
	tcase_add_test(tc, rejects_missing_and_empty_files);
	tcase_add_test(tc, initrd_below_addr_max);
	tcase_add_test(tc, initrd_below_ram_end);
	tcase_add_test(tc, initrd_too_large);
	tcase_add_test(tc, initrd_place_rules);
	tcase_add_test(tc, e820_small_ram);
	tcase_add_test(tc, e820_large_ram_has_hole);
	tcase_add_test(tc, bz_load_large_ram_with_hole);
	tcase_add_test(tc, entry_long64_gdt_and_page_tables);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
