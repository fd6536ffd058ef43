/* Malformed-image corpus: each case corrupts one field of a fresh image and
 * asserts the error code and message (and that nothing crashes: ASan). */
#include "qcow2/qcow2.h"
#include "qcow2/qcow2_internal.h"
#include "test_helpers.h"
#include "vmm/log.h"

#include <errno.h>

/* Layout of the base image (v3, 64 KiB clusters, 1 MiB, 4 KiB written at 0):
 * header 0, refcount table 0x10000, refcount block 0x20000, L1 0x30000,
 * L2 0x40000, data 0x50000. */
#define RT 0x10000ull
#define RB 0x20000ull
#define L1 0x30000ull
#define L2 0x40000ull
#define DATA 0x50000ull

enum op { OP_OPEN_RO, OP_OPEN_RW, OP_READ, OP_WRITE };

struct mcase {
	const char *name;
	void (*patch)(const char *img);
	enum op op;
	int err;
	const char *msg;
};

static void p_magic(const char *i) { th_patch_be32(i, 0, 0x12345678); }
static void p_version(const char *i) { th_patch_be32(i, 4, 4); }
static void p_cbits_small(const char *i) { th_patch_be32(i, 20, 8); }
static void p_cbits_big(const char *i) { th_patch_be32(i, 20, 22); }
static void p_incompat_unknown(const char *i) { th_patch_be64(i, 72, 1ull << 9); }
static void p_data_file(const char *i) { th_patch_be64(i, 72, 1ull << 2); }
static void p_incompat_named(const char *i)
{
	/* Rename feature-table entry for bit 4 to bit 7, then set bit 7. */
	uint8_t hc[4096];
	int fd = open(i, O_RDWR);
	ck_assert_int_eq(pread(fd, hc, sizeof(hc), 0), (ssize_t)sizeof(hc));
	close(fd);
	for (size_t p = 0; p + 48 < sizeof(hc); p++) {
		if (!memcmp(hc + p, "extended L2 entries", 19)) {
			uint8_t bit = 7;
			th_patch(i, p - 1, &bit, 1);
			break;
		}
	}
	th_patch_be64(i, 72, 1ull << 7);
}
static void p_corrupt(const char *i) { th_patch_be64(i, 72, QCOW2_INCOMPAT_CORRUPT); }
static void p_l1_beyond(const char *i) { th_patch_be64(i, 40, 0x100000000ull); }
static void p_l1_small(const char *i) { th_patch_be64(i, 24, 1ull << 40); }
static void p_l1_huge(const char *i) { th_patch_be32(i, 36, 0x7fffffff); }
static void p_rt_unaligned(const char *i) { th_patch_be64(i, 48, RT + 8); }
static void p_rt_zero_clusters(const char *i) { th_patch_be32(i, 56, 0); }
static void p_rt_beyond(const char *i) { th_patch_be32(i, 56, 100); }
static void p_rorder(const char *i) { th_patch_be32(i, 96, 7); }
static void p_hlen(const char *i) { th_patch_be32(i, 100, 50); }
static void p_bname_outside(const char *i)
{
	th_patch_be64(i, 8, 65530);
	th_patch_be32(i, 16, 100);
}
static void p_bname_long(const char *i)
{
	th_patch_be64(i, 8, 200);
	th_patch_be32(i, 16, 2000);
}
static void p_ext_overrun(const char *i)
{
	th_patch_be32(i, 112, 0x12345678);
	th_patch_be32(i, 116, 0x7fffffff);
}
static void p_l2_beyond(const char *i) { th_patch_be64(i, L1, QCOW2_OFLAG_COPIED | 0x10000000ull); }
static void p_l1_reserved(const char *i) { th_patch_be64(i, L1, QCOW2_OFLAG_COPIED | L2 | 0x10); }
static void p_l1_unaligned(const char *i) { th_patch_be64(i, L1, QCOW2_OFLAG_COPIED | (L2 + 512)); }
static void p_l2_reserved(const char *i) { th_patch_be64(i, L2, QCOW2_OFLAG_COPIED | DATA | 2); }
static void p_data_unaligned(const char *i)
{
	th_patch_be64(i, L2, QCOW2_OFLAG_COPIED | (DATA + 512));
}
static void p_data_beyond(const char *i)
{
	th_patch_be64(i, L2, QCOW2_OFLAG_COPIED | 0x7000000ull);
}
static void p_comp_beyond(const char *i)
{
	th_patch_be64(i, L2, QCOW2_OFLAG_COMPRESSED | 0x9000000ull);
}
static void p_comp_garbage(const char *i)
{
	uint8_t junk[600];
	for (size_t k = 0; k < sizeof(junk); k++)
		junk[k] = (uint8_t)(k * 37 + 11);
	th_patch(i, DATA, junk, sizeof(junk));
	th_patch_be64(i, L2, QCOW2_OFLAG_COMPRESSED | (1ull << 54) | DATA);
}
static void p_rb_unaligned(const char *i) { th_patch_be64(i, RT, RB + 8); }
static void p_snapshots(const char *i)
{
	th_patch_be32(i, 60, 1);
	th_patch_be64(i, 64, 0x60000);
}
static void p_crypt(const char *i) { th_patch_be32(i, 32, 1); }
static void p_size_huge(const char *i) { th_patch_be64(i, 24, 1ull << 62); }
static void p_extl2_small(const char *i)
{
	th_patch_be64(i, 72, QCOW2_INCOMPAT_EXTL2);
	th_patch_be32(i, 20, 12);
}
static void p_ctype(const char *i)
{
	uint8_t one = 1;
	th_patch(i, 104, &one, 1);
}
static void p_ctype_unknown(const char *i)
{
	uint8_t seven = 7;
	th_patch(i, 104, &seven, 1);
	th_patch_be64(i, 72, QCOW2_INCOMPAT_COMPRESSION);
}
static void p_underflow(const char *i)
{
	/* An L2 entry without COPIED pointing at a cluster whose refcount is 0. */
	th_patch_be64(i, L2, 0x70000ull);
	uint8_t z[65536] = {0};
	th_patch(i, 0x70000, z, sizeof(z));
}
static void p_l2_shared(const char *i) { th_patch_be64(i, L1, L2); }
static void p_dirty_bad(const char *i)
{
	th_patch_be64(i, 72, QCOW2_INCOMPAT_DIRTY);
	uint16_t zero = 0;
	th_patch(i, RB + 2 * (L2 >> 16), &zero, 2); /* L2 table refcount 0 */
}
static void p_data_over_l1(const char *i) { th_patch_be64(i, L2, QCOW2_OFLAG_COPIED | L1); }
static void p_l1_refcount_zero(const char *i)
{
	uint16_t zero = 0;
	th_patch(i, RB + 2 * (L1 >> 16), &zero, 2);
}
static void p_tiny(const char *i) { ck_assert_int_eq(truncate(i, 10), 0); }
static void p_bfmt(const char *i)
{
	/* Replace the feature table extension with a backing format "vmdk". */
	th_patch_be32(i, 112, QCOW2_EXT_BACKING_FMT);
	th_patch_be32(i, 116, 4);
	th_patch(i, 120, "vmdk", 4);
	th_patch_be64(i, 8, 128 + 8 + 384);
	th_patch_be32(i, 16, 4);
	th_patch(i, 128 + 8 + 384, "base", 4);
}
static void p_bjson(const char *i)
{
	const char *j = "json:{\"driver\":\"null-co\"}";
	th_patch_be64(i, 8, 2048);
	th_patch_be32(i, 16, (uint32_t)strlen(j));
	th_patch(i, 2048, j, strlen(j));
}

static const struct mcase cases[] = {
    {"bad magic", p_magic, OP_OPEN_RO, -EINVAL, "not a qcow2 image (bad magic)"},
    {"version 4", p_version, OP_OPEN_RO, -EINVAL, "unsupported qcow2 version (0x4)"},
    {"cluster_bits 8", p_cbits_small, OP_OPEN_RO, -EINVAL, "unsupported cluster_bits (0x8)"},
    {"cluster_bits 22", p_cbits_big, OP_OPEN_RO, -EINVAL, "unsupported cluster_bits (0x16)"},
    {"unknown incompat", p_incompat_unknown, OP_OPEN_RO, -ENOTSUP,
     "unsupported incompatible feature bit 9 (unknown)"},
    {"named incompat", p_incompat_named, OP_OPEN_RO, -ENOTSUP,
     "unsupported incompatible feature bit 7 (extended L2 entries)"},
    {"data file", p_data_file, OP_OPEN_RO, -ENOTSUP,
     "incompatible feature bit 2 (external data file)"},
    {"corrupt rw", p_corrupt, OP_OPEN_RW, -EROFS, "image is marked corrupt"},
    {"L1 beyond eof", p_l1_beyond, OP_OPEN_RO, -EINVAL,
     "L1 table at 0x100000000 beyond end of file"},
    {"L1 too small", p_l1_small, OP_OPEN_RO, -EINVAL, "L1 table too small for the virtual size"},
    {"L1 too large", p_l1_huge, OP_OPEN_RO, -EINVAL, "L1 table too large"},
    {"reftable unaligned", p_rt_unaligned, OP_OPEN_RO, -EINVAL,
     "refcount table offset invalid (0x10008)"},
    {"reftable empty", p_rt_zero_clusters, OP_OPEN_RO, -EINVAL, "refcount table size invalid"},
    {"reftable beyond", p_rt_beyond, OP_OPEN_RO, -EINVAL,
     "refcount table at 0x10000 beyond end of file"},
    {"refcount_order 7", p_rorder, OP_OPEN_RO, -EINVAL, "refcount_order above 6"},
    {"header_length", p_hlen, OP_OPEN_RO, -EINVAL, "invalid header_length (0x32)"},
    {"backing name outside", p_bname_outside, OP_OPEN_RO, -EINVAL,
     "backing file name outside the header cluster"},
    {"backing name long", p_bname_long, OP_OPEN_RO, -EINVAL,
     "backing file name length invalid (0x7d0)"},
    {"extension overrun", p_ext_overrun, OP_OPEN_RO, -EINVAL,
     "header extension 0x12345678 at 0x70 overruns the header cluster"},
    {"L2 beyond eof", p_l2_beyond, OP_READ, -EINVAL, "L2 table at 0x10000000 beyond end of file"},
    {"L1 reserved", p_l1_reserved, OP_READ, -EINVAL,
     "L1 entry 0 (0x8000000000040010) has reserved bits set"},
    {"L1 unaligned", p_l1_unaligned, OP_READ, -EINVAL,
     "L2 table at 0x40200 is not cluster aligned"},
    {"L2 reserved", p_l2_reserved, OP_READ, -EINVAL,
     "L2 entry for guest offset 0x0 (0x8000000000050002) has reserved bits set"},
    {"data unaligned", p_data_unaligned, OP_READ, -EINVAL,
     "data cluster at 0x50200 (guest 0x0) is not cluster aligned"},
    {"data beyond eof", p_data_beyond, OP_READ, -EINVAL,
     "data cluster at 0x7000000 beyond end of file"},
    {"compressed beyond eof", p_comp_beyond, OP_READ, -EIO,
     "compressed cluster at 0x9000000 beyond end of file"},
    {"compressed garbage", p_comp_garbage, OP_READ, -EIO,
     "compressed cluster at 0x50000 (1024 bytes) does not decompress (zlib)"},
    {"refblock unaligned", p_rb_unaligned, OP_WRITE, -EINVAL,
     "refcount table entry 0 (0x20008) is not cluster aligned"},
    {"snapshots rw", p_snapshots, OP_OPEN_RW, -ENOTSUP,
     "has 1 internal snapshots; writing is not supported"},
    {"encrypted", p_crypt, OP_OPEN_RO, -EINVAL, "encrypted images are not supported"},
    {"size huge", p_size_huge, OP_OPEN_RO, -EINVAL, "virtual size too large"},
    {"ext L2 small clusters", p_extl2_small, OP_OPEN_RO, -EINVAL,
     "extended L2 entries need clusters of at least 16 KiB"},
    {"compression bit missing", p_ctype, OP_OPEN_RO, -EINVAL,
     "compression type does not match the compression feature bit"},
    {"compression unknown", p_ctype_unknown, OP_OPEN_RO, -EINVAL, "unknown compression type (0x7)"},
    {"refcount underflow", p_underflow, OP_WRITE, -EUCLEAN,
     "refcount underflow for cluster at 0x70000"},
    {"shared L2", p_l2_shared, OP_WRITE, -ENOTSUP, "L2 table at 0x40000 is shared"},
    {"dirty inconsistent", p_dirty_bad, OP_OPEN_RW, -EUCLEAN,
     "image is dirty and its refcounts are inconsistent"},
    {"data over L1", p_data_over_l1, OP_WRITE, -EUCLEAN,
     "data cluster at 0x30000 overlaps the L1 table; image marked corrupt"},
    {"free cluster is L1", p_l1_refcount_zero, OP_WRITE, -EUCLEAN,
     "free cluster at 0x30000 overlaps the L1 table; image marked corrupt"},
    {"tiny file", p_tiny, OP_OPEN_RO, -EINVAL, "file too small for a qcow2 header"},
    {"backing format vmdk", p_bfmt, OP_OPEN_RO, -ENOTSUP, "backing format 'vmdk' is not supported"},
    {"backing json", p_bjson, OP_OPEN_RO, -ENOTSUP, "is not a plain file name"},
};

static char dir[4096], img[4200];

static void setup(void)
{
	log_set_quiet(true);
	th_mkdir(dir, sizeof(dir));
	th_path(img, sizeof(img), dir, "m.qcow2");
	th_make_one_cluster_image(img);
	/* The layout the patches rely on. */
	ck_assert_uint_eq(th_read_be64(img, L1), QCOW2_OFLAG_COPIED | L2);
	ck_assert_uint_eq(th_read_be64(img, L2), QCOW2_OFLAG_COPIED | DATA);
}

static void teardown(void) { th_rmdir(dir); }

START_TEST(malformed_case)
{
	const struct mcase *c = &cases[_i];
	struct qcow2 *q = NULL;
	struct qcow2_open_opts o = {.flags =
					c->op == OP_OPEN_RO || c->op == OP_READ ? 0 : QCOW2_O_RDWR};
	uint8_t buf[8192];
	int ret;

	c->patch(img);
	log_clear_last_error();
	ret = qcow2_open(img, &o, &q);
	if (c->op == OP_READ || c->op == OP_WRITE) {
		ck_assert_msg(ret == 0, "%s: open failed: %s", c->name, log_last_error());
		memset(buf, 1, sizeof(buf));
		if (c->op == OP_READ)
			ret = qcow2_read(q, 0, buf, sizeof(buf));
		else if ((ret = qcow2_write(q, 0, buf, 100)) ==
			 0) /* in place, then a new cluster */
			ret = qcow2_write(q, 0x10000, buf, 100);
		qcow2_close(q);
	}
	ck_assert_msg(ret == c->err, "%s: got %d want %d (%s)", c->name, ret, c->err,
		      log_last_error());
	ck_assert_msg(strstr(log_last_error(), c->msg), "%s: message '%s' lacks '%s'", c->name,
		      log_last_error(), c->msg);
	ck_assert_msg(strstr(log_last_error(), img), "%s: message lacks the file name", c->name);
}
END_TEST

/* The corrupt bit refuses writes but still allows reading. */
START_TEST(corrupt_read_only_ok)
{
	struct qcow2 *q;
	uint8_t buf[4096];
	p_corrupt(img);
	ck_assert_int_eq(qcow2_open(img, NULL, &q), 0);
	ck_assert_int_eq(qcow2_read(q, 0, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(buf[0], 0x42);
	qcow2_close(q);
}
END_TEST

/* A write that would hit metadata sets the corrupt bit and stops writes. */
START_TEST(overlap_marks_corrupt)
{
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	uint8_t buf[512] = {0};
	p_data_over_l1(img);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_write(q, 0, buf, sizeof(buf)), -EUCLEAN);
	ck_assert_int_eq(qcow2_write(q, 0x20000, buf, sizeof(buf)), -EROFS);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "image is marked corrupt; writes refused"));
	qcow2_close(q);
	ck_assert_uint_ne(th_read_be64(img, 72) & QCOW2_INCOMPAT_CORRUPT, 0);
	ck_assert_uint_eq(th_read_be64(img, L1), QCOW2_OFLAG_COPIED | L2); /* L1 intact */
}
END_TEST

/* A dirty image whose refcounts are right opens writable and is cleaned. */
START_TEST(dirty_consistent_is_cleared)
{
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	th_patch_be64(img, 72, QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_EXTL2 * 0);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
	ck_assert_uint_eq(th_read_be64(img, 72) & QCOW2_INCOMPAT_DIRTY, 0);
}
END_TEST

/* Unknown extensions are skipped; unknown autoclear bits cleared on write. */
START_TEST(unknown_extension_and_autoclear)
{
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	uint8_t buf[16];
	th_patch_be32(img, 112, 0x11223344); /* rename the feature table: unknown */
	th_patch_be64(img, 88, 0x3);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_read(q, 0, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(buf[15], 0x42);
	qcow2_close(q);
	ck_assert_uint_eq(th_read_be64(img, 88), 0);
}
END_TEST

/* A refcount block the checker cannot use: one corruption (the table
 * entry) and, like qemu-img, one check error per cluster of the file whose
 * refcount it could not read; no made-up refcount mismatches. */
START_TEST(check_errors_for_unreadable_refblock)
{
	struct qcow2_check_result r;
	th_patch_be64(img, RT, RB + 512); /* not cluster aligned */
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_eq(r.corruptions, 1);
	ck_assert_uint_eq(r.leaks, 0);
	ck_assert_uint_eq(r.check_errors, 6); /* clusters 0..5 are in the file */
	th_patch_be64(img, RT, RB);
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_eq(r.corruptions + r.leaks + r.check_errors, 0);
}
END_TEST

static uint16_t refcount_of(uint64_t off)
{
	uint16_t be = 0;
	int fd = open(img, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &be, 2, (off_t)(RB + 2 * (off >> 16))), 2);
	close(fd);
	return be16toh(be);
}

/* A compressed L2 entry whose host range lies on metadata (an L2 table, a
 * refcount block, or runs from a free area into one), or a shared-looking
 * standard entry on an L2 table: overwriting the guest cluster must not
 * release those clusters. The image is marked
 * corrupt instead and the metadata keeps its refcount. */
START_TEST(compressed_over_metadata_not_freed)
{
	static const struct {
		uint64_t off, sectors; /* sectors 0: a standard entry without COPIED */
		const char *hit;
	} cases[] = {
	    {L2, 1, "compressed cluster at 0x40000 overlaps the L2 table at 0x40000"},
	    {RB, 1, "overlaps the refcount block at 0x20000"},
	    {L2 - 512, 2, "overlaps the L1 table at 0x30000"},	    /* L1's cluster, past the L1 */
	    {0x70000 - 512, 2, "overlaps the L2 table at 0x70000"}, /* into a second L2 table */
	    {0x70000, 0, "data cluster at 0x70000 overlaps the L2 table at 0x70000"},
	};
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	static uint8_t buf[65536];
	struct qcow2 *q;

	/* A second L2 table (guest 512 MiB..) at 0x70000: grow the disk first. */
	th_patch_be64(img, 24, 1ull << 30);
	th_patch_be32(img, 36, 2);
	uint8_t z[65536] = {0};
	th_patch(img, 0x60000, z, sizeof(z));
	th_patch(img, 0x70000, z, sizeof(z));
	th_patch_be64(img, L1 + 8, QCOW2_OFLAG_COPIED | 0x70000);
	uint16_t one = htobe16(1);
	th_patch(img, RB + 2 * 7, &one, 2);
	struct qcow2_check_result r;
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_eq(r.corruptions + r.leaks, 0);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		th_patch_be64(img, 72, 0); /* clear the corrupt bit of the last case */
		th_patch_be64(img, L2 + 8,
			      cases[c].sectors ? QCOW2_OFLAG_COMPRESSED |
						     (cases[c].sectors - 1) << 54 | cases[c].off
					       : cases[c].off);
		ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
		log_clear_last_error();
		memset(buf, 0x77, sizeof(buf));
		ck_assert_int_eq(qcow2_write(q, 0x10000, buf, sizeof(buf)), -EUCLEAN);
		ck_assert_msg(strstr(log_last_error(), cases[c].hit), "case %zu: '%s' lacks '%s'",
			      c, log_last_error(), cases[c].hit);
		qcow2_close(q);
		ck_assert_uint_ne(th_read_be64(img, 72) & QCOW2_INCOMPAT_CORRUPT, 0);
		ck_assert_uint_eq(refcount_of(RB), 1);
		ck_assert_uint_eq(refcount_of(L1), 1);
		ck_assert_uint_eq(refcount_of(L2), 1);
		ck_assert_uint_eq(refcount_of(0x70000), 1);
	}
}
END_TEST

/* The whole file, for byte-for-byte comparisons (caller frees). */
static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	off_t n = lseek(fd, 0, SEEK_END);
	ck_assert_int_gt(n, 0);
	uint8_t *b = malloc((size_t)n);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pread(fd, b, (size_t)n, 0), n);
	close(fd);
	*len = (size_t)n;
	return b;
}

/* A backing file that cannot be opened: the open fails only after the
 * header (dirty and autoclear bits) would already have been rewritten. */
static void p_backing_missing(const char *i)
{
	const char *name = "missing-base.qcow2";
	th_patch_be64(i, 8, 2048);
	th_patch_be32(i, 16, (uint32_t)strlen(name));
	th_patch(i, 2048, name, strlen(name));
}

/* A writable open that fails late leaves the image exactly as it was: no
 * dirty bit set (lazy refcounts), no autoclear bits cleared, dirty bit of
 * a dirty image kept. */
START_TEST(failed_rw_open_leaves_image_untouched)
{
	static const struct {
		uint64_t incompat, compat, autoclear;
	} hdr[] = {
	    {0, QCOW2_COMPAT_LAZY_REFCOUNTS, 0},		      /* would set dirty */
	    {0, 0, 0x3},					      /* would clear autoclear */
	    {QCOW2_INCOMPAT_DIRTY, 0, 0},			      /* would clear dirty */
	    {QCOW2_INCOMPAT_DIRTY, QCOW2_COMPAT_LAZY_REFCOUNTS, 0x1}, /* all of it */
	};
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	struct qcow2 *q = NULL;

	p_backing_missing(img);
	for (size_t c = 0; c < sizeof(hdr) / sizeof(hdr[0]); c++) {
		th_patch_be64(img, 72, hdr[c].incompat);
		th_patch_be64(img, 80, hdr[c].compat);
		th_patch_be64(img, 88, hdr[c].autoclear);
		size_t n0, n1;
		uint8_t *before = slurp(img, &n0);
		log_clear_last_error();
		ck_assert_int_eq(qcow2_open(img, &o, &q), -ENOENT);
		ck_assert_ptr_nonnull(strstr(log_last_error(), "missing-base.qcow2"));
		uint8_t *after = slurp(img, &n1);
		ck_assert_uint_eq(n0, n1);
		ck_assert_msg(!memcmp(before, after, n0),
			      "case %zu: image changed by a failed open (incompat 0x%llx, "
			      "autoclear 0x%llx)",
			      c, (unsigned long long)th_read_be64(img, 72),
			      (unsigned long long)th_read_be64(img, 88));
		free(before);
		free(after);
	}
	/* Without the missing backing file the same open succeeds and does
	 * update the bits: dirty while open (lazy), autoclear cleared. */
	th_patch_be64(img, 8, 0);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_uint_eq(th_read_be64(img, 72), QCOW2_INCOMPAT_DIRTY);
	ck_assert_uint_eq(th_read_be64(img, 88), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
	ck_assert_uint_eq(th_read_be64(img, 72), 0);
}
END_TEST

/* Our checker: a leaked cluster and a missing reference are told apart. */
START_TEST(check_leak_and_corruption)
{
	struct qcow2_check_result r;
	uint16_t one = htobe16(1), zero = 0;
	th_patch(img, RB + 2 * 9, &one, 2); /* cluster 9 counted, unused: leak */
	ck_assert_int_eq(ftruncate(open(img, O_RDWR), 10 << 16), 0);
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_eq(r.leaks, 1);
	ck_assert_uint_eq(r.corruptions, 0);
	th_patch(img, RB + 2 * 5, &zero, 2); /* data cluster refcount 0: corruption */
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_ge(r.corruptions, 1);
	ck_assert_uint_eq(r.allocated_clusters, 1);
}
END_TEST

Suite *qcow2_malformed_suite(void);
Suite *qcow2_malformed_suite(void)
{
	Suite *s = suite_create("qcow2-malformed");
	TCase *t = tcase_create("corpus");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_loop_test(t, malformed_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(t, corrupt_read_only_ok);
	tcase_add_test(t, overlap_marks_corrupt);
	tcase_add_test(t, dirty_consistent_is_cleared);
	tcase_add_test(t, unknown_extension_and_autoclear);
	tcase_add_test(t, check_leak_and_corruption);
	tcase_add_test(t, compressed_over_metadata_not_freed);
	tcase_add_test(t, check_errors_for_unreadable_refblock);
	tcase_add_test(t, failed_rw_open_leaves_image_untouched);
	suite_add_tcase(s, t);
	return s;
}
