/* Unit tests of the built guest images and of the bzImage wrapper:
 * - guest-pvh.elf carries a PVH entry note pointing at code, guest64.elf
 *   none; both enter at 1 MiB + 0x200;
 * - the built guest.bzimage is parsed here independently of bzimage.c and
 *   every setup-header field is checked against the boot protocol and
 *   against guest64.elf;
 * - malformed ELF inputs to the wrapper are each rejected with their own
 *   message.
 *   test_images GUEST.BZIMAGE GUEST64.ELF SETUP16.BIN GUEST-PVH.ELF */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "vmm/log.h"

static const char *bzimage_path, *elf_path, *setup16_path, *pvh_path;

struct blob {
	uint8_t *data;
	size_t len;
};

static struct blob slurp(const char *path)
{
	struct blob b = { NULL, 0 };
	FILE *f = fopen(path, "rb");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	b.data = malloc((size_t)n);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(fread(b.data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b.len = (size_t)n;
	return b;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The memory image of the ELF's PT_LOAD segments: [lo, file_hi) has bytes,
 * [lo, mem_hi) is needed. */
struct elf_extent {
	uint64_t lo, file_hi, mem_hi, entry;
};

static struct elf_extent elf_extent(const struct blob *e)
{
	Elf64_Ehdr eh;
	struct elf_extent x = { UINT64_MAX, 0, 0, 0 };

	ck_assert_uint_ge(e->len, sizeof(eh));
	memcpy(&eh, e->data, sizeof(eh));
	x.entry = eh.e_entry;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		ck_assert_uint_le(eh.e_phoff + (i + 1) * sizeof(ph), e->len);
		memcpy(&ph, e->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_paddr < x.lo)
			x.lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_filesz > x.file_hi)
			x.file_hi = ph.p_paddr + ph.p_filesz;
		if (ph.p_paddr + ph.p_memsz > x.mem_hi)
			x.mem_hi = ph.p_paddr + ph.p_memsz;
	}
	return x;
}

/* Byte at physical address pa as the ELF would load it; gaps between
 * segments read as zero (the wrapper must zero-fill them). */
static int elf_byte_at(const struct blob *e, uint64_t pa)
{
	Elf64_Ehdr eh;

	memcpy(&eh, e->data, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, e->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && pa >= ph.p_paddr && pa < ph.p_paddr + ph.p_memsz)
			return pa - ph.p_paddr < ph.p_filesz ? e->data[ph.p_offset + pa - ph.p_paddr] : 0;
	}
	return 0;
}

#define CLI 0xfa	/* every guest entry point starts with cli */

/* The value of the first XEN_ELFNOTE_PHYS32_ENTRY (18) note named "Xen"
 * in a PT_NOTE segment, or 0 if there is none. */
static uint64_t pvh_note_entry(const struct blob *e)
{
	Elf64_Ehdr eh;

	memcpy(&eh, e->data, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, e->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE)
			continue;
		ck_assert_uint_le(ph.p_offset + ph.p_filesz, e->len);
		for (uint64_t off = 0; off + 12 <= ph.p_filesz;) {
			const uint8_t *n = e->data + ph.p_offset + off;
			uint32_t namesz = le32(n), descsz = le32(n + 4), type = le32(n + 8);
			uint64_t desc = 12 + (namesz + 3) / 4 * 4;

			ck_assert_uint_le(off + desc + descsz, ph.p_filesz);
			if (type == 18 && namesz == 4 && memcmp(n + 12, "Xen", 4) == 0) {
				ck_assert_msg(descsz == 8 || descsz == 4, "descsz %u", descsz);
				return descsz == 8 ? le64(n + desc) : le32(n + desc);
			}
			off += desc + (descsz + 3) / 4 * 4;
		}
	}
	return 0;
}

static void check_elf_entries(const struct blob *e)
{
	struct elf_extent x = elf_extent(e);

	ck_assert_uint_eq(x.lo, 0x100000);
	ck_assert_uint_eq(x.entry, 0x100200);
	ck_assert_int_eq(elf_byte_at(e, 0x100000), CLI);	/* startup_32 */
	ck_assert_int_eq(elf_byte_at(e, 0x100200), CLI);	/* startup_64 */
}

START_TEST(pvh_elf_has_entry_note)
{
	struct blob e = slurp(pvh_path);
	uint64_t entry = pvh_note_entry(&e);

	check_elf_entries(&e);
	ck_assert_uint_ne(entry, 0);
	ck_assert_uint_lt(entry, 0x100000000ull);	/* a 32-bit entry */
	ck_assert_uint_ne(entry, 0x100200);		/* not the 64-bit one */
	ck_assert_int_eq(elf_byte_at(&e, entry), CLI);
	free(e.data);
}
END_TEST

START_TEST(elf64_has_no_pvh_note)
{
	struct blob e = slurp(elf_path);

	check_elf_entries(&e);
	ck_assert_uint_eq(pvh_note_entry(&e), 0);
	free(e.data);
}
END_TEST

START_TEST(built_header_fields)
{
	struct blob bz = slurp(bzimage_path), elf = slurp(elf_path), s16 = slurp(setup16_path);
	const uint8_t *h = bz.data;
	struct elf_extent x = elf_extent(&elf);

	ck_assert_uint_ge(bz.len, 1024);
	unsigned int setup_sects = h[0x1f1];
	size_t setup_len = (setup_sects + 1) * 512u;
	ck_assert_uint_ge(setup_sects, 1);
	ck_assert_uint_gt(bz.len, setup_len);
	size_t payload_len = bz.len - setup_len;

	ck_assert_uint_eq(le16(h + 0x1fe), 0xaa55);		/* boot_flag */
	ck_assert_int_eq(memcmp(h + 0x202, "HdrS", 4), 0);	/* header */
	ck_assert_uint_eq(le16(h + 0x206), 0x020f);		/* version 2.15 */
	ck_assert_uint_eq(h[0x200], 0xeb);			/* jump: jmp short */
	ck_assert_uint_eq(0x202u + h[0x201], 0x280);		/* ... to the setup code */
	ck_assert_int_eq(memcmp(h + 0x280, s16.data, s16.len), 0);
	ck_assert_uint_eq(le32(h + 0x1f4) * 16ull, payload_len);	/* syssize: exact */
	ck_assert_uint_eq(h[0x211] & 0x01, 0x01);		/* loadflags: LOADED_HIGH */
	ck_assert_uint_eq(le32(h + 0x214), 0x100000);		/* code32_start */
	ck_assert_uint_eq(le32(h + 0x228), 0);			/* cmd_line_ptr: loader's */
	ck_assert_uint_eq(le32(h + 0x22c), 0x7fffffff);		/* initrd_addr_max */
	ck_assert_uint_eq(h[0x234], 0);				/* relocatable_kernel */
	ck_assert_uint_eq(le16(h + 0x236) & 0x01, 0x01);	/* XLF_KERNEL_64 */
	ck_assert_uint_eq(le32(h + 0x238), 2047);		/* cmdline_size */
	ck_assert_uint_eq(le64(h + 0x258), 0x100000);		/* pref_address */
	uint32_t init_size = le32(h + 0x260);
	ck_assert_uint_eq(init_size % 4096, 0);
	ck_assert_uint_ge(init_size, payload_len);
	ck_assert_uint_ge(0x100000ull + init_size, x.mem_hi);	/* covers .bss */
	uint16_t kv = le16(h + 0x20e);				/* kernel_version */
	ck_assert_uint_lt(kv + 0x200u, setup_len);
	ck_assert_str_eq((const char *)h + kv + 0x200, "minivmm test guest");

	/* The payload is the ELF's memory image from 1 MiB; the 64-bit entry
	 * is at payload + 0x200 and is the ELF's e_entry. */
	ck_assert_uint_eq(x.lo, 0x100000);
	ck_assert_uint_eq(x.entry, 0x100200);
	ck_assert_uint_eq(payload_len, (x.file_hi - x.lo + 15) / 16 * 16);
	for (size_t i = 0; i < payload_len; i++)
		ck_assert_int_eq(h[setup_len + i], elf_byte_at(&elf, x.lo + i));
	free(bz.data);
	free(elf.data);
	free(s16.data);
}
END_TEST

/* A minimal valid input: one PT_LOAD of 0x400 bytes at 1 MiB (0x3000 in
 * memory), entry at 1 MiB + 0x200. Tests break one field at a time. */
struct fake_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t code[0x400];
};

static struct fake_elf *fake_elf(void)
{
	struct fake_elf *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_type = ET_EXEC;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_entry = 0x100200;
	f->eh.e_phoff = offsetof(struct fake_elf, ph);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = 1;
	f->ph.p_type = PT_LOAD;
	f->ph.p_offset = offsetof(struct fake_elf, code);
	f->ph.p_paddr = f->ph.p_vaddr = 0x100000;
	f->ph.p_filesz = sizeof(f->code);
	f->ph.p_memsz = 0x3000;
	for (size_t i = 0; i < sizeof(f->code); i++)
		f->code[i] = (uint8_t)(i * 7 + 1);
	return f;
}

static int build(const struct fake_elf *f, size_t len, uint8_t **img, size_t *img_len)
{
	static const uint8_t stub[] = { 0xfa, 0xf4 };	/* cli; hlt */

	log_set_quiet(true);
	log_clear_last_error();
	return bzimage_build((const uint8_t *)f, len, stub, sizeof(stub), img, img_len);
}

START_TEST(synthetic_elf_wrapped)
{
	struct fake_elf *f = fake_elf();
	uint8_t *img = NULL;
	size_t len = 0;

	f->ph.p_filesz = sizeof(f->code) - 7;	/* not a whole paragraph */
	ck_assert_int_eq(build(f, sizeof(*f), &img, &len), 0);
	ck_assert_uint_eq(img[0x1f1], 1);			/* 2 setup sectors suffice */
	ck_assert_uint_eq(len, 1024 + sizeof(f->code));		/* padded to 16 */
	ck_assert_uint_eq(le32(img + 0x260), 0x3000);		/* init_size = memsz */
	ck_assert_uint_eq(le32(img + 0x1f4), sizeof(f->code) / 16);
	ck_assert_int_eq(memcmp(img + 1024, f->code, sizeof(f->code) - 7), 0);
	for (size_t i = sizeof(f->code) - 7; i < sizeof(f->code); i++)
		ck_assert_uint_eq(img[1024 + i], 0);
	ck_assert_uint_eq(img[0x280], 0xfa);
	ck_assert_uint_eq(img[0x281], 0xf4);
	free(img);
	free(f);
}
END_TEST

static void expect_reject(const struct fake_elf *f, size_t len, int err, const char *msg)
{
	uint8_t *img = NULL;
	size_t img_len = 0;

	ck_assert_int_eq(build(f, len, &img, &img_len), err);
	ck_assert_ptr_null(img);
	ck_assert_msg(strstr(log_last_error(), msg) != NULL, "error \"%s\" lacks \"%s\"",
		      log_last_error(), msg);
}

START_TEST(rejects_non_elf)
{
	struct fake_elf *f = fake_elf();

	f->eh.e_ident[1] = 'X';
	expect_reject(f, sizeof(*f), -EINVAL, "not an ELF file");
	expect_reject(f, 10, -EINVAL, "not an ELF file");
	free(f);
}
END_TEST

START_TEST(rejects_elf32)
{
	struct fake_elf *f = fake_elf();

	f->eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(f, sizeof(*f), -EINVAL, "not an x86-64 ELF64 executable");
	free(f);
}
END_TEST

START_TEST(rejects_wrong_entry)
{
	struct fake_elf *f = fake_elf();

	f->eh.e_entry = 0x100000;
	expect_reject(f, sizeof(*f), -EINVAL, "entry point 0x100000, want 0x100200");
	free(f);
}
END_TEST

START_TEST(rejects_phdrs_outside_file)
{
	struct fake_elf *f = fake_elf();

	f->eh.e_phoff = sizeof(*f) - 8;
	expect_reject(f, sizeof(*f), -EINVAL, "program headers");
	f->eh.e_phoff = UINT64_MAX;
	expect_reject(f, sizeof(*f), -EINVAL, "program headers");
	free(f);
}
END_TEST

START_TEST(rejects_truncated_segment)
{
	struct fake_elf *f = fake_elf();

	expect_reject(f, sizeof(*f) - 1, -EINVAL, "file range outside the file");
	f->ph.p_offset = UINT64_MAX - 4;
	expect_reject(f, sizeof(*f), -EINVAL, "file range outside the file");
	free(f);
}
END_TEST

START_TEST(rejects_filesz_above_memsz)
{
	struct fake_elf *f = fake_elf();

	f->ph.p_memsz = 0x100;
	expect_reject(f, sizeof(*f), -EINVAL, "file size above memory size");
	free(f);
}
END_TEST

START_TEST(rejects_segment_below_1mib)
{
	struct fake_elf *f = fake_elf();

	f->ph.p_paddr = 0xff000;
	expect_reject(f, sizeof(*f), -EINVAL, "outside [0x100000");
	free(f);
}
END_TEST

START_TEST(rejects_oversized_segment)
{
	struct fake_elf *f = fake_elf();

	f->ph.p_memsz = (uint64_t)BZ_MAX_PAYLOAD + 1;
	expect_reject(f, sizeof(*f), -EFBIG, "outside [0x100000");
	f->ph.p_memsz = 0x1000;
	f->ph.p_paddr = UINT64_MAX - 0x10;	/* paddr + memsz wraps */
	expect_reject(f, sizeof(*f), -EINVAL, "outside [0x100000");
	free(f);
}
END_TEST

START_TEST(rejects_no_code_at_entry)
{
	struct fake_elf *f = fake_elf();

	f->ph.p_filesz = 0x100;			/* ends before 0x100200 */
	expect_reject(f, sizeof(*f), -EINVAL, "no loadable code at the 64-bit entry");
	free(f);
}
END_TEST

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: test_images GUEST.BZIMAGE GUEST64.ELF SETUP16.BIN GUEST-PVH.ELF\n");
		return 2;
	}
	bzimage_path = argv[1];
	elf_path = argv[2];
	setup16_path = argv[3];
	pvh_path = argv[4];

	Suite *s = suite_create("guest_images");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, pvh_elf_has_entry_note);
	tcase_add_test(tc, elf64_has_no_pvh_note);
	tcase_add_test(tc, built_header_fields);
	tcase_add_test(tc, synthetic_elf_wrapped);
	tcase_add_test(tc, rejects_non_elf);
	tcase_add_test(tc, rejects_elf32);
	tcase_add_test(tc, rejects_wrong_entry);
	tcase_add_test(tc, rejects_phdrs_outside_file);
	tcase_add_test(tc, rejects_truncated_segment);
	tcase_add_test(tc, rejects_filesz_above_memsz);
	tcase_add_test(tc, rejects_segment_below_1mib);
	tcase_add_test(tc, rejects_oversized_segment);
	tcase_add_test(tc, rejects_no_code_at_entry);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
