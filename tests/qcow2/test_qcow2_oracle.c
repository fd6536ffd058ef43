/* qemu-img as the oracle: images made by qemu-img read back identically,
 * random write sequences through our engine pass `qemu-img check` and
 * `qemu-img compare` against a raw file given the same writes by qemu-io. */
#include "oracle_helpers.h"
#include "qcow2/qcow2.h"
#include "vmm/log.h"

#include <time.h>

#define VSIZE (16u << 20)

static char dir[4096];

static void setup(void)
{
	log_set_quiet(true);
	th_mkdir(dir, sizeof(dir));
}

static void teardown(void) { th_rmdir(dir); }

/* A 16 MiB raw source: patterned extents, holes, a partial last cluster. */
static void make_source(const char *raw)
{
	ck_assert_int_eq(sh("qemu-img create -q -f raw '%s' %u", raw, VSIZE), 0);
	ck_assert_int_eq(sh("qemu-io -f raw -c 'write -P 0x11 0 3M' -c 'write -P 0x22 4100k 777k' "
			    "-c 'write -P 0x33 9M 64k' -c 'write -P 0x44 12345k 1000' "
			    "-c 'write -P 0x55 16383k 1k' '%s' >/dev/null",
			    raw),
			 0);
	/* Less compressible bytes too. */
	ck_assert_int_eq(sh("head -c 600000 /dev/urandom | dd of='%s' bs=1k seek=6000 conv=notrunc "
			    "status=none",
			    raw),
			 0);
}

/* Our full read of IMG equals `qemu-img convert -O raw IMG`. */
static void assert_reads_like_qemu(const char *img)
{
	char out[4200];
	size_t n;
	struct qcow2 *q;
	th_path(out, sizeof(out), dir, "oracle.raw");
	ck_assert_int_eq(sh("qemu-img convert -O raw '%s' '%s'", img, out), 0);
	uint8_t *want = th_slurp(out, &n);
	ck_assert_int_eq(qcow2_open(img, NULL, &q), 0);
	struct qcow2_info info;
	qcow2_get_info(q, &info);
	ck_assert_uint_eq(info.virtual_size, n);
	uint8_t *got = malloc(n);
	/* Odd-sized reads crossing clusters, then one big read. */
	for (size_t off = 0; off < n; off += 300007) {
		size_t len = n - off < 300007 ? n - off : 300007;
		ck_assert_int_eq(qcow2_read(q, off, got + off, len), 0);
	}
	ck_assert_int_eq(memcmp(got, want, n), 0);
	memset(got, 0xa5, n);
	ck_assert_int_eq(qcow2_read(q, 0, got, n), 0);
	for (size_t i = 0; i < n; i++)
		th_check(got[i] == want[i], "%s: byte 0x%zx is 0x%02x, qemu-img says 0x%02x", img,
			 i, got[i], want[i]);
	qcow2_close(q);
	free(got);
	free(want);
	/* Our checker agrees with qemu-img's on QEMU's own images. */
	int qrc = sh("qemu-img check -U '%s' >/dev/null 2>&1", img);
	struct qcow2_check_result r;
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_msg(qrc == (r.corruptions ? 2
			      : r.leaks	    ? 3
					    : 0),
		      "%s: qemu-img check exit %d, ours %llu corruptions %llu leaks", img, qrc,
		      (unsigned long long)r.corruptions, (unsigned long long)r.leaks);
	const char *tool = getenv("QCOW2_IMG");
	ck_assert_msg(tool != NULL, "QCOW2_IMG not set");
	static char ours[4096], theirs[4096];
	sh_out(ours, sizeof(ours), "'%s' check '%s' 2>/dev/null", tool, img);
	sh_out(theirs, sizeof(theirs), "qemu-img check -U '%s' 2>/dev/null", img);
	ck_assert_str_eq(ours, theirs);
}

/* Our qcow2_map() agrees with `qemu-img map --output=json`. */
static void assert_map_like_qemu(const char *img)
{
	static char out[1 << 20];
	struct qcow2 *q;
	ck_assert_int_eq(sh_out(out, sizeof(out), "qemu-img map --output=json '%s'", img), 0);
	ck_assert_int_eq(qcow2_open(img, NULL, &q), 0);
	int lines = 0;
	for (char *l = strstr(out, "{ \"start\""); l; l = strstr(l + 1, "{ \"start\"")) {
		unsigned long long start, length, offset = 0;
		int depth;
		ck_assert_int_eq(sscanf(l, "{ \"start\": %llu, \"length\": %llu, \"depth\": %d",
					&start, &length, &depth),
				 3);
		char *eol = strchr(l, '}');
		bool data = strstr(l, "\"data\": true") && strstr(l, "\"data\": true") < eol;
		char *o = strstr(l, "\"offset\": ");
		bool has_off = o && o < eol;
		if (has_off)
			sscanf(o, "\"offset\": %llu", &offset);
		for (uint64_t pos = start; pos < start + length;) {
			struct qcow2_extent e;
			ck_assert_int_eq(qcow2_map(q, pos, start + length - pos, &e), 0);
			ck_assert_uint_gt(e.len, 0);
			if (depth > 0)
				ck_assert_msg(e.kind == QCOW2_MAP_BACKING,
					      "%s 0x%llx: kind %d, qemu depth %d", img,
					      (unsigned long long)pos, e.kind, depth);
			else if (data && has_off) {
				ck_assert_int_eq(e.kind, QCOW2_MAP_DATA);
				ck_assert_uint_eq(e.host_off, offset + (pos - start));
			} else if (data)
				ck_assert_int_eq(e.kind, QCOW2_MAP_COMPRESSED);
			else
				ck_assert_msg(e.kind == QCOW2_MAP_ZERO ||
						  e.kind == QCOW2_MAP_BACKING,
					      "%s 0x%llx: kind %d for a hole", img,
					      (unsigned long long)pos, e.kind);
			pos += e.len;
		}
		lines++;
	}
	ck_assert_int_gt(lines, 0);
	qcow2_close(q);
}

/* Reads only, for images qemu-img check would repair or flag. */
static void assert_reads_like_qemu_ro(const char *img)
{
	char out[4200];
	size_t n;
	struct qcow2 *q;
	th_path(out, sizeof(out), dir, "oracle.raw");
	ck_assert_int_eq(sh("qemu-img convert -U -O raw '%s' '%s'", img, out), 0);
	uint8_t *want = th_slurp(out, &n), *got = malloc(n);
	ck_assert_int_eq(qcow2_open(img, NULL, &q), 0);
	ck_assert_int_eq(qcow2_read(q, 0, got, n), 0);
	ck_assert_int_eq(memcmp(got, want, n), 0);
	qcow2_close(q);
	free(got);
	free(want);
}

static const char *const convert_opts[] = {
    "-o compat=0.10",
    "-o cluster_size=512",
    "-o cluster_size=4096",
    "-o cluster_size=65536",
    "-o cluster_size=2M",
    "-o extended_l2=on",
    "-o extended_l2=on,cluster_size=16k",
    "-o refcount_bits=1",
    "-o refcount_bits=64,cluster_size=512",
    "-c -o compression_type=zlib",
    "-c -o compression_type=zstd",
    "-c -o compression_type=zlib,cluster_size=4096",
    "-c -o compression_type=zlib,cluster_size=512",
    "-c -o compat=0.10",
    "-c -o compression_type=zstd,cluster_size=2M",
    "-c -o compression_type=zlib,extended_l2=on",
};

START_TEST(reads_match_qemu_convert)
{
	char raw[4200], img[4200];
	th_path(raw, sizeof(raw), dir, "src.raw");
	th_path(img, sizeof(img), dir, "img.qcow2");
	make_source(raw);
	printf("convert %s\n", convert_opts[_i]);
	ck_assert_int_eq(
	    sh("qemu-img convert -f raw -O qcow2 %s '%s' '%s'", convert_opts[_i], raw, img), 0);
	assert_reads_like_qemu(img);
	/* Zero clusters, discards and partial writes made by QEMU itself. */
	if (!strstr(convert_opts[_i], "-c"))
		ck_assert_int_eq(
		    sh("qemu-io -f qcow2 -c 'write -z 1M 200k' -c 'discard 4M 1M' "
		       "-c 'write -P 0x66 100k 3k' -c 'write -z -u 8M 1M' '%s' >/dev/null",
		       img),
		    0);
	assert_reads_like_qemu(img);
	assert_map_like_qemu(img);
}
END_TEST

/* Overlays 2 and 3 deep over a compressed base (and a raw base). */
START_TEST(overlay_chains)
{
	char raw[4200], base[4200], mid[4200], top[4200];
	static const char *const base_opts[] = {"-c -o compression_type=zlib",
						"-c -o compression_type=zstd", ""};
	static const char *const ov_opts[] = {"", "-o extended_l2=on", "-o cluster_size=4096"};
	th_path(raw, sizeof(raw), dir, "src.raw");
	th_path(base, sizeof(base), dir, "base.qcow2");
	th_path(mid, sizeof(mid), dir, "mid.qcow2");
	th_path(top, sizeof(top), dir, "top.qcow2");
	make_source(raw);
	if (_i == 2) /* raw base with relative name */
		ck_assert_int_eq(
		    sh("cd '%s' && qemu-img create -q -f qcow2 -F raw -b src.raw mid.qcow2", dir),
		    0);
	else {
		ck_assert_int_eq(
		    sh("qemu-img convert -O qcow2 %s '%s' '%s'", base_opts[_i], raw, base), 0);
		ck_assert_int_eq(
		    sh("cd '%s' && qemu-img create -q -f qcow2 %s -F qcow2 -b base.qcow2 mid.qcow2",
		       dir, ov_opts[_i]),
		    0);
	}
	ck_assert_int_eq(
	    sh("qemu-io -f qcow2 -c 'write -P 0x71 5000 10000' -c 'write -z 2M 64k' "
	       "-c 'write -P 0x72 4200k 4k' -c 'discard 9M 64k' -c 'write -P 0x73 14M 2M' '%s' "
	       ">/dev/null",
	       mid),
	    0);
	assert_reads_like_qemu(mid);
	assert_map_like_qemu(mid);
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -f qcow2 %s -F qcow2 -b mid.qcow2 top.qcow2 20M", dir,
	       ov_opts[_i]),
	    0);
	ck_assert_int_eq(sh("qemu-io -f qcow2 -c 'write -P 0x81 7000 300' -c 'write -z 4100k 8k' "
			    "-c 'write -P 0x82 17M 1M' '%s' >/dev/null",
			    top),
			 0);
	assert_reads_like_qemu(top);
}
END_TEST

/* Internal snapshots: we read the active state, check counts the snapshot
 * tables, and refuse to write. */
START_TEST(internal_snapshots)
{
	char img[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	th_path(img, sizeof(img), dir, "s.qcow2");
	ck_assert_int_eq(
	    sh("qemu-img create -q -f qcow2 '%s' 8M && "
	       "qemu-io -c 'write -P 0x31 0 1M' '%s' >/dev/null && "
	       "qemu-img snapshot -c snap1 '%s' && "
	       "qemu-io -c 'write -P 0x32 512k 1M' -c 'discard 3M 64k' '%s' >/dev/null && "
	       "qemu-img snapshot -c snap2 '%s' && qemu-io -c 'write -P 0x33 6M 100k' '%s' "
	       ">/dev/null",
	       img, img, img, img, img, img),
	    0);
	assert_reads_like_qemu(img);
	ck_assert_int_eq(qcow2_open(img, &o, &q), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "internal snapshots"));
}
END_TEST

/* lazy_refcounts image left dirty by an abort: readable; writable only if
 * its refcounts are consistent (here they are not: QEMU never wrote them). */
START_TEST(dirty_lazy_refcounts)
{
	char img[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	th_path(img, sizeof(img), dir, "d.qcow2");
	ck_assert_int_eq(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on '%s' 8M", img), 0);
	sh("qemu-io -c 'write -P 0x41 0 1M' -c abort '%s' >/dev/null 2>&1", img);
	ck_assert_uint_ne(th_read_be64(img, 72) & 1, 0); /* dirty bit set */
	assert_reads_like_qemu_ro(img);
	ck_assert_int_eq(qcow2_open(img, &o, &q), -EUCLEAN);
	ck_assert_ptr_nonnull(
	    strstr(log_last_error(), "image is dirty and its refcounts are inconsistent"));
	/* Repair (img check -r all) makes it writable and clean for qemu-img too. */
	struct qcow2_check_result before, after;
	ck_assert_int_eq(qcow2_repair(img, QCOW2_REPAIR_ALL, &before, &after, false), 0);
	ck_assert_uint_gt(before.corruptions, 0);
	ck_assert_uint_eq(after.corruptions + after.leaks, 0);
	ck_assert_uint_eq(th_read_be64(img, 72) & 1, 0);
	ck_assert_int_eq(sh("qemu-img check '%s' >/dev/null", img), 0);
	assert_reads_like_qemu_ro(img);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
	/* Ours: dirty while open for writing, clean after close, qemu-img agrees. */
	uint8_t buf[4096];
	memset(buf, 0x42, sizeof(buf));
	ck_assert_int_eq(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on '%s' 8M", img), 0);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_uint_ne(th_read_be64(img, 72) & 1, 0);
	ck_assert_int_eq(qcow2_write(q, 70000, buf, sizeof(buf)), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
	ck_assert_uint_eq(th_read_be64(img, 72) & 1, 0);
	ck_assert_int_eq(sh("qemu-img check '%s' >/dev/null", img), 0);
	ck_assert_int_eq(
	    sh("qemu-img info --output=json '%s' | grep -q '\"dirty-flag\": false'", img), 0);
}
END_TEST

/* Extended L2: our small write allocates only the subclusters it touches. */
START_TEST(subcluster_writes)
{
	char raw[4200], img[4200], out[8192];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	uint8_t buf[4096];
	th_path(raw, sizeof(raw), dir, "src.raw");
	th_path(img, sizeof(img), dir, "x.qcow2");
	make_source(raw);
	ck_assert_int_eq(
	    sh("cd '%s' && qemu-img create -q -f qcow2 -o extended_l2=on -F raw -b src.raw x.qcow2",
	       dir),
	    0);
	memset(buf, 0xd7, sizeof(buf));
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	ck_assert_int_eq(qcow2_write(q, 4196, buf, sizeof(buf)), 0);
	ck_assert_int_eq(qcow2_write(q, 65536 + 30000, buf, 100), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
	ck_assert_int_eq(sh_out(out, sizeof(out), "qemu-img map --output=json '%s'", img), 0);
	ck_assert_ptr_nonnull(strstr(out, "{ \"start\": 4096, \"length\": 6144, \"depth\": 0"));
	ck_assert_ptr_nonnull(strstr(out, "{ \"start\": 94208, \"length\": 2048, \"depth\": 0"));
	ck_assert_int_eq(sh("qemu-img check '%s' >/dev/null", img), 0);
	assert_map_like_qemu(img);
	assert_reads_like_qemu(img);
}
END_TEST

struct wcfg {
	const char *base;   /* qemu-img convert options for a base, NULL = none */
	const char *create; /* qemu-img create options for the image we write; NULL: write
			     * into the converted base itself (compressed clusters) */
	unsigned maxlen;
};

static const struct wcfg wcfgs[] = {
    {"-c -o compression_type=zlib", "", 200000},
    {"-c -o compression_type=zstd", "-o extended_l2=on", 100000},
    {NULL, "-o compat=0.10", 200000},
    {"-o compat=0.10", "-o compat=0.10", 100000},
    {NULL, "-o cluster_size=512,refcount_bits=64", 300000},
    {"-c -o compression_type=zlib", "-o refcount_bits=1,cluster_size=4096", 50000},
    {"-c -o compression_type=zlib,cluster_size=2M", "-o cluster_size=2M", 3000000},
    {NULL, "-o extended_l2=on,cluster_size=32k", 100000},
    {"", "-o refcount_bits=2,cluster_size=1024", 20000},
    {"-c -o compression_type=zlib", NULL, 100000},
    {"-c -o compression_type=zstd,cluster_size=4096", NULL, 30000},
    {"-c -o compression_type=zlib,cluster_size=512,refcount_bits=8", NULL, 10000},
};

START_TEST(random_writes_pass_qemu_check)
{
	const struct wcfg *c = &wcfgs[_i];
	char raw[4200], img[4200], ref[4200], script[4200], out[8192];
	uint64_t seed = 0x5eed0000ull + (uint64_t)_i * 0x9e37 + (uint64_t)time(NULL) % 1000;
	th_path(raw, sizeof(raw), dir, "src.raw");
	th_path(img, sizeof(img), dir, "img.qcow2");
	th_path(ref, sizeof(ref), dir, "ref.raw");
	th_path(script, sizeof(script), dir, "ops.txt");
	printf("random writes cfg %d (%s over %s) seed 0x%llx\n", _i, c->create ? c->create : "-",
	       c->base ? c->base : "-", (unsigned long long)seed);
	if (c->base && !c->create) {
		make_source(raw);
		ck_assert_int_eq(sh("qemu-img convert -O qcow2 %s '%s' '%s'", c->base, raw, img),
				 0);
	} else if (c->base) {
		make_source(raw);
		ck_assert_int_eq(
		    sh("qemu-img convert -O qcow2 %s '%s' '%s/base.qcow2'", c->base, raw, dir), 0);
		ck_assert_int_eq(
		    sh("cd '%s' && qemu-img create -q -f qcow2 %s -F qcow2 -b base.qcow2 img.qcow2",
		       dir, c->create),
		    0);
	} else {
		ck_assert_int_eq(
		    sh("qemu-img create -q -f qcow2 %s '%s' %u", c->create, img, VSIZE), 0);
	}
	ck_assert_int_eq(sh("qemu-img convert -O raw '%s' '%s'", img, ref), 0);

	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR, .l2_cache_bytes = 8192};
	FILE *ops = fopen(script, "w");
	uint8_t *buf = malloc(c->maxlen + 512);
	ck_assert_int_eq(qcow2_open(img, &o, &q), 0);
	for (int i = 0; i < 120; i++) {
		uint64_t off = th_rand(&seed) % VSIZE, len = 1 + th_rand(&seed) % c->maxlen;
		unsigned kind = (unsigned)(th_rand(&seed) % 8);
		if (th_rand(&seed) % 2) /* half the writes sector aligned */
			off &= ~511ull, len = (len + 511) & ~511ull;
		if (len > VSIZE - off)
			len = VSIZE - off;
		if (kind < 6) {
			uint8_t pat = (uint8_t)(i * 13 + 1);
			memset(buf, pat, len);
			ck_assert_int_eq(qcow2_write(q, off, buf, len), 0);
			fprintf(ops, "write -P 0x%02x %llu %llu\n", pat, (unsigned long long)off,
				(unsigned long long)len);
		} else {
			ck_assert_int_eq(kind == 6 ? qcow2_write_zeroes(q, off, len, 0)
						   : qcow2_discard(q, off, len),
					 0);
			fprintf(ops, "write -z %llu %llu\n", (unsigned long long)off,
				(unsigned long long)len);
		}
		if (i % 40 == 39)
			ck_assert_int_eq(qcow2_flush(q), 0);
	}
	fclose(ops);
	free(buf);
	ck_assert_int_eq(qcow2_close(q), 0);
	int rc = sh_out(out, sizeof(out), "qemu-img check --output=json '%s' 2>&1", img);
	ck_assert_msg(rc == 0, "qemu-img check exit %d (seed 0x%llx): %s", rc,
		      (unsigned long long)seed, out);
	ck_assert_ptr_null(strstr(out, "\"leaks\""));
	ck_assert_int_eq(sh("qemu-io -f raw '%s' < '%s' >/dev/null", ref, script), 0);
	rc = sh_out(out, sizeof(out), "qemu-img compare -f qcow2 -F raw '%s' '%s' 2>&1", img, ref);
	ck_assert_msg(rc == 0, "qemu-img compare exit %d (seed 0x%llx): %s", rc,
		      (unsigned long long)seed, out);
	struct qcow2_check_result r;
	ck_assert_int_eq(qcow2_check(img, &r, false), 0);
	ck_assert_uint_eq(r.corruptions + r.leaks, 0);
	/* `img check` prints what qemu-img check prints (allocation, fragmentation, end). */
	const char *tool = getenv("QCOW2_IMG");
	ck_assert_msg(tool != NULL, "QCOW2_IMG not set");
	static char ours[4096], theirs[4096];
	ck_assert_int_eq(sh_out(ours, sizeof(ours), "'%s' check '%s'", tool, img), 0);
	ck_assert_int_eq(sh_out(theirs, sizeof(theirs), "qemu-img check '%s'", img), 0);
	ck_assert_str_eq(ours, theirs);
	assert_reads_like_qemu(img);
}
END_TEST

Suite *qcow2_cli_suite(void);
Suite *qcow2_crash_suite(void);

int main(void)
{
	if (sh("qemu-img --version >/dev/null 2>&1 && qemu-io --version >/dev/null 2>&1") != 0) {
		const char *ci = getenv("CI");
		printf("qemu-img/qemu-io (Debian qemu-utils) not found\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	Suite *s = suite_create("qcow2-oracle");
	TCase *t = tcase_create("oracle");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, reads_match_qemu_convert, 0,
			    (int)(sizeof(convert_opts) / sizeof(convert_opts[0])));
	tcase_add_loop_test(t, overlay_chains, 0, 3);
	tcase_add_test(t, internal_snapshots);
	tcase_add_test(t, subcluster_writes);
	tcase_add_test(t, dirty_lazy_refcounts);
	tcase_add_loop_test(t, random_writes_pass_qemu_check, 0,
			    (int)(sizeof(wcfgs) / sizeof(wcfgs[0])));
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_add_suite(r, qcow2_cli_suite());
	srunner_add_suite(r, qcow2_crash_suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
