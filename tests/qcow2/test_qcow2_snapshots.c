/* Hostile snapshot tables against our checker: QEMU's limits (65536
 * entries, 64 MiB table, 1 KiB extra data per entry, 32 MiB L1 per
 * snapshot) are enforced, and a table whose entries all name one huge L1
 * table (all of whose entries name one L2 table) is checked in bounded
 * time instead of snapshots x L1 entries x L2 entries. */
#include "qcow2/qcow2.h"
#include "qcow2/qcow2_internal.h"
#include "test_helpers.h"
#include "vmm/log.h"

#include <time.h>

/* Base image (as in the malformed corpus): v3, 64 KiB clusters, 1 MiB,
 * 4 KiB written at 0: L1 at 0x30000, L2 at 0x40000. The snapshot table
 * goes at 0x60000. */
#define L2 0x40000ull
#define SNAPS 0x60000ull

static char dir[4096], img[4200];

static void setup(void)
{
	log_set_quiet(true);
	th_mkdir(dir, sizeof(dir));
	th_path(img, sizeof(img), dir, "s.qcow2");
	th_make_one_cluster_image(img);
	ck_assert_uint_eq(th_read_be64(img, 0x30000), QCOW2_OFLAG_COPIED | L2);
}

static void teardown(void) { th_rmdir(dir); }

struct snap {
	uint64_t l1_off;
	uint32_t l1_size;
	uint16_t name_len;
	uint32_t extra;
};

/* Write N snapshot table entries at SNAPS (all like S; only their 40-byte
 * headers, the rest stays sparse) and point the header at them. */
static void write_table(uint32_t nb_field, uint32_t n, const struct snap *s)
{
	uint64_t entry = (40 + s->extra + s->name_len + 7) & ~7ull;
	uint8_t e[40] = {0};
	uint64_t off = htobe64(s->l1_off);
	uint32_t size = htobe32(s->l1_size), extra = htobe32(s->extra);
	uint16_t name = htobe16(s->name_len);
	memcpy(e, &off, 8);
	memcpy(e + 8, &size, 4);
	memcpy(e + 14, &name, 2);
	memcpy(e + 36, &extra, 4);
	int fd = open(img, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	for (uint32_t i = 0; i < n; i++)
		th_check(pwrite(fd, e, sizeof(e), (off_t)(SNAPS + i * entry)) == sizeof(e),
			 "pwrite entry %u", i);
	close(fd);
	th_patch_be32(img, 60, nb_field);
	th_patch_be64(img, 64, SNAPS);
	uint16_t one = htobe16(1); /* the table's first cluster is counted */
	th_patch(img, 0x20000 + 2 * (SNAPS >> 16), &one, 2);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 65536 snapshots, all naming one L1 table of 1M entries, all naming the
 * image's L2 table: without bounds that is 65536 x 8 MiB of L1 reads and
 * 2^36 L2 walks. Every snapshot after the first overlaps it and is a
 * corruption; the L2 table is walked once. */
START_TEST(overlapping_snapshots_bounded)
{
	const uint32_t l1_entries = 1u << 20;
	const uint64_t l1_off = 0x400000;
	uint64_t *l1 = malloc((size_t)l1_entries * 8);
	ck_assert_ptr_nonnull(l1);
	for (uint32_t i = 0; i < l1_entries; i++)
		l1[i] = htobe64(L2);
	th_patch(img, l1_off, l1, (size_t)l1_entries * 8);
	free(l1);
	struct snap s = {.l1_off = l1_off, .l1_size = l1_entries};
	write_table(65536, 65536, &s);

	struct qcow2_check_result r;
	double t0 = now();
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	double took = now() - t0;
	printf("hostile snapshot table checked in %.2f s\n", took);
	ck_assert_msg(took < 10.0, "check took %.1f s", took);
	ck_assert_uint_ge(r.corruptions, 65535);    /* the overlapping entries */
	ck_assert_uint_eq(r.allocated_clusters, 1); /* the active image is intact */
}
END_TEST

/* A snapshot L1 table on the active L1 table, the header or the refcount
 * table is one corruption, not a second set of references (which would
 * make the L2 table and data cluster look under-counted too). */
START_TEST(snapshot_l1_on_metadata)
{
	static const uint64_t offs[] = {0x30000, 0, 0x10000};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct snap s = {.l1_off = offs[i], .l1_size = 1};
		write_table(1, 1, &s);
		struct qcow2_check_result r;
		ck_assert_int_eq(qcow2_check(img, &r, false), 0);
		ck_assert_msg(r.corruptions == 1, "L1 at 0x%llx: %llu corruptions",
			      (unsigned long long)offs[i], (unsigned long long)r.corruptions);
		ck_assert_uint_eq(r.leaks, 0);
	}
}
END_TEST

/* QEMU's hard limits fail the check (qemu-img: "Check failed", exit 1),
 * quickly, with a message naming the field. */
START_TEST(snapshot_table_limits)
{
	struct qcow2_check_result r;
	struct snap plain = {.l1_off = 0, .l1_size = 0};

	write_table(65537, 1, &plain); /* the count alone is enough */
	log_clear_last_error();
	ck_assert_int_eq(qcow2_check(img, &r, false), -EFBIG);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "nb_snapshots 65537 exceeds 65536"));
	ck_assert_ptr_nonnull(strstr(log_last_error(), img));

	write_table(0xffffffffu, 1, &plain);
	ck_assert_int_eq(qcow2_check(img, &r, false), -EFBIG);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "nb_snapshots 4294967295 exceeds"));

	struct snap extra = {.extra = 1025};
	write_table(1, 1, &extra);
	ck_assert_int_eq(qcow2_check(img, &r, false), -EFBIG);
	ck_assert_ptr_nonnull(
	    strstr(log_last_error(), "snapshot table entry 0: extra_data_size 1025 exceeds 1024"));

	/* 1100 entries with 64 KiB names: past 64 MiB at entry 1023. */
	struct snap named = {.name_len = 65535};
	write_table(1100, 1100, &named);
	ck_assert_int_eq(qcow2_check(img, &r, false), -EFBIG);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "snapshot table too large: entry 1023"));

	/* Per-snapshot L1 size above 32 MiB: that snapshot is a corruption. */
	struct snap big = {.l1_off = 0x70000, .l1_size = 0x400001};
	write_table(1, 1, &big);
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_eq(r.corruptions, 1);
}
END_TEST

Suite *qcow2_snapshot_suite(void);
Suite *qcow2_snapshot_suite(void)
{
	Suite *s = suite_create("qcow2-snapshots");
	TCase *t = tcase_create("snapshots");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, overlapping_snapshots_bounded);
	tcase_add_test(t, snapshot_l1_on_metadata);
	tcase_add_test(t, snapshot_table_limits);
	suite_add_tcase(s, t);
	return s;
}
