/* vmm/bus.c: range registration rules, offset passing, unclaimed accesses. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/devices/fakes.h"
#include "vmm/log.h"

struct recorder {
	uint64_t offset;
	uint32_t len;
	unsigned reads, writes;
	uint8_t last[8];
	uint8_t fill;
};

static void rec_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct recorder *r = opaque;
	r->reads++;
	r->offset = offset;
	r->len = len;
	memset(data, r->fill, len);
}

static void rec_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct recorder *r = opaque;
	r->writes++;
	r->offset = offset;
	r->len = len;
	memcpy(r->last, data, len);
}

static const struct bus_dev_ops rec_ops = { .read = rec_read, .write = rec_write };
static const struct bus_dev_ops write_only_ops = { .write = rec_write };

static struct bus *b;

static void setup(void)
{
	log_set_quiet(true);
	b = bus_create("test");
	ck_assert_ptr_nonnull(b);
}

static void teardown(void)
{
	bus_destroy(b);
}

START_TEST(zero_length_rejected)
{
	struct recorder r = { 0 };
	ck_assert_int_eq(bus_register(b, 0x100, 0, &rec_ops, &r, "z"), -EINVAL);
	ck_assert_uint_eq(inb(b, 0x100), 0xff);
	ck_assert_uint_eq(r.reads, 0);
}
END_TEST

START_TEST(wrapping_range_rejected)
{
	struct recorder r = { 0 };
	ck_assert_int_eq(bus_register(b, UINT64_MAX - 3, 8, &rec_ops, &r, "wrap"), -EINVAL);
	ck_assert_int_eq(bus_register(b, 1, UINT64_MAX, &rec_ops, &r, "wrap"), -EINVAL);
}
END_TEST

START_TEST(missing_ops_rejected)
{
	ck_assert_int_eq(bus_register(b, 0x10, 1, NULL, NULL, "noops"), -EINVAL);
}
END_TEST

START_TEST(overlaps_rejected_adjacent_allowed)
{
	struct recorder r = { 0 };
	ck_assert_int_eq(bus_register(b, 0x100, 0x10, &rec_ops, &r, "a"), 0);
	ck_assert_int_eq(bus_register(b, 0x100, 0x10, &rec_ops, &r, "same"), -EEXIST);
	ck_assert_int_eq(bus_register(b, 0xf8, 0x10, &rec_ops, &r, "left"), -EEXIST);
	ck_assert_int_eq(bus_register(b, 0x10f, 0x10, &rec_ops, &r, "right"), -EEXIST);
	ck_assert_int_eq(bus_register(b, 0x104, 0x2, &rec_ops, &r, "inside"), -EEXIST);
	ck_assert_int_eq(bus_register(b, 0x0, 0x1000, &rec_ops, &r, "around"), -EEXIST);
	ck_assert_int_eq(bus_register(b, 0xf0, 0x10, &rec_ops, &r, "below"), 0);
	ck_assert_int_eq(bus_register(b, 0x110, 0x10, &rec_ops, &r, "above"), 0);
}
END_TEST

START_TEST(unregister_removes_only_the_named_range)
{
	struct recorder r1 = { .fill = 0x11 }, r2 = { .fill = 0x22 }, other = { 0 };
	ck_assert_int_eq(bus_register(b, 0x100, 0x10, &rec_ops, &r1, "one"), 0);
	ck_assert_int_eq(bus_register(b, 0x110, 0x10, &rec_ops, &r2, "two"), 0);
	ck_assert_int_eq(bus_unregister(b, 0x100, &other), -ENOENT);	/* not its range */
	ck_assert_int_eq(bus_unregister(b, 0x104, &r1), -ENOENT);	/* not its base */
	ck_assert_int_eq(bus_unregister(b, 0x200, &r1), -ENOENT);
	ck_assert_uint_eq(inb(b, 0x100), 0x11);
	ck_assert_int_eq(bus_unregister(b, 0x100, &r1), 0);
	ck_assert_uint_eq(inb(b, 0x100), 0xff);			/* unclaimed now */
	ck_assert_uint_eq(r1.reads, 1);
	ck_assert_uint_eq(inb(b, 0x110), 0x22);			/* the neighbour stays */
	ck_assert_int_eq(bus_unregister(b, 0x100, &r1), -ENOENT);	/* only once */
	/* The range can be registered again. */
	ck_assert_int_eq(bus_register(b, 0x100, 0x10, &rec_ops, &other, "again"), 0);
	ck_assert_int_eq(bus_unregister(b, 0x110, &r2), 0);
	ck_assert_int_eq(bus_unregister(b, 0x100, &other), 0);
	ck_assert_uint_eq(inb(b, 0x110), 0xff);
}
END_TEST

START_TEST(offset_and_length_passed)
{
	struct recorder r = { .fill = 0x5a };
	ck_assert_int_eq(bus_register(b, 0x3f8, 8, &rec_ops, &r, "dev"), 0);
	uint32_t v = 0;
	ck_assert(bus_read(b, 0x3fa, &v, 4));
	ck_assert_uint_eq(r.offset, 2);
	ck_assert_uint_eq(r.len, 4);
	ck_assert_uint_eq(v, 0x5a5a5a5a);
	uint16_t w = 0xbeef;
	ck_assert(bus_write(b, 0x3ff, &w, 1));
	ck_assert_uint_eq(r.offset, 7);
	ck_assert_uint_eq(r.len, 1);
	ck_assert_uint_eq(r.last[0], 0xef);
	ck_assert(bus_write(b, 0x3f8, &w, 2));
	ck_assert_uint_eq(r.offset, 0);
	ck_assert_uint_eq(r.last[1], 0xbe);
}
END_TEST

START_TEST(unclaimed_reads_all_ones)
{
	struct recorder r = { 0 };
	ck_assert_int_eq(bus_register(b, 0x60, 1, &rec_ops, &r, "dev"), 0);
	for (uint32_t len = 1; len <= 8; len *= 2) {
		uint8_t buf[8];
		memset(buf, 0, sizeof(buf));
		ck_assert(!bus_read(b, 0x61, buf, len));
		for (uint32_t i = 0; i < len; i++)
			ck_assert_uint_eq(buf[i], 0xff);
		for (uint32_t i = len; i < 8; i++)
			ck_assert_uint_eq(buf[i], 0);	/* nothing past len */
	}
	ck_assert(!bus_write(b, 0x5f, "x", 1));
	ck_assert_uint_eq(r.reads + r.writes, 0);
}
END_TEST

START_TEST(access_straddling_end_is_unclaimed)
{
	struct recorder r = { 0 };
	ck_assert_int_eq(bus_register(b, 0x600, 4, &rec_ops, &r, "dev"), 0);
	uint32_t v = 0;
	ck_assert(!bus_read(b, 0x602, &v, 4));
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert(!bus_write(b, 0x5ff, &v, 2));
	ck_assert_uint_eq(r.reads + r.writes, 0);
}
END_TEST

START_TEST(write_only_device_reads_all_ones_claimed)
{
	struct recorder r = { 0 };
	ck_assert_int_eq(bus_register(b, 0x80, 1, &write_only_ops, &r, "sink"), 0);
	uint8_t v = 0;
	ck_assert(bus_read(b, 0x80, &v, 1));
	ck_assert_uint_eq(v, 0xff);
	ck_assert(bus_write(b, 0x80, &v, 1));
	ck_assert_uint_eq(r.writes, 1);
}
END_TEST

START_TEST(many_ranges_any_order)
{
	static struct recorder recs[40];
	/* Registered in a scrambled order to exercise sorted insertion and growth. */
	for (unsigned k = 0; k < 40; k++) {
		unsigned i = (k * 17) % 40;
		recs[i] = (struct recorder){ .fill = (uint8_t)i };
		ck_assert_int_eq(bus_register(b, 0x1000 + i * 0x10, 8, &rec_ops, &recs[i], "r"), 0);
	}
	for (unsigned i = 0; i < 40; i++) {
		ck_assert_uint_eq(inb(b, 0x1000 + i * 0x10 + 3), i);
		ck_assert_uint_eq(recs[i].offset, 3);
		ck_assert_uint_eq(inb(b, 0x1000 + i * 0x10 + 8), 0xff);	/* gap */
	}
}
END_TEST

START_TEST(mmio_addresses_above_4g)
{
	struct recorder r = { .fill = 0x11 };
	ck_assert_int_eq(bus_register(b, 0x100000000ULL, 0x1000, &rec_ops, &r, "hi"), 0);
	uint64_t v = 0;
	ck_assert(bus_read(b, 0x100000ff8ULL, &v, 8));
	ck_assert_uint_eq(r.offset, 0xff8);
	ck_assert_uint_eq(v, 0x1111111111111111ULL);
	ck_assert(!bus_read(b, 0xffffffffULL, &v, 1));
}
END_TEST

/* Unclaimed accesses are logged once per address, at debug level only. */
static unsigned count_in(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(unclaimed_logged_once_at_debug)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	int saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(f), 2), 2);
	log_set_quiet(false);

	log_set_level(LOG_INFO);
	inb(b, 0x2f8);				/* not logged at info level */
	log_set_level(LOG_DEBUG);
	inb(b, 0x3e8);
	inb(b, 0x3e8);
	outb(b, 0x3e8, 1);
	inb(b, 0x2e8);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(LOG_INFO);
	char text[4096] = "";
	rewind(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	ck_assert_uint_eq(count_in(text, "0x2f8"), 0);
	ck_assert_uint_eq(count_in(text, "0x3e8"), 1);
	ck_assert_uint_eq(count_in(text, "0x2e8"), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("bus");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, zero_length_rejected);
	tcase_add_test(tc, wrapping_range_rejected);
	tcase_add_test(tc, missing_ops_rejected);
	tcase_add_test(tc, overlaps_rejected_adjacent_allowed);
	tcase_add_test(tc, unregister_removes_only_the_named_range);
	tcase_add_test(tc, offset_and_length_passed);
	tcase_add_test(tc, unclaimed_reads_all_ones);
	tcase_add_test(tc, access_straddling_end_is_unclaimed);
	tcase_add_test(tc, write_only_device_reads_all_ones_claimed);
	tcase_add_test(tc, many_ranges_any_order);
	tcase_add_test(tc, mmio_addresses_above_4g);
	tcase_add_test(tc, unclaimed_logged_once_at_debug);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
