#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
/* Unit tests of the qcow2 engine that need no QEMU: refcount packing, size
 * parsing, our own images written and read back against an in-memory model
 * and checked with our own checker, backing chains, refcount-table growth. */
#include "qcow2/img_cli.h"
#include "qcow2/qcow2.h"
#include "qcow2/qcow2_internal.h"
#include "test_helpers.h"

#include "vmm/log.h"
#include <pthread.h>

static char dir[4096];

static void setup(void)
{
	log_set_quiet(true);
	th_mkdir(dir, sizeof(dir));
}

static void teardown(void) { th_rmdir(dir); }

START_TEST(refcount_entries_all_widths)
{
	uint8_t blk[512];
	for (unsigned order = 0; order <= 6; order++) {
		unsigned bits = 1u << order;
		uint64_t max = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
		uint64_t n = 512 * 8 / bits;
		memset(blk, 0, sizeof(blk));
		for (uint64_t i = 0; i < n; i++)
			qcow2_rb_entry_set(blk, i, order, (i * 7 + 3) & max);
		for (uint64_t i = 0; i < n; i++)
			th_check(qcow2_rb_entry_get(blk, i, order) == ((i * 7 + 3) & max),
				 "order %u entry %llu", order, (unsigned long long)i);
		qcow2_rb_entry_set(blk, 5, order, max);
		ck_assert_uint_eq(qcow2_rb_entry_get(blk, 5, order), max);
		ck_assert_uint_eq(qcow2_rb_entry_get(blk, 4, order), (4 * 7 + 3) & max);
		ck_assert_uint_eq(qcow2_rb_entry_get(blk, 6, order), (6 * 7 + 3) & max);
	}
	/* refcount_bits=1: entry 0 is the lowest bit of byte 0 (QEMU's layout). */
	memset(blk, 0, sizeof(blk));
	qcow2_rb_entry_set(blk, 0, 0, 1);
	qcow2_rb_entry_set(blk, 9, 0, 1);
	ck_assert_uint_eq(blk[0], 0x01);
	ck_assert_uint_eq(blk[1], 0x02);
}
END_TEST

START_TEST(size_parse_and_format)
{
	uint64_t v;
	char buf[32];
	ck_assert_int_eq(img_parse_size("20G", &v), 0);
	ck_assert_uint_eq(v, 20ull << 30);
	ck_assert_int_eq(img_parse_size("512k", &v), 0);
	ck_assert_uint_eq(v, 512ull << 10);
	ck_assert_int_eq(img_parse_size("1048576", &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(img_parse_size("2T", &v), 0);
	ck_assert_uint_eq(v, 2ull << 40);
	ck_assert_int_eq(img_parse_size("1.5G", &v), 0);
	ck_assert_uint_eq(v, 1536ull << 20);
	ck_assert_int_eq(img_parse_size("0.5k", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(img_parse_size("1.G", &v), -EINVAL);
	ck_assert_int_eq(img_parse_size("1.2.3G", &v), -EINVAL);
	ck_assert_int_eq(img_parse_size("12X", &v), -EINVAL);
	ck_assert_int_eq(img_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(img_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(img_parse_size("99999999999999999999", &v), -EINVAL);
	ck_assert_int_eq(img_parse_size("16777216T", &v), -EINVAL);
	img_format_size(1ull << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1 GiB");
	img_format_size(200704, buf, sizeof(buf));
	ck_assert_str_eq(buf, "196 KiB");
	img_format_size(1536ull << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.5 GiB");
	img_format_size(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0 B");
}
END_TEST

struct cfg {
	uint32_t cluster_size;
	unsigned refcount_bits;
	int version;
	bool ext_l2;
	bool powersafe;
};

static const struct cfg cfgs[] = {
    {65536, 16, 3, false, false}, {512, 64, 3, false, false}, {4096, 1, 3, false, false},
    {65536, 16, 2, false, false}, {16384, 8, 3, true, false}, {2u << 20, 32, 3, false, false},
    {1024, 2, 3, false, false},	  {8192, 4, 3, false, false}, {4096, 16, 3, false, true},
};

static void check_clean(const char *path)
{
	struct qcow2_check_result r;
	ck_assert_int_eq(qcow2_check(path, &r, false), 0);
	ck_assert_uint_eq(r.corruptions, 0);
	ck_assert_uint_eq(r.leaks, 0);
}

/* Random writes/zeroes/discards against a model, on images we created. */
START_TEST(roundtrip_against_model)
{
	const struct cfg *c = &cfgs[_i];
	const uint64_t size = 8u << 20;
	char img[4200];
	uint64_t seed = 0x1234567ull + (uint64_t)_i * 7919;
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR, .l2_cache_bytes = 4096};
	uint8_t *model = calloc(1, size), *buf = malloc(size);

	printf("roundtrip cfg %d seed 0x%llx\n", _i, (unsigned long long)seed);
	th_path(img, sizeof(img), dir, "a.qcow2");
	struct qcow2_create_opts co = {.size = size,
				       .cluster_size = c->cluster_size,
				       .refcount_bits = c->refcount_bits,
				       .version = c->version,
				       .extended_l2 = c->ext_l2};
	ck_assert_int_eq(qcow2_create(img, &co), 0);
	check_clean(img);
	if (c->powersafe)
		o.flags |= QCOW2_O_POWERSAFE;
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	for (int op = 0; op < 60; op++) {
		uint64_t off = th_rand(&seed) % size;
		uint64_t len = 1 + th_rand(&seed) % (c->cluster_size * 3 + 5000);
		if (len > size - off)
			len = size - off;
		unsigned kind = (unsigned)(th_rand(&seed) % 6);
		if (kind < 4) {
			memset(buf, (int)(op + 1), len);
			ck_assert_int_eq(qcow2_write(q, off, buf, len), 0);
			memset(model + off, (int)(op + 1), len);
		} else {
			ck_assert_int_eq(kind == 4 ? qcow2_write_zeroes(q, off, len, 0)
						   : qcow2_discard(q, off, len),
					 0);
			memset(model + off, 0, len);
		}
	}
	ck_assert_int_eq(qcow2_read(q, 0, buf, size), 0);
	ck_assert_int_eq(memcmp(buf, model, size), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
	check_clean(img);
	/* Reopen read-only: same bytes from the file. */
	o.flags = 0;
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	memset(buf, 0xee, size);
	ck_assert_int_eq(qcow2_read(q, 0, buf, size), 0);
	ck_assert_int_eq(memcmp(buf, model, size), 0);
	ck_assert_int_eq(qcow2_write(q, 0, buf, 1), -EROFS);
	qcow2_close(q);
	free(model);
	free(buf);
}
END_TEST

/* What qcow2_open() would refuse (or what would overflow the header
 * buffer) is refused by qcow2_create(), and no file is left behind. */
START_TEST(create_refuses_unopenable_images)
{
	char img[4200], fmt[70000];
	memset(fmt, 'q', sizeof(fmt) - 1);
	fmt[sizeof(fmt) - 1] = '\0';
	th_path(img, sizeof(img), dir, "bad.qcow2");
	struct qcow2_create_opts co = {.size = 1u << 20, .backing = "base.raw", .backing_fmt = fmt};
	ck_assert_int_eq(qcow2_create(img, &co), -ENAMETOOLONG);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "backing format name longer than"));
	co = (struct qcow2_create_opts){.size = 8ull << 50}; /* 8 PiB, 64 KiB clusters */
	ck_assert_int_eq(qcow2_create(img, &co), -EFBIG);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "L1 table over"));
	ck_assert_int_ne(access(img, F_OK), 0);
}
END_TEST

/* A writer killed after raising a refcount leaves a counted cluster past
 * the end of the file. The next writable session must not hand it out
 * again (it would be counted twice): the image keeps one leak, no error. */
START_TEST(counted_cluster_past_eof_not_reused)
{
	char img[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	struct qcow2_create_opts co = {.size = 64u << 20};
	uint8_t buf[4096];

	th_path(img, sizeof(img), dir, "leak.qcow2");
	ck_assert_int_eq(qcow2_create(img, &co), 0);
	struct stat st;
	ck_assert_int_eq(stat(img, &st), 0);
	uint64_t eof_cluster = ((uint64_t)st.st_size + 65535) / 65536;
	uint64_t refblock = th_read_be64(img, th_read_be64(img, 48));
	uint8_t one[2] = {0, 1}; /* 16-bit big-endian refcount */
	int fd = open(img, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, one, 2, (off_t)(refblock + eof_cluster * 2)), 2);
	close(fd);

	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	memset(buf, 0xab, sizeof(buf));
	ck_assert_int_eq(qcow2_write(q, 0, buf, sizeof(buf)), 0);
	qcow2_close(q);
	struct qcow2_check_result res;
	ck_assert_int_eq(qcow2_check(img, &res, false), 0);
	ck_assert_uint_eq(res.corruptions, 0);
	ck_assert_uint_eq(res.leaks, 1);
}
END_TEST

/* 512-byte clusters with 64-bit refcounts: 2 MiB per refcount table
 * cluster, so 6 MiB of writes moves and grows the table. */
START_TEST(refcount_table_grows)
{
	char img[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	struct qcow2_create_opts co = {.size = 16u << 20, .cluster_size = 512, .refcount_bits = 64};
	uint8_t *buf = malloc(6u << 20);

	th_path(img, sizeof(img), dir, "g.qcow2");
	ck_assert_int_eq(qcow2_create(img, &co), 0);
	uint64_t rt_before = th_read_be64(img, 48);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	for (size_t i = 0; i < (6u << 20); i++)
		buf[i] = (uint8_t)(i * 31 + (i >> 9));
	ck_assert_int_eq(qcow2_write(q, 1u << 20, buf, 6u << 20), 0);
	qcow2_close(q);
	ck_assert_uint_ne(th_read_be64(img, 48), rt_before);
	check_clean(img);
	o.flags = 0;
	uint8_t *back = malloc(6u << 20);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_read(q, 1u << 20, back, 6u << 20), 0);
	ck_assert_int_eq(memcmp(buf, back, 6u << 20), 0);
	qcow2_close(q);
	free(buf);
	free(back);
}
END_TEST

static void write_raw(const char *path, uint64_t size, uint8_t fill)
{
	uint8_t *b = malloc(size);
	memset(b, fill, size);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, size, f), size);
	fclose(f);
	free(b);
}

/* Overlay on a shorter raw backing file named relative to the overlay. */
START_TEST(backing_raw_relative_and_past_end)
{
	char base[4200], ov[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	uint8_t buf[8192];

	th_path(base, sizeof(base), dir, "base.raw");
	th_path(ov, sizeof(ov), dir, "ov.qcow2");
	write_raw(base, 100000, 0x5a);
	struct qcow2_create_opts co = {
	    .size = 1u << 20, .backing = "base.raw", .backing_fmt = "raw"};
	ck_assert_int_eq(qcow2_create(ov, &co), 0);
	ck_assert_int_eq(chdir("/"), 0); /* the name must resolve against the overlay's dir */
	ck_assert_int_eq(qcow2_open(ov, &o, &q), 0);
	ck_assert_int_eq(qcow2_read(q, 96000, buf, 8192), 0);
	for (int i = 0; i < 8192; i++)
		th_check(buf[i] == (96000 + i < 100000 ? 0x5a : 0), "byte %d", i);
	/* Partial write: copy-on-write keeps the backing bytes around it. */
	memset(buf, 0x77, 100);
	ck_assert_int_eq(qcow2_write(q, 1000, buf, 100), 0);
	ck_assert_int_eq(qcow2_read(q, 0, buf, 8192), 0);
	for (int i = 0; i < 8192; i++)
		th_check(buf[i] == (i >= 1000 && i < 1100 ? 0x77 : 0x5a), "byte %d", i);
	/* Discard must not re-expose the backing data (zero flag). */
	ck_assert_int_eq(qcow2_discard(q, 65536, 65536), 0);
	ck_assert_int_eq(qcow2_read(q, 65536, buf, 8192), 0);
	for (int i = 0; i < 8192; i++)
		th_check(buf[i] == 0, "byte %d", i);
	struct qcow2_extent e;
	ck_assert_int_eq(qcow2_map(q, 65536, 65536, &e), 0);
	ck_assert_int_eq(e.kind, QCOW2_MAP_ZERO);
	ck_assert_int_eq(qcow2_map(q, 0, 1u << 20, &e), 0);
	ck_assert_int_eq(e.kind, QCOW2_MAP_DATA);
	ck_assert(e.writable);
	ck_assert_uint_eq(e.len, 65536);
	ck_assert_int_eq(qcow2_map(q, 131072, 1u << 20, &e), 0);
	ck_assert_int_eq(e.kind, QCOW2_MAP_BACKING);
	ck_assert_uint_eq(e.len, (1u << 20) - 131072);
	ck_assert_int_eq(qcow2_close(q), 0);
	check_clean(ov);
	struct qcow2_info info;
	o.flags = 0;
	ck_assert_int_eq(qcow2_open(ov, &o, &q), 0);
	qcow2_get_info(q, &info);
	ck_assert_str_eq(info.backing_file, "base.raw");
	ck_assert_str_eq(info.backing_format, "raw");
	ck_assert_str_eq(info.backing_full, base);
	qcow2_close(q);
}
END_TEST

START_TEST(backing_loop_refused)
{
	char a[4200], b[4200];
	struct qcow2 *q;
	th_path(a, sizeof(a), dir, "a.qcow2");
	th_path(b, sizeof(b), dir, "b.qcow2");
	struct qcow2_create_opts ca = {.size = 1u << 20};
	ck_assert_int_eq(qcow2_create(a, &ca), 0);
	struct qcow2_create_opts cb = {
	    .size = 1u << 20, .backing = "a.qcow2", .backing_fmt = "qcow2"};
	ck_assert_int_eq(qcow2_create(b, &cb), 0);
	/* Now make a's backing b: a -> b -> a. */
	struct qcow2_create_opts ca2 = {
	    .size = 1u << 20, .backing = "b.qcow2", .backing_fmt = "qcow2"};
	ck_assert_int_eq(qcow2_create(a, &ca2), 0);
	ck_assert_int_eq(qcow2_open(b, NULL, &q), -ELOOP);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "forms a loop in the backing chain"));
	/* Self-loop. */
	struct qcow2_create_opts cs = {.size = 1u << 20, .backing = "a.qcow2"};
	ck_assert_int_eq(qcow2_create(a, &cs), 0);
	ck_assert_int_eq(qcow2_open(a, NULL, &q), -ELOOP);
	/* Missing backing file. */
	struct qcow2_create_opts cm = {.size = 1u << 20, .backing = "nope.qcow2"};
	ck_assert_int_eq(qcow2_create(a, &cm), 0);
	ck_assert_int_eq(qcow2_open(a, NULL, &q), -ENOENT);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "cannot open backing file"));
}
END_TEST

/* Three-deep chain of our own images: each layer's writes show through. */
START_TEST(chain_three_deep)
{
	char p[3][4200];
	const char *names[3] = {"l0.qcow2", "l1.qcow2", "l2.qcow2"};
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	uint8_t buf[4096];

	for (int i = 0; i < 3; i++) {
		th_path(p[i], sizeof(p[i]), dir, names[i]);
		struct qcow2_create_opts co = {.size = 4u << 20,
					       .cluster_size = 4096,
					       .backing = i ? names[i - 1] : NULL,
					       .backing_fmt = i ? "qcow2" : NULL};
		ck_assert_int_eq(qcow2_create(p[i], &co), 0);
		ck_assert_int_eq(qcow2_open(p[i], &o, &q), 0);
		memset(buf, 0x10 + i, sizeof(buf));
		ck_assert_int_eq(qcow2_write(q, (uint64_t)i * 4096 + 100, buf, 200), 0);
		ck_assert_int_eq(qcow2_close(q), 0);
	}
	o.flags = 0;
	ck_assert_int_eq(qcow2_open(p[2], &o, &q), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(qcow2_read(q, (uint64_t)i * 4096, buf, 4096), 0);
		for (int j = 0; j < 4096; j++)
			th_check(buf[j] == (j >= 100 && j < 300 ? 0x10 + i : 0), "layer %d byte %d",
				 i, j);
	}
	ck_assert_int_eq(qcow2_read(q, (4u << 20) - 10, buf, 11), -EINVAL);
	qcow2_close(q);
}
END_TEST

/* A block device's path: map, then pwrite in place on qcow2_fd(). */
START_TEST(map_then_direct_io)
{
	char img[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	struct qcow2_extent e;
	uint8_t buf[8192], back[8192];
	th_path(img, sizeof(img), dir, "d.qcow2");
	struct qcow2_create_opts co = {.size = 1u << 20, .cluster_size = 4096};
	ck_assert_int_eq(qcow2_create(img, &co), 0);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_map(q, 8192, 8192, &e), 0);
	ck_assert_int_eq(e.kind, QCOW2_MAP_BACKING); /* unallocated, no backing: zeros */
	memset(buf, 0x11, sizeof(buf));
	ck_assert_int_eq(qcow2_write(q, 8192, buf, sizeof(buf)), 0); /* engine allocates */
	ck_assert_int_eq(qcow2_map(q, 8192, 8192, &e), 0);
	ck_assert_int_eq(e.kind, QCOW2_MAP_DATA);
	ck_assert(e.writable);
	memset(buf, 0x22, sizeof(buf));
	ck_assert_uint_le(e.len, 8192);
	ck_assert_int_eq(pwrite(qcow2_fd(q), buf, e.len, (off_t)e.host_off), (ssize_t)e.len);
	ck_assert_int_eq(qcow2_read(q, 8192, back, e.len), 0);
	ck_assert_int_eq(memcmp(back, buf, e.len), 0);
	ck_assert_int_eq(qcow2_map(q, (1u << 20) - 100, 1000, &e), 0);
	ck_assert_uint_eq(e.len, 100); /* clipped to the virtual size */
	ck_assert_int_eq(qcow2_map(q, 1u << 20, 1, &e), -EINVAL);
	qcow2_close(q);
	check_clean(img);
}
END_TEST

struct thread_arg {
	struct qcow2 *q;
	int id;
	int err;
};

static void *hammer(void *p)
{
	struct thread_arg *a = p;
	uint8_t buf[3000], back[3000];
	memset(buf, 0x30 + a->id, sizeof(buf));
	for (int i = 0; i < 50 && !a->err; i++) {
		uint64_t off = ((uint64_t)a->id << 20) + (uint64_t)i * 7919;
		a->err = qcow2_write(a->q, off, buf, sizeof(buf));
		if (!a->err)
			a->err = qcow2_read(a->q, off, back, sizeof(back));
		if (!a->err && memcmp(buf, back, sizeof(buf)))
			a->err = -EIO;
	}
	return NULL;
}

/* Calls from several threads are serialized by the image lock. */
START_TEST(threads_share_an_image)
{
	char img[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	pthread_t t[4];
	struct thread_arg a[4];
	th_path(img, sizeof(img), dir, "t.qcow2");
	struct qcow2_create_opts co = {.size = 4u << 20, .cluster_size = 4096};
	ck_assert_int_eq(qcow2_create(img, &co), 0);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct thread_arg){q, i, 0};
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(a[i].err, 0);
	}
	ck_assert_int_eq(qcow2_close(q), 0);
	check_clean(img);
}
END_TEST

Suite *qcow2_malformed_suite(void);
Suite *qcow2_snapshot_suite(void);

/* JSON strings as qemu-img writes them: valid JSON for any file name. */
static void json_of(const char *in, char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	ck_assert_ptr_nonnull(f);
	img_json_string(f, in);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(json_string_escaping)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain.qcow2", "\"plain.qcow2\""},
	    {"a\"b\\c", "\"a\\\"b\\\\c\""},
	    {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
	    {"\x01\x1f\x7f", "\"\\u0001\\u001F\\u007F\""},
	    {"\xc3\xa9", "\"\\u00E9\""},		/* e acute */
	    {"\xe2\x82\xac", "\"\\u20AC\""},		/* euro sign */
	    {"\xf0\x9f\x98\x80", "\"\\uD83D\\uDE00\""}, /* beyond the BMP */
	    {"\xff"
	     "x",
	     "\"\\uFFFDx\""}, /* impossible byte */
	    {"\x80"
	     "x",
	     "\"\\uFFFDx\""}, /* stray continuation */
	    {"\xc3"
	     "x",
	     "\"\\uFFFDx\""}, /* truncated sequence */
	    {"\xe2\x82"
	     "x",
	     "\"\\uFFFDx\""},			 /* truncated after 2 */
	    {"\xe2\x82", "\"\\uFFFD\""},	 /* truncated at the end */
	    {"\xc1\x81", "\"\\uFFFD\""},	 /* overlong */
	    {"\xc0\x80", "\"\\u0000\""},	 /* modified UTF-8 NUL */
	    {"\xed\xa0\x80", "\"\\uFFFD\""},	 /* surrogate */
	    {"\xef\xbf\xbe", "\"\\uFFFD\""},	 /* noncharacter */
	    {"\xf4\x90\x80\x80", "\"\\uFFFD\""}, /* beyond U+10FFFF */
	    {"", "\"\""},
	};
	char out[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_of(cases[i].in, out, sizeof(out));
		ck_assert_msg(!strcmp(out, cases[i].want), "case %zu: got %s want %s", i, out,
			      cases[i].want);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-unit");
	TCase *t = tcase_create("core");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, refcount_entries_all_widths);
	tcase_add_test(t, size_parse_and_format);
	tcase_add_test(t, json_string_escaping);
	tcase_add_loop_test(t, roundtrip_against_model, 0, (int)(sizeof(cfgs) / sizeof(cfgs[0])));
	tcase_add_test(t, refcount_table_grows);
	tcase_add_test(t, create_refuses_unopenable_images);
	tcase_add_test(t, counted_cluster_past_eof_not_reused);
	tcase_add_test(t, backing_raw_relative_and_past_end);
	tcase_add_test(t, backing_loop_refused);
	tcase_add_test(t, chain_three_deep);
	tcase_add_test(t, map_then_direct_io);
	tcase_add_test(t, threads_share_an_image);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_add_suite(r, qcow2_malformed_suite());
	srunner_add_suite(r, qcow2_snapshot_suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
