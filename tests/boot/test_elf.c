/* ELF vmlinux loading: PT_LOAD segments, 64-bit entry with a zero page, the
 * PVH note and its hvm_start_info, and rejection of malformed files. */
#include "helpers.h"

#include <elf.h>
#include <errno.h>

#define RAM_64M   (64 * MIB)
#define DATA_OFF  0x1000
#define DATA_SIZE 0x3000
#define SEG_PADDR 0x200000ULL
#define SEG_VADDR 0xffffffff80200000ULL

/* An ELF file: header, up to 4 program headers, DATA_SIZE bytes at DATA_OFF. */
struct elf_img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4];
	uint8_t pad[DATA_OFF - sizeof(Elf64_Ehdr) - 4 * sizeof(Elf64_Phdr)];
	uint8_t data[DATA_SIZE];
};

/* One PT_LOAD: 0x2000 bytes of file data at SEG_PADDR (virtual SEG_VADDR),
 * 0x3000 bytes in memory; entry at +0x40. */
static void elf_default(struct elf_img *img)
{
	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS64;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_ident[EI_VERSION] = EV_CURRENT;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_X86_64;
	img->eh.e_version = EV_CURRENT;
	img->eh.e_entry = SEG_VADDR + 0x40;
	img->eh.e_phoff = offsetof(struct elf_img, ph);
	img->eh.e_ehsize = sizeof(Elf64_Ehdr);
	img->eh.e_phentsize = sizeof(Elf64_Phdr);
	img->eh.e_phnum = 1;
	img->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = DATA_OFF,
		.p_vaddr = SEG_VADDR, .p_paddr = SEG_PADDR, .p_filesz = 0x2000,
		.p_memsz = 0x3000, .p_align = 0x1000 };
	for (unsigned i = 0; i < 0x2000; i++)
		img->data[i] = (uint8_t)(i * 13 + 1);
}

/* Add a PT_NOTE holding Xen's PHYS32_ENTRY note (desc_size bytes). */
static void elf_add_pvh(struct elf_img *img, uint32_t entry, uint32_t desc_size)
{
	uint8_t *n = img->data + 0x2000;
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = desc_size, .n_type = XEN_ELFNOTE_PHYS32_ENTRY };
	/* an unrelated note first, as in a real vmlinux */
	Elf64_Nhdr other = { .n_namesz = 4, .n_descsz = 6, .n_type = 6 };

	memcpy(n, &other, sizeof(other));
	memcpy(n + 12, "Xen", 4);
	memcpy(n + 16, "linux", 6);
	memcpy(n + 24, &nh, sizeof(nh));
	memcpy(n + 36, "Xen", 4);
	memcpy(n + 40, &entry, 4);
	unsigned i = img->eh.e_phnum++;
	img->ph[i] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = DATA_OFF + 0x2000,
		.p_filesz = 40 + ((desc_size + 3) & ~3u), .p_align = 4 };
}

static int elf_check(const struct elf_img *img, size_t size)
{
	char path[64];

	tmp_write(path, img, size);
	struct boot_spec spec = { .kernel_path = path, .ncpus = 1 };
	log_clear_last_error();
	int r = boot_check(&spec);
	unlink(path);
	return r;
}

static int elf_boot(struct test_ram *ram, const struct elf_img *img, const char *initrd,
		    struct boot_entry *e)
{
	char kpath[64], ipath[64];

	tmp_write(kpath, img, sizeof(*img));
	if (initrd)
		tmp_write(ipath, initrd, strlen(initrd));
	struct boot_spec spec = { .kernel_path = kpath, .initrd_path = initrd ? ipath : NULL,
				  .cmdline = "root=/dev/vda", .ncpus = 3 };
	log_clear_last_error();
	int r = boot_check(&spec);
	if (r == 0)
		r = boot_load(ram->gm, &spec, e);
	unlink(kpath);
	if (initrd)
		unlink(ipath);
	return r;
}

START_TEST(elf_loads_segments_and_zero_page)
{
	struct elf_img img;
	struct test_ram ram;
	struct boot_entry e;

	elf_default(&img);
	ram_init(&ram, RAM_64M);
	memset(ram_at(&ram, SEG_PADDR), 0xAA, 0x4000);	/* bss must be cleared */
	ck_assert_int_eq(elf_boot(&ram, &img, "INITRD", &e), 0);
	ck_assert_int_eq(e.mode, BOOT_CPU_LONG64);
	ck_assert_uint_eq(e.rip, SEG_PADDR + 0x40);	/* e_entry made physical */
	ck_assert_mem_eq(ram_at(&ram, SEG_PADDR), img.data, 0x2000);
	for (unsigned i = 0x2000; i < 0x3000; i++)
		ck_assert_uint_eq(ram_at(&ram, SEG_PADDR)[i], 0);
	ck_assert_uint_eq(ram_at(&ram, SEG_PADDR)[0x3000], 0xAA);	/* past memsz */
	const struct boot_params *bp = (void *)ram_at(&ram, e.rsi);
	ck_assert_uint_eq(bp->hdr.header, SETUP_HDR_MAGIC);
	ck_assert_uint_eq(bp->hdr.boot_flag, SETUP_BOOT_FLAG);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_str_eq((char *)ram_at(&ram, bp->hdr.cmd_line_ptr), "root=/dev/vda");
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 6);
	ck_assert_mem_eq(ram_at(&ram, bp->hdr.ramdisk_image), "INITRD", 6);
	ck_assert_uint_eq(bp->e820_entries, 3);
	ram_fini(&ram);
}
END_TEST

START_TEST(elf_physical_entry)
{
	struct elf_img img;
	struct test_ram ram;
	struct boot_entry e;

	elf_default(&img);
	img.eh.e_entry = SEG_PADDR + 0x80;	/* like Linux's vmlinux */
	ram_init(&ram, RAM_64M);
	ck_assert_int_eq(elf_boot(&ram, &img, NULL, &e), 0);
	ck_assert_uint_eq(e.rip, SEG_PADDR + 0x80);
	ram_fini(&ram);
}
END_TEST

START_TEST(elf_pvh_note_gives_prot32_entry)
{
	struct elf_img img;
	struct test_ram ram;
	struct boot_entry e;

	elf_default(&img);
	elf_add_pvh(&img, (uint32_t)SEG_PADDR + 0x100, 4);
	ram_init(&ram, RAM_64M);
	ck_assert_int_eq(elf_boot(&ram, &img, "RD", &e), 0);
	ck_assert_int_eq(e.mode, BOOT_CPU_PROT32);
	ck_assert_uint_eq(e.rip, SEG_PADDR + 0x100);
	ck_assert_uint_eq(e.cs.l, 0);
	ck_assert_uint_eq(e.cs.db, 1);
	ck_assert_uint_eq(e.cr0 & 0x80000001, 1);	/* PE, no paging */
	ck_assert_uint_eq(e.efer, 0);
	const struct hvm_start_info *si = (void *)ram_at(&ram, e.rbx);
	ck_assert_uint_eq(si->magic, HVM_START_MAGIC);
	ck_assert_uint_eq(si->version, 1);
	ck_assert_str_eq((char *)ram_at(&ram, si->cmdline_paddr), "root=/dev/vda");
	ck_assert_mem_eq(ram_at(&ram, si->rsdp_paddr), "RSD PTR ", 8);
	ck_assert_uint_eq(si->nr_modules, 1);
	const struct hvm_modlist_entry *m = (void *)ram_at(&ram, si->modlist_paddr);
	ck_assert_uint_eq(m->size, 2);
	ck_assert_mem_eq(ram_at(&ram, m->paddr), "RD", 2);
	ck_assert_uint_eq(m->paddr % 4096, 0);
	ck_assert_uint_eq(si->memmap_entries, 3);
	const struct hvm_memmap_entry *mm = (void *)ram_at(&ram, si->memmap_paddr);
	ck_assert_uint_eq(mm[0].type, 1);
	ck_assert_uint_eq(mm[1].type, 2);
	ck_assert_uint_eq(mm[2].addr + mm[2].size, RAM_64M);
	ram_fini(&ram);
}
END_TEST

START_TEST(elf_pvh_note_8_byte_desc)
{
	struct elf_img img;
	struct elf_info info;

	elf_default(&img);
	elf_add_pvh(&img, (uint32_t)SEG_PADDR + 0x10, 8);
	struct boot_file f = { .path = "vmlinux", .data = (void *)&img, .size = sizeof(img) };
	ck_assert_int_eq(elf_parse(&f, &info), 0);
	ck_assert(info.has_pvh);
	ck_assert_uint_eq(info.pvh_entry, SEG_PADDR + 0x10);
	ck_assert_uint_eq(info.end, SEG_PADDR + 0x3000);
}
END_TEST

/* Program headers at an odd offset are legal ELF; read without UB. */
START_TEST(elf_unaligned_program_headers)
{
	struct elf_img img;
	struct elf_info info;

	elf_default(&img);
	uint8_t *raw = (uint8_t *)&img;
	memmove(raw + 0x41, raw + 0x40, sizeof(img.ph));
	img.eh.e_phoff = 0x41;
	struct boot_file f = { .path = "vmlinux", .data = raw, .size = sizeof(img) };
	ck_assert_int_eq(elf_parse(&f, &info), 0);
	ck_assert_uint_eq(info.entry64, SEG_PADDR + 0x40);
	ck_assert_uint_eq(info.end, SEG_PADDR + 0x3000);
}
END_TEST

START_TEST(elf_rejects_garbled_notes)
{
	struct elf_img img;

	elf_default(&img);
	elf_add_pvh(&img, (uint32_t)SEG_PADDR, 4);
	img.data[0x2000 + 24 + 4] = 0xff;	/* PVH note descsz 0xff: past the PT_NOTE */
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("garbled ELF note");

	elf_default(&img);
	elf_add_pvh(&img, (uint32_t)SEG_PADDR, 2);
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("garbled PVH note: 2-byte entry");

	elf_default(&img);
	elf_add_pvh(&img, 0x7000000, 4);	/* not inside the segment */
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("PVH entry 0x7000000 is not inside any PT_LOAD");

	elf_default(&img);
	elf_add_pvh(&img, (uint32_t)SEG_PADDR, 4);
	img.ph[1].p_offset = sizeof(img) - 8;	/* PT_NOTE beyond the file */
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("truncated: PT_NOTE");
}
END_TEST

START_TEST(elf_rejects_segment_outside_ram)
{
	struct elf_img img;
	struct test_ram ram;
	struct boot_entry e;

	ram_init(&ram, RAM_64M);
	elf_default(&img);
	img.ph[0].p_paddr = RAM_64M - 0x1000;	/* memsz 0x3000 runs past RAM */
	img.eh.e_entry = RAM_64M - 0x1000;
	ck_assert_int_eq(elf_boot(&ram, &img, NULL, &e), -EINVAL);
	assert_error_has("segment 0 at [0x3fff000, +0x3000) is outside guest RAM");

	elf_default(&img);
	img.ph[0].p_paddr = 0x80000;		/* below 1 MiB: the firmware area */
	ck_assert_int_eq(elf_boot(&ram, &img, NULL, &e), -EINVAL);
	assert_error_has("outside guest RAM");
	ram_fini(&ram);
}
END_TEST

START_TEST(elf_rejects_bad_segments)
{
	struct elf_img img;

	elf_default(&img);
	img.ph[0].p_memsz = 0x1000;	/* < filesz 0x2000 */
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("p_filesz 0x2000 > p_memsz 0x1000");

	elf_default(&img);
	img.ph[0].p_paddr = UINT64_MAX - 0x1000;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("overflows");

	elf_default(&img);
	img.ph[0].p_offset = UINT64_MAX - 0x10;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("truncated: segment 0 data");

	elf_default(&img);
	ck_assert_int_eq(elf_check(&img, DATA_OFF + 0x1000), -EINVAL);	/* file cut short */
	assert_error_has("truncated: segment 0 data at 0x1000 (+0x2000)");

	elf_default(&img);
	img.ph[0].p_type = PT_NULL;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("no PT_LOAD segment");

	elf_default(&img);
	img.eh.e_entry = 0x12345678;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("entry point 0x12345678 is not inside any PT_LOAD");
}
END_TEST

/* The boot page tables map [0, 4 GiB): a segment reaching past that (and
 * so an entry inside it) is refused before anything is loaded. */
START_TEST(elf_rejects_segment_above_4g)
{
	struct elf_img img;

	elf_default(&img);
	img.ph[0].p_paddr = 0xfffff000ULL;	/* memsz 0x3000 crosses 4 GiB */
	img.eh.e_entry = 0xfffff040ULL;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("segment 0 at [0xfffff000, +0x3000) ends above 4 GiB");
	assert_error_has("/mvboot-");		/* names the file */

	elf_default(&img);
	img.ph[0].p_paddr = 0x100200000ULL;	/* wholly above, entry virtual inside it */
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("ends above 4 GiB");

	elf_default(&img);			/* ending exactly at 4 GiB is fine */
	img.ph[0].p_paddr = 0x100000000ULL - 0x3000;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), 0);
}
END_TEST

/* A PT_LOAD with p_memsz 0 loads nothing: it must not move the kernel's
 * end (where the initrd may start) nor be checked against RAM or 4 GiB. */
START_TEST(elf_ignores_empty_segments)
{
	struct elf_img img;
	struct test_ram ram;
	struct boot_entry e;

	ram_init(&ram, RAM_64M);
	elf_default(&img);
	img.eh.e_phnum = 3;
	img.ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = DATA_OFF,
		.p_vaddr = SEG_VADDR + RAM_64M, .p_paddr = RAM_64M - 0x10, .p_align = 0x1000 };
	img.ph[2] = img.ph[1];
	img.ph[2].p_paddr = 0x500000000ULL;	/* above 4 GiB, but empty */
	ck_assert_int_eq(elf_boot(&ram, &img, "INITRD", &e), 0);
	const struct boot_params *bp = (void *)ram_at(&ram, e.rsi);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 6);
	ck_assert_mem_eq(ram_at(&ram, bp->hdr.ramdisk_image), "INITRD", 6);

	/* Only empty PT_LOADs: nothing to boot. */
	elf_default(&img);
	img.ph[0].p_filesz = img.ph[0].p_memsz = 0;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("no PT_LOAD segment with contents");
	ram_fini(&ram);
}
END_TEST

START_TEST(elf_rejects_bad_headers)
{
	struct elf_img img;

	elf_default(&img);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("not a 64-bit ELF file");

	elf_default(&img);
	img.eh.e_machine = EM_386;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("ELF machine 3 is not x86-64");

	elf_default(&img);
	img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("not a little-endian");

	elf_default(&img);
	img.eh.e_type = ET_REL;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("not an executable");

	elf_default(&img);
	img.eh.e_phentsize = 32;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("e_phentsize 32");

	elf_default(&img);
	img.eh.e_phoff = sizeof(img) - 16;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("truncated: program headers");

	elf_default(&img);
	img.eh.e_phoff = UINT64_MAX;
	ck_assert_int_eq(elf_check(&img, sizeof(img)), -EINVAL);
	assert_error_has("truncated: program headers");

	elf_default(&img);
	ck_assert_int_eq(elf_check(&img, 40), -EINVAL);
	assert_error_has("shorter than an ELF64 header");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot-elf");
	TCase *tc = tcase_create("elf");

	log_set_quiet(true);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, elf_loads_segments_and_zero_page);
	tcase_add_test(tc, elf_physical_entry);
	tcase_add_test(tc, elf_pvh_note_gives_prot32_entry);
	tcase_add_test(tc, elf_pvh_note_8_byte_desc);
	tcase_add_test(tc, elf_unaligned_program_headers);
	tcase_add_test(tc, elf_rejects_garbled_notes);
	tcase_add_test(tc, elf_rejects_segment_outside_ram);
	tcase_add_test(tc, elf_rejects_bad_segments);
	tcase_add_test(tc, elf_rejects_bad_headers);
	tcase_add_test(tc, elf_rejects_segment_above_4g);
	tcase_add_test(tc, elf_ignores_empty_segments);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
