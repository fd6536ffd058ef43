/* SMBIOS tables: built for base 0 they are the dump file `dmidecode
 * --dump-bin` writes (entry point at 0, table at 0x20), so dmidecode
 * itself checks them (`--from-dump`): UUID, product, serial, memory size,
 * CPU count; and in guest RAM, found the way Linux's dmi_scan finds them.
 * Without dmidecode (Debian package dmidecode) the test is skipped (exit
 * 77), except under CI=true. */
#include "helpers.h"

#include "boot/smbios.h"

#include <ctype.h>
#include <errno.h>

static char tmpdir[64];
static const uint8_t uuid_bytes[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
#define UUID_TEXT "00112233-4455-6677-8899-aabbccddeeff"

static bool have_dmidecode(void)
{
	return system("dmidecode --version >/dev/null 2>&1") == 0;
}

/* stdout (and stderr, so warnings show) of a shell command; exit status 0. */
static char *run(const char *fmt, const char *arg)
{
	char cmd[512], *out = NULL;
	size_t len = 0;

	snprintf(cmd, sizeof(cmd), fmt, arg);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	FILE *mem = open_memstream(&out, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(mem);
	ck_assert_msg(pclose(p) == 0, "'%s' failed: %s", cmd, out);
	return out;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Builds the blob for base 0 into a dump file; returns its path. */
static const char *dump(const struct smbios_spec *spec, const char *name)
{
	static char path[128];
	size_t cap = 64 * 1024;
	uint8_t *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	int n = smbios_build(buf, cap, 0, spec);
	ck_assert_int_gt(n, SMBIOS_TABLE_OFFSET);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, (size_t)n, f), (size_t)n);
	ck_assert_int_eq(fclose(f), 0);
	free(buf);
	return path;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

START_TEST(dmidecode_reads_identity)
{
	struct smbios_spec spec = { .ncpus = 4, .nmem = 2,
		.mem = { { 0, 2 * GIB }, { MEM_HIGH_START, 1 * GIB } } };
	memcpy(spec.uuid, uuid_bytes, 16);
	const char *f = dump(&spec, "identity.bin");

	char *all = run("dmidecode --from-dump %s 2>&1", f);
	ck_assert_ptr_nonnull(strstr(all, "SMBIOS 3.0.0 present."));
	ck_assert_ptr_nonnull(strstr(all, "End Of Table"));
	/* dmidecode warns about bad lengths, strings and checksums */
	ck_assert_ptr_null(strstr(all, "Invalid"));
	ck_assert_ptr_null(strstr(all, "<BAD INDEX>"));
	ck_assert_ptr_null(strstr(all, "Wrong"));
	ck_assert_ptr_null(strstr(all, "truncated"));
	free(all);

	char *u = run("dmidecode --from-dump %s -s system-uuid", f);
	lower(u);
	ck_assert_str_eq(u, UUID_TEXT "\n");
	free(u);
	char *p = run("dmidecode --from-dump %s -s system-product-name", f);
	ck_assert_str_eq(p, "minivmm\n");
	free(p);
	char *s = run("dmidecode --from-dump %s -s system-serial-number", f);
	ck_assert_str_eq(s, SMBIOS_NOCLOUD_SERIAL "\n");
	free(s);

	char *cpu = run("dmidecode --from-dump %s -t processor", f);
	ck_assert_uint_eq(count(cpu, "Processor Information"), 4);
	ck_assert_ptr_nonnull(strstr(cpu, "Socket Designation: CPU 3"));
	free(cpu);
	char *mem = run("dmidecode --from-dump %s -t 16,17,19", f);
	ck_assert_ptr_nonnull(strstr(mem, "Maximum Capacity: 3 GB"));
	ck_assert_ptr_nonnull(strstr(mem, "Size: 3 GB"));
	ck_assert_ptr_nonnull(strstr(mem, "Starting Address: 0x00000000000"));
	ck_assert_ptr_nonnull(strstr(mem, "Ending Address: 0x0007FFFFFFF"));
	ck_assert_ptr_nonnull(strstr(mem, "Starting Address: 0x00100000000"));
	ck_assert_ptr_nonnull(strstr(mem, "Ending Address: 0x0013FFFFFFF"));
	free(mem);
	char *bios = run("dmidecode --from-dump %s -t 0,1,3,32", f);
	ck_assert_ptr_nonnull(strstr(bios, "System is a virtual machine"));
	ck_assert_ptr_nonnull(strstr(bios, "Status: No errors detected"));
	ck_assert_ptr_nonnull(strstr(bios, "Chassis Information"));
	free(bios);
}
END_TEST

/* 3 TiB, a range above 4 TiB: the 32-bit fields overflow, the extended
 * ones hold the sizes and addresses. */
START_TEST(dmidecode_reads_large_memory)
{
	const uint64_t tib = 1024 * GIB;
	struct smbios_spec spec = { .ncpus = 1, .nmem = 4,
		.mem = { { 0, 3 * GIB }, { MEM_HIGH_START, tib - 3 * GIB },
			 { 2 * tib, tib }, { 4 * tib, tib } } };
	const char *f = dump(&spec, "large.bin");
	char *mem = run("dmidecode --from-dump %s -t 16,17,19", f);
	ck_assert_ptr_nonnull(strstr(mem, "Maximum Capacity: 3 TB"));
	ck_assert_ptr_nonnull(strstr(mem, "Size: 3 TB"));
	ck_assert_ptr_nonnull(strstr(mem, "Starting Address: 0x0000040000000000"));
	ck_assert_ptr_nonnull(strstr(mem, "Ending Address: 0x000004FFFFFFFFFF"));
	free(mem);
	char *u = run("dmidecode --from-dump %s -s system-uuid", f);
	lower(u);
	ck_assert_str_eq(u, "not settable\n");	/* how dmidecode shows the nil UUID */
	free(u);
}
END_TEST

START_TEST(every_vcpu_count_fits)
{
	static uint8_t buf[BOOT_SMBIOS_MAX];
	struct smbios_spec spec = { .ncpus = MAX_VCPUS, .nmem = SMBIOS_MAX_MEM_RANGES,
		.mem = { { 0, GIB }, { 2 * GIB, GIB }, { 4 * GIB, GIB }, { 8 * GIB, GIB } } };
	ck_assert_int_gt(smbios_build(buf, sizeof(buf), BOOT_SMBIOS_ADDR, &spec), 0);
	const char *f = dump(&spec, "max.bin");
	char *cpu = run("dmidecode --from-dump %s -t 4", f);
	ck_assert_uint_eq(count(cpu, "Processor Information"), MAX_VCPUS);
	ck_assert_ptr_nonnull(strstr(cpu, "Socket Designation: CPU 63\n"));
	free(cpu);
}
END_TEST

START_TEST(bad_spec_and_small_buffer)
{
	uint8_t buf[4096];
	struct smbios_spec spec = { .ncpus = 2, .nmem = 1, .mem = { { 0, 64 * MIB } } };
	ck_assert_int_gt(smbios_build(buf, sizeof(buf), 0, &spec), 0);
	/* every size below the real one fails cleanly, never writes past cap */
	int need = smbios_build(buf, sizeof(buf), 0, &spec);
	uint8_t pattern[sizeof(buf)];
	memset(pattern, 0xa5, sizeof(pattern));
	for (int cap = 0; cap < need; cap++) {
		memset(buf, 0xa5, sizeof(buf));
		ck_assert_int_eq(smbios_build(buf, (size_t)cap, 0, &spec), -ENOSPC);
		ck_assert(!memcmp(buf + cap, pattern, sizeof(buf) - (size_t)cap));
	}
	spec.ncpus = 0;
	ck_assert_int_eq(smbios_build(buf, sizeof(buf), 0, &spec), -EINVAL);
	spec.ncpus = MAX_VCPUS + 1;
	ck_assert_int_eq(smbios_build(buf, sizeof(buf), 0, &spec), -EINVAL);
	spec.ncpus = 1;
	spec.nmem = 0;
	ck_assert_int_eq(smbios_build(buf, sizeof(buf), 0, &spec), -EINVAL);
	spec.nmem = 1;
	spec.mem[0] = (struct smbios_mem_range){ UINT64_MAX - 10, 4096 };
	ck_assert_int_eq(smbios_build(buf, sizeof(buf), 0, &spec), -EINVAL);
}
END_TEST

/* Linux's non-EFI scan: 16-byte steps over 0xF0000..0xFFFFF, "_SM3_" with
 * a length of 24..32 and a zero checksum over that length. */
static uint64_t find_sm3(struct test_ram *ram)
{
	for (uint64_t a = 0xF0000; a + 32 <= 0x100000; a += 16) {
		const uint8_t *p = ram_at(ram, a);
		if (!memcmp(p, "_SM3_", 5) && p[6] >= 24 && p[6] <= 32 && byte_sum(p, p[6]) == 0)
			return a;
	}
	return 0;
}

START_TEST(guest_finds_tables_in_reserved_bios_area)
{
	struct test_ram ram;
	uint64_t rsdp;
	ram_init(&ram, 32 * MIB);
	ck_assert_int_eq(acpi_build(ram.gm, 3, &rsdp), 0);
	ck_assert_int_eq(mptable_build(ram.gm, 3), 0);
	ck_assert_int_eq(smbios_load(ram.gm, 3, uuid_bytes), 0);

	uint64_t ep = find_sm3(&ram);
	ck_assert_uint_eq(ep, BOOT_SMBIOS_ADDR);
	const uint8_t *e = ram_at(&ram, ep);
	uint32_t len;
	uint64_t table;
	memcpy(&len, e + 12, 4);
	memcpy(&table, e + 16, 8);
	ck_assert_uint_eq(table, ep + SMBIOS_TABLE_OFFSET);
	ck_assert_uint_le(table + len, MEM_BIOS_END);

	/* the whole blob is in a reserved e820 range */
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(ram.gm, map, E820_MAX_ENTRIES);
	bool covered = false;
	for (int i = 0; i < n; i++)
		covered |= map[i].type == E820_RESERVED && map[i].addr <= ep &&
			   table + len <= map[i].addr + map[i].size;
	ck_assert(covered);

	/* walk as dmi_walk_early does: type 4 per vCPU, ends with 127 */
	const uint8_t *t = ram_at(&ram, table), *end = t + len;
	unsigned cpus = 0;
	bool ended = false;
	while (t + 4 <= end && !ended) {
		ck_assert_uint_ge(t[1], 4);
		cpus += t[0] == 4;
		ended = t[0] == 127;
		const uint8_t *s = t + t[1];
		while (s + 1 < end && (s[0] || s[1]))
			s++;
		t = s + 2;
	}
	ck_assert(ended);
	ck_assert_ptr_eq(t, end);
	ck_assert_uint_eq(cpus, 3);
	/* the MP floating pointer before it is intact */
	ck_assert_mem_eq(ram_at(&ram, BOOT_MPTABLE_ADDR), "_MP_", 4);
	ck_assert_uint_eq(byte_sum(ram_at(&ram, BOOT_MPTABLE_ADDR), 16), 0);
	ram_fini(&ram);
}
END_TEST

int main(void)
{
	log_set_quiet(true);
	if (!have_dmidecode()) {
		const char *ci = getenv("CI");
		fprintf(stderr, "dmidecode (Debian package dmidecode) is not installed: "
			"cannot check the SMBIOS tables\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%.40s/mvsmbios-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	Suite *s = suite_create("boot-smbios");
	TCase *tc = tcase_create("smbios");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dmidecode_reads_identity);
	tcase_add_test(tc, dmidecode_reads_large_memory);
	tcase_add_test(tc, every_vcpu_count_fits);
	tcase_add_test(tc, bad_spec_and_small_buffer);
	tcase_add_test(tc, guest_finds_tables_in_reserved_bios_area);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return failed ? 1 : 0;
}
