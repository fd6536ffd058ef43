/* The ACPI tables through Debian's iasl: each disassembles without a
 * checksum complaint, the DSDT says what Linux needs (\_S5, PCI0 and its
 * windows), and recompiling the disassembly gives back our AML byte for
 * byte. Without iasl the test is skipped (exit 77), except under CI=true. */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

static char tmpdir[64];

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (size)
		*size = (size_t)n;
	return buf;
}

static void put(const char *name, const void *data, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	fclose(f);
}

/* Run `iasl args` in tmpdir; returns its exit status, output in *log. */
static int iasl(const char *args, char **log)
{
	char cmd[256], path[128];
	snprintf(cmd, sizeof(cmd), "cd %s && iasl %s > iasl.log 2>&1", tmpdir, args);
	int st = system(cmd);
	snprintf(path, sizeof(path), "%s/iasl.log", tmpdir);
	*log = slurp(path, NULL);
	ck_assert_ptr_nonnull(*log);
	return st;
}

/* Disassemble one table file; returns the .dsl text. */
static char *disassemble(const char *name, const char *dsl)
{
	char args[128], path[128], *log;
	snprintf(args, sizeof(args), "-d %s", name);
	int st = iasl(args, &log);
	ck_assert_msg(st == 0, "iasl -d %s failed: %s", name, log);
	ck_assert_msg(!strstr(log, "Incorrect checksum"), "%s: %s", name, log);
	ck_assert_msg(!strstr(log, "Error"), "%s: %s", name, log);
	free(log);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, dsl);
	char *text = slurp(path, NULL);
	ck_assert_msg(text != NULL, "no %s", dsl);
	ck_assert_msg(!strstr(text, "Incorrect checksum"), "%s", dsl);
	return text;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The table with this signature, from the ACPI area of a built machine. */
static const uint8_t *table(struct test_ram *ram, const char sig[4], uint32_t *len)
{
	for (uint64_t a = BOOT_ACPI_ADDR; a < BOOT_ACPI_ADDR + BOOT_ACPI_MAX; a += 8) {
		const uint8_t *t = ram_at(ram, a);
		if (!memcmp(t, sig, 4)) {
			memcpy(len, t + 4, 4);
			return t;
		}
	}
	ck_abort_msg("no %.4s table", sig);
	return NULL;
}

START_TEST(dsdt_disassembles_and_round_trips)
{
	uint8_t aml[1024];
	int len = acpi_dsdt_build(aml, sizeof(aml));

	ck_assert_int_gt(len, 36);
	put("dsdt.aml", aml, (size_t)len);
	char *dsl = disassemble("dsdt.aml", "dsdt.dsl");
	ck_assert_ptr_nonnull(strstr(dsl, "Name (_S5, Package (0x04)"));
	ck_assert_ptr_nonnull(strstr(dsl, "0x05, \n        0x05, \n        Zero, \n        Zero"));
	ck_assert_ptr_nonnull(strstr(dsl, "Device (PCI0)"));
	ck_assert_ptr_nonnull(strstr(dsl, "EisaId (\"PNP0A03\")"));
	ck_assert_ptr_nonnull(strstr(dsl, "0xC0000000,         // Range Minimum"));
	ck_assert_ptr_nonnull(strstr(dsl, "0xFEBFFFFF,         // Range Maximum"));
	ck_assert_ptr_nonnull(strstr(dsl, "0x00FF,             // Range Maximum"));
	ck_assert_ptr_nonnull(strstr(dsl, "0x0CF8,             // Range Minimum"));
	/* INTx routing: slot 1 INTA -> GSI 17 (layout.h's swizzle), 31 slots. */
	ck_assert_ptr_nonnull(strstr(dsl, "Name (_PRT, Package (0x1F)"));
	ck_assert_ptr_nonnull(strstr(dsl, "0x0001FFFF, \n                    Zero, \n"
				     "                    Zero, \n                    0x11"));
	free(dsl);

	/* recompile the disassembly: same AML after the header */
	char *log, path[128];
	ck_assert_int_eq(mkdir(strcat(strcpy(path, tmpdir), "/re"), 0700), 0);
	int st = iasl("-p re/dsdt dsdt.dsl", &log);
	ck_assert_msg(st == 0 && strstr(log, "0 Errors, 0 Warnings"), "%s", log);
	free(log);
	size_t size;
	char *again = slurp(strcat(path, "/dsdt.aml"), &size);
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(size, (size_t)len);
	ck_assert_mem_eq(again + 36, aml + 36, (size_t)len - 36);
	free(again);
}
END_TEST

START_TEST(data_tables_disassemble)
{
	struct test_ram ram;
	uint64_t rsdp;
	uint32_t len;

	ram_init(&ram, 32 * MIB);
	ck_assert_int_eq(acpi_build(ram.gm, 4, &rsdp), 0);
	const uint8_t *t = table(&ram, "APIC", &len);
	put("apic.dat", t, len);
	char *dsl = disassemble("apic.dat", "apic.dsl");
	ck_assert_uint_eq(count(dsl, "[Processor Local APIC]"), 4);
	ck_assert_uint_eq(count(dsl, "[I/O APIC]"), 1);
	ck_assert_uint_eq(count(dsl, "[Interrupt Source Override]"), BOOT_PIT_GSI != 0 ? 2 : 1);
	free(dsl);

	t = table(&ram, "FACP", &len);
	put("facp.dat", t, len);
	dsl = disassemble("facp.dat", "facp.dsl");
	ck_assert_ptr_nonnull(strstr(dsl, "PM1A Control Block Address : 00000604"));
	ck_assert_ptr_nonnull(strstr(dsl, "Reset Register Supported (V2) : 1"));
	ck_assert_ptr_nonnull(strstr(dsl, "PM Timer Block Address : 0000060C"));
	ck_assert_ptr_nonnull(strstr(dsl, "PM Timer Block Length : 04"));
	ck_assert_ptr_nonnull(strstr(dsl, "32-bit PM Timer (V1) : 1"));
	ck_assert_ptr_nonnull(strstr(dsl, "Address : 0000000000000608"));
	free(dsl);

	t = table(&ram, "XSDT", &len);
	put("xsdt.dat", t, len);
	dsl = disassemble("xsdt.dat", "xsdt.dsl");
	ck_assert_uint_eq(count(dsl, "ACPI Table Address"), 2);
	free(dsl);
	ram_fini(&ram);
}
END_TEST

/* The checker above can fail: a corrupted table is caught. */
START_TEST(corrupt_table_is_caught)
{
	struct test_ram ram;
	uint64_t rsdp;
	uint32_t len;
	char *log;

	ram_init(&ram, 32 * MIB);
	ck_assert_int_eq(acpi_build(ram.gm, 2, &rsdp), 0);
	const uint8_t *t = table(&ram, "APIC", &len);
	uint8_t bad[512];
	memcpy(bad, t, len);
	bad[len - 1] ^= 0x5a;
	put("bad.dat", bad, len);
	iasl("-d bad.dat", &log);
	ck_assert_ptr_nonnull(strstr(log, "Incorrect checksum"));
	free(log);
	ram_fini(&ram);
}
END_TEST

int main(void)
{
	log_set_quiet(true);
	if (!have_iasl()) {
		const char *ci = getenv("CI");
		fprintf(stderr, "iasl (Debian package acpica-tools) is not installed: "
			"cannot check the AML\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%.40s/mvaml-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	Suite *s = suite_create("boot-aml");
	TCase *tc = tcase_create("iasl");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dsdt_disassembles_and_round_trips);
	tcase_add_test(tc, data_tables_disassemble);
	tcase_add_test(tc, corrupt_table_is_caught);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);	/* tests share tmpdir sequentially */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return failed ? 1 : 0;
}
