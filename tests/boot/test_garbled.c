/* Garbled kernels: deterministic random mutations of a valid bzImage and a
 * valid ELF (with PVH note) must each be either accepted and loaded, or
 * rejected with -EINVAL and a message naming the file -- never a crash
 * (ASan/UBSan watch every access). Parsers run on in-memory images. */
#include "helpers.h"

#include <elf.h>
#include <errno.h>

#define ROUNDS 3000

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	/* xorshift64: reproducible across runs */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Flip 1..4 bytes inside [0, span) of img. */
static void mutate(uint8_t *img, size_t span)
{
	unsigned n = 1 + rng() % 4;
	for (unsigned i = 0; i < n; i++) {
		size_t at = rng() % span;
		switch (rng() % 3) {
		case 0: img[at] = (uint8_t)rng(); break;
		case 1: img[at] = 0xff; break;
		default: img[at] = 0; break;
		}
	}
}

static void expect_clean_result(int r, const char *name)
{
	if (r == 0)
		return;
	ck_assert_int_eq(r, -EINVAL);
	const char *e = log_last_error();
	ck_assert_msg(strstr(e, name) != NULL, "message \"%s\" does not name %s", e, name);
}

START_TEST(garbled_bzimages)
{
	struct bz_params p = bz_default();
	struct test_ram ram;
	size_t size;
	uint8_t *good = bz_build(&p, &size);
	uint8_t *img = malloc(size);
	unsigned accepted = 0, rejected = 0;

	ram_init(&ram, 64 * MIB);
	for (unsigned round = 0; round < ROUNDS; round++) {
		memcpy(img, good, size);
		mutate(img, 0x270);	/* the boot sector and setup header */
		size_t cut = rng() % 8 == 0 ? rng() % size : size;
		struct boot_file f = { .path = "garbled-bzimage", .data = img, .size = cut };
		struct bzimage_info bz;
		uint64_t load;
		log_clear_last_error();
		int r = bzimage_parse(&f, &bz);
		expect_clean_result(r, "garbled-bzimage");
		if (r == 0 && bzimage_place(&f, &bz, ram.size, &load) == 0) {
			ck_assert_uint_ge(load, MEM_HIMEM_START);
			ck_assert_uint_le(load + bz.init_size, ram.size);
			ck_assert_uint_eq(gmem_write(ram.gm, load, img + bz.setup_size,
						     bz.payload_size), 0);
		}
		r == 0 ? accepted++ : rejected++;
	}
	/* both outcomes were exercised */
	ck_assert_uint_gt(accepted, 10);
	ck_assert_uint_gt(rejected, 10);
	ram_fini(&ram);
	free(img);
	free(good);
}
END_TEST

/* A valid ELF: one PT_LOAD at 2 MiB and a PT_NOTE with the PVH entry. */
static size_t elf_build(uint8_t *buf, size_t cap)
{
	const size_t data = 0x200, size = data + 0x400;
	ck_assert_uint_ge(cap, size);
	memset(buf, 0, size);
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_entry = 0x200000, .e_phoff = sizeof(Elf64_Ehdr),
			  .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
			  .e_phnum = 2 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_offset = data, .p_vaddr = 0x200000, .p_paddr = 0x200000,
		  .p_filesz = 0x300, .p_memsz = 0x1000 },
		{ .p_type = PT_NOTE, .p_offset = data + 0x300, .p_filesz = 20 },
	};
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	Elf64_Nhdr nh = { 4, 4, XEN_ELFNOTE_PHYS32_ENTRY };
	uint32_t entry = 0x200010;
	memcpy(buf + data + 0x300, &nh, sizeof(nh));
	memcpy(buf + data + 0x30c, "Xen", 4);
	memcpy(buf + data + 0x310, &entry, 4);
	return size;
}

START_TEST(garbled_elfs)
{
	uint8_t good[0x800], img[0x800];
	size_t size = elf_build(good, sizeof(good));
	struct test_ram ram;
	unsigned accepted = 0, rejected = 0;

	ram_init(&ram, 64 * MIB);
	for (unsigned round = 0; round < ROUNDS; round++) {
		memcpy(img, good, size);
		/* headers, program headers and the note */
		mutate(img, rng() % 2 ? sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) : size);
		size_t cut = rng() % 8 == 0 ? rng() % size : size;
		struct boot_file f = { .path = "garbled-elf", .data = img, .size = cut };
		struct elf_info info;
		log_clear_last_error();
		int r = elf_parse(&f, &info);
		expect_clean_result(r, "garbled-elf");
		if (r == 0) {
			int l = elf_load(ram.gm, &f);
			expect_clean_result(l, "garbled-elf");
		}
		r == 0 ? accepted++ : rejected++;
	}
	ck_assert_uint_gt(accepted, 10);
	ck_assert_uint_gt(rejected, 10);
	ram_fini(&ram);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot-garbled");
	TCase *tc = tcase_create("garbled");

	log_set_quiet(true);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, garbled_bzimages);
	tcase_add_test(tc, garbled_elfs);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
