/* Host unit tests of the test guest's pure parsers: command-line verbs, the
 * MADT walk and the DSDT \_S5 scan (compiled from the guest's own sources,
 * with sanitizers). The guest's kprintf is replaced by one that records. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "verbs.h"

static char printed[4096];

void kprintf(const char *fmt, ...)
{
	size_t used = strlen(printed);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(printed + used, sizeof(printed) - used, fmt, ap);
	va_end(ap);
}

static struct verbs parse_ok(const char *cmdline)
{
	struct verbs v = { 0 };

	printed[0] = '\0';
	ck_assert_int_eq(verbs_parse(cmdline, &v), 0);
	ck_assert_str_eq(printed, "");
	return v;
}

static void parse_bad(const char *cmdline)
{
	struct verbs v = { 0 };

	printed[0] = '\0';
	ck_assert_int_eq(verbs_parse(cmdline, &v), -1);
	ck_assert_ptr_nonnull(strstr(printed, "want exit=0..255"));
}

START_TEST(verbs_exit_codes)
{
	struct verbs v = parse_ok("console=ttyS0 exit=42");

	ck_assert(v.has_exit);
	ck_assert_uint_eq(v.exit_code, 42);
	ck_assert(!v.smp && !v.reset && !v.poweroff);
	ck_assert_uint_eq(parse_ok("exit=0").exit_code, 0);
	ck_assert_uint_eq(parse_ok("exit=255").exit_code, 255);
	ck_assert_uint_eq(parse_ok("exit=1 exit=7").exit_code, 7);	/* last wins */
}
END_TEST

START_TEST(verbs_words)
{
	struct verbs v = parse_ok("  smp\treset poweroff  ");

	ck_assert(v.smp && v.reset && v.poweroff && !v.has_exit);
	v = parse_ok("probe echo");
	ck_assert(v.probe && v.echo && !v.smp && !v.has_exit && !v.vblk);
	v = parse_ok("vblk exit=0");
	ck_assert(v.vblk && v.has_exit && v.exit_code == 0 && !v.probe);
	v = parse_ok("vnet");
	ck_assert(v.vnet && !v.vnet_mrg && !v.vblk);
	v = parse_ok("vnet-mrg");
	ck_assert(v.vnet_mrg && !v.vnet);
	v = parse_ok("smpx xsmp resets power off xexit=3 exit probes echos vblks vnets vnet-");
	ck_assert(!v.probe && !v.echo && !v.vblk && !v.vnet && !v.vnet_mrg);
	ck_assert(!v.smp && !v.reset && !v.poweroff && !v.has_exit);
	v = parse_ok("");
	ck_assert(!v.smp && !v.has_exit);
}
END_TEST

START_TEST(verbs_rejects_bad_exit)
{
	parse_bad("exit=256");
	parse_bad("exit=");
	parse_bad("exit=4x");
	parse_bad("exit=-1");
	parse_bad("exit=0042");
	parse_bad("smp exit=99999999999999999999");
}
END_TEST

/* An SDT: 36-byte header with the signature and length, then body. */
static uint32_t sdt(uint8_t *t, const char *sig, const uint8_t *body, uint32_t body_len)
{
	uint32_t len = 36 + body_len;

	memset(t, 0, 36);
	memcpy(t, sig, 4);
	t[4] = (uint8_t)len;
	t[5] = (uint8_t)(len >> 8);
	memcpy(t + 36, body, body_len);
	return len;
}

START_TEST(madt_counts_enabled_cpus)
{
	static const uint8_t body[] = {
		0x00, 0x00, 0xe0, 0xfe, 0x01, 0x00, 0x00, 0x00,	/* LAPIC 0xfee00000, flags */
		0, 8, 0, 0, 1, 0, 0, 0,		/* cpu, apic 0, enabled */
		1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0,	/* IOAPIC: not a cpu */
		0, 8, 1, 2, 1, 0, 0, 0,		/* cpu, apic 2, enabled */
		0, 8, 2, 3, 0, 0, 0, 0,		/* cpu, apic 3, disabled */
		0, 8, 3, 5, 3, 0, 0, 0,		/* cpu, apic 5, enabled */
	};
	uint8_t t[256];
	struct acpi_info info = { 0 };

	acpi_madt_parse(t, sdt(t, "APIC", body, sizeof(body)), &info);
	ck_assert_uint_eq(info.lapic_base, 0xfee00000);
	ck_assert_uint_eq(info.ncpus, 3);
	ck_assert_uint_eq(info.apic_ids[0], 0);
	ck_assert_uint_eq(info.apic_ids[1], 2);
	ck_assert_uint_eq(info.apic_ids[2], 5);
}
END_TEST

START_TEST(madt_stops_at_bad_entry)
{
	static const uint8_t body[] = {
		0x00, 0x00, 0xe0, 0xfe, 0x01, 0x00, 0x00, 0x00,
		0, 8, 0, 0, 1, 0, 0, 0,
		0, 0, 1, 1, 1, 0, 0, 0,		/* length 0: would loop forever */
		0, 8, 2, 2, 1, 0, 0, 0,
	};
	static const uint8_t overrun[] = {
		0x00, 0x00, 0xe0, 0xfe, 0x01, 0x00, 0x00, 0x00,
		0, 8, 0, 0, 1, 0, 0, 0,
		0, 40, 1, 1, 1, 0, 0, 0,	/* runs past the table */
	};
	uint8_t t[256];
	struct acpi_info info = { 0 };

	printed[0] = '\0';
	acpi_madt_parse(t, sdt(t, "APIC", body, sizeof(body)), &info);
	ck_assert_uint_eq(info.ncpus, 1);
	ck_assert_ptr_nonnull(strstr(printed, "MADT entry at +52: bad length 0"));
	memset(&info, 0, sizeof(info));
	printed[0] = '\0';
	acpi_madt_parse(t, sdt(t, "APIC", overrun, sizeof(overrun)), &info);
	ck_assert_uint_eq(info.ncpus, 1);
	ck_assert_ptr_nonnull(strstr(printed, "bad length 40"));
}
END_TEST

START_TEST(dsdt_s5_forms)
{
	/* Name(_S5_, Package(4){ 5, 5, 0, 0 }) as iasl emits it. */
	static const uint8_t byte_form[] = { 0x10, 0x08, 0x5f, 0x53, 0x35, 0x5f,
		0x12, 0x0a, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	/* \_S5_ with ZeroOp elements (QEMU's DSDT). */
	static const uint8_t zero_form[] = { 0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f,
		0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
	/* OneOp, and a 2-byte PkgLength. */
	static const uint8_t one_form[] = { 0x08, 0x5f, 0x53, 0x35, 0x5f,
		0x12, 0x46, 0x00, 0x02, 0x01, 0x01 };
	uint8_t t[128];

	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", byte_form, sizeof(byte_form))), 5);
	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", zero_form, sizeof(zero_form))), 0);
	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", one_form, sizeof(one_form))), 1);
}
END_TEST

START_TEST(dsdt_s5_absent_or_garbled)
{
	/* _S5_ as a name reference (no NameOp), and a Method instead of a
	 * Package: neither is \_S5's package. */
	static const uint8_t no_name[] = { 0x70, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04,
		0x0a, 0x05, 0x00, 0x00 };
	static const uint8_t method[] = { 0x08, 0x5f, 0x53, 0x35, 0x5f, 0x14, 0x06, 0x04,
		0x0a, 0x05, 0x00, 0x00 };
	/* A string element: not an integer. */
	static const uint8_t string_elem[] = { 0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04,
		0x0d, 0x41, 0x00, 0x00, 0x00, 0x00 };
	/* Cut off right after the package header. */
	static const uint8_t truncated[] = { 0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04 };
	uint8_t t[128];

	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", no_name, sizeof(no_name))), -1);
	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", method, sizeof(method))), -1);
	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", string_elem, sizeof(string_elem))), -1);
	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", truncated, sizeof(truncated))), -1);
	ck_assert_int_eq(acpi_dsdt_s5(t, sdt(t, "DSDT", truncated, 0)), -1);	/* empty */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, verbs_exit_codes);
	tcase_add_test(tc, verbs_words);
	tcase_add_test(tc, verbs_rejects_bad_exit);
	tcase_add_test(tc, madt_counts_enabled_cpus);
	tcase_add_test(tc, madt_stops_at_bad_entry);
	tcase_add_test(tc, dsdt_s5_forms);
	tcase_add_test(tc, dsdt_s5_absent_or_garbled);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
