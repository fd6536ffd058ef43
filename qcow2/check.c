/* Consistency check like `qemu-img check`: rebuild every cluster's refcount
 * from the metadata (header, L1/L2 tables, refcount structures, snapshots),
 * compare with the stored refcounts, and verify the COPIED flags. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct checker {
	struct qcow2 *q;
	uint32_t *refs;	    /* computed references per host cluster */
	uint64_t nclusters; /* clusters in the file */
	struct qcow2_check_result *res;
	bool verbose;
	uint8_t *l2buf;
	uint64_t last_host; /* for fragmentation */
	uint8_t *rb_bad;    /* per refcount-table entry: block unreadable */
	/* Per host cluster: how often an L1 entry names it as an L2 table, in
	 * the active L1 table ([2c]) and in snapshots' ([2c+1]). Each table is
	 * read and walked once, its references counted that many times: a
	 * hostile image naming one L2 table from millions of L1 entries costs
	 * one walk, not millions. */
	uint32_t *l2_uses;
};

static void report(struct checker *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct checker *k, const char *fmt, ...)
{
	va_list ap;

	if (!k->verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint32_t sat_add(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

/* N references to each host cluster in [off, off+len). */
static void add_refs(struct checker *k, uint64_t off, uint64_t len, uint32_t n)
{
	if (len == 0 || n == 0)
		return;
	uint64_t first = off >> k->q->cluster_bits, last = (off + len - 1) >> k->q->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= k->nclusters) {
			report(k, "ERROR: cluster at 0x%llx is beyond end of file (size 0x%llx)",
			       (unsigned long long)c << k->q->cluster_bits,
			       (unsigned long long)k->q->file_size);
			k->res->corruptions += n;
			return;
		}
		k->refs[c] = sat_add(k->refs[c], n);
	}
}

static void add_ref(struct checker *k, uint64_t off, uint64_t len) { add_refs(k, off, len, 1); }

/* The stored refcount of the cluster at OFF; false if it cannot be read. */
static bool stored_rc(struct checker *k, uint64_t off, uint64_t *rc)
{
	uint64_t c = off >> k->q->cluster_bits, bi = c >> k->q->refblock_bits;

	*rc = 0;
	if (bi < k->q->reftable_size && k->rb_bad[bi])
		return false;
	return qcow2_refcount_get(k->q, c, rc) == 0;
}

/* The COPIED flag of an entry of the active tables (seen N times). */
static void check_copied(struct checker *k, uint64_t entry, uint64_t off, uint32_t n,
			 const char *what)
{
	if (n == 0)
		return;
	bool copied = entry & QCOW2_OFLAG_COPIED;
	uint64_t rc;
	if (!stored_rc(k, off, &rc))
		return; /* like qemu-img: counted once, in compare() */
	if (copied != (rc == 1)) {
		if (k->verbose)
			fprintf(stderr, "ERROR OFLAG_COPIED %s: offset=%llx refcount=%llu\n", what,
				(unsigned long long)entry, (unsigned long long)rc);
		k->res->corruptions += n;
	}
}

/* An L2 entry of a table named ACTIVE times from the active L1 table and
 * ALL times in total. */
static void check_l2_entry(struct checker *k, uint64_t e, uint64_t bitmap, uint32_t active,
			   uint32_t all)
{
	struct qcow2 *q = k->q;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t off, len;
		qcow2_compressed_extent(q, e, &off, &len);
		if (e & QCOW2_OFLAG_COPIED) {
			report(k, "ERROR: compressed cluster %llx has the COPIED flag",
			       (unsigned long long)e);
			k->res->corruptions += all;
		}
		/* The last compressed cluster may end past end of file. */
		if (off < q->file_size && len > q->file_size - off)
			len = q->file_size - off;
		add_refs(k, off, len, all);
		k->res->allocated_clusters += active;
		k->res->compressed_clusters += active;
		k->res->fragmented_clusters += active; /* qemu-img: fragmented by nature */
		return;
	}
	uint64_t reserved = QCOW2_L2_RESERVED | (q->version == 2 ? QCOW2_OFLAG_ZERO : 0);
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if ((e & reserved) || host % q->cluster_size ||
	    (q->extended_l2 && ((uint32_t)bitmap & (uint32_t)(bitmap >> 32)))) {
		report(k, "ERROR: invalid L2 entry 0x%llx (bitmap 0x%llx)", (unsigned long long)e,
		       (unsigned long long)bitmap);
		k->res->corruptions += all;
		return;
	}
	if (!host)
		return;
	add_refs(k, host, q->cluster_size, all);
	check_copied(k, e, host, active, "data cluster");
	k->res->allocated_clusters += active;
	if (k->last_host && host != k->last_host + q->cluster_size)
		k->res->fragmented_clusters += active;
	k->last_host = host;
}

/* Count the references of an L1 table; its L2 tables are walked later
 * (walk_l2_tables), once each. */
static void walk_l1(struct checker *k, const uint64_t *l1, uint64_t n, bool active)
{
	struct qcow2 *q = k->q;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
		if (l1[i] & QCOW2_L1_RESERVED || l2 % q->cluster_size) {
			report(k, "ERROR: invalid L1 entry %llu: 0x%llx", (unsigned long long)i,
			       (unsigned long long)l1[i]);
			k->res->corruptions++;
			continue;
		}
		if (!l2)
			continue;
		add_ref(k, l2, q->cluster_size);
		check_copied(k, l1[i], l2, active, "L2 cluster");
		uint64_t c = l2 >> q->cluster_bits;
		if (c >= k->nclusters) { /* reported by add_ref */
			k->res->corruptions++;
			continue;
		}
		k->l2_uses[2 * c + !active] = sat_add(k->l2_uses[2 * c + !active], 1);
	}
}

static void walk_l2_tables(struct checker *k)
{
	struct qcow2 *q = k->q;

	for (uint64_t c = 0; c < k->nclusters; c++) {
		uint32_t active = k->l2_uses[2 * c], all = sat_add(active, k->l2_uses[2 * c + 1]);
		if (all == 0)
			continue;
		if (qcow2_pread(q, k->l2buf, q->cluster_size, c << q->cluster_bits, "L2 table")) {
			k->res->corruptions += all;
			continue;
		}
		k->last_host = 0; /* qemu-img counts fragmentation within an L2 table */
		for (uint32_t j = 0; j < q->l2_entries; j++) {
			uint64_t e, b = 0;
			memcpy(&e, k->l2buf + (size_t)j * q->l2_entry_bytes, 8);
			if (q->extended_l2)
				memcpy(&b, k->l2buf + (size_t)j * q->l2_entry_bytes + 8, 8);
			check_l2_entry(k, be64toh(e), be64toh(b), active, all);
		}
	}
}

/* Snapshot table limits, as QEMU's. */
#define MAX_SNAPSHOTS 65536u
#define MAX_SNAPSHOT_TABLE_BYTES (1024ull * MAX_SNAPSHOTS)
#define MAX_SNAPSHOT_EXTRA 1024u

struct snap_l1 {
	uint64_t off, bytes;
	uint32_t entry;
};

static int cmp_snap_l1(const void *a, const void *b)
{
	const struct snap_l1 *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void bad_snapshot(struct checker *k, uint32_t s, const char *field, unsigned long long v,
			 const char *why)
{
	report(k, "ERROR snapshot table entry %u %s=0x%llx: %s; snapshot table entry corrupted", s,
	       field, v, why);
	k->res->corruptions++;
}

/* Read the snapshot table into L1 (the snapshots' L1 tables), bounded like
 * QEMU: at most 65536 entries, 64 MiB, 1 KiB extra data each; a violation
 * fails the check (-EFBIG, as qemu-img's). A snapshot whose L1 table is too
 * large, misaligned or past the end of the file is a corruption and left
 * out. Sets *END to the end of the table. */
static int read_snapshot_table(struct checker *k, struct snap_l1 *l1, uint32_t *n, uint64_t *end)
{
	struct qcow2 *q = k->q;
	uint64_t pos = q->snapshots_offset;

	*n = 0;
	for (uint32_t s = 0; s < q->nb_snapshots; s++) {
		uint8_t h[40];
		uint64_t off;
		uint32_t size, extra;
		uint16_t id_len, name_len;
		if (qcow2_pread(q, h, sizeof(h), pos, "snapshot table")) {
			k->res->corruptions++; /* the rest of the table is missing */
			break;
		}
		memcpy(&off, h, 8);
		memcpy(&size, h + 8, 4);
		memcpy(&id_len, h + 12, 2);
		memcpy(&name_len, h + 14, 2);
		memcpy(&extra, h + 36, 4);
		off = be64toh(off);
		size = be32toh(size);
		extra = be32toh(extra);
		if (extra > MAX_SNAPSHOT_EXTRA) {
			log_error(
			    "qcow2: %s: snapshot table entry %u: extra_data_size %u exceeds %u",
			    q->name, s, extra, MAX_SNAPSHOT_EXTRA);
			return -EFBIG;
		}
		pos += 40 + extra + be16toh(id_len) + be16toh(name_len);
		pos = (pos + 7) & ~7ull;
		if (pos - q->snapshots_offset > MAX_SNAPSHOT_TABLE_BYTES) {
			log_error(
			    "qcow2: %s: snapshot table too large: entry %u of nb_snapshots %u "
			    "ends past 64 MiB",
			    q->name, s, q->nb_snapshots);
			return -EFBIG;
		}
		if (size > QCOW2_MAX_L1_BYTES / 8)
			bad_snapshot(k, s, "l1_size", size, "L1 table is too large");
		else if (off % q->cluster_size)
			bad_snapshot(k, s, "l1_table_offset", off,
				     "L1 table is not cluster aligned");
		else if (off > q->file_size || (uint64_t)size * 8 > q->file_size - off)
			bad_snapshot(k, s, "l1_table_offset", off, "L1 table beyond end of file");
		else if (size)
			l1[(*n)++] = (struct snap_l1){off, (uint64_t)size * 8, s};
	}
	*end = pos;
	return 0;
}

/* The snapshots' L1 tables must not overlap each other or the header, the
 * active L1 table, the refcount table or the snapshot table: then together
 * they are no larger than the file, which bounds the check's work. An
 * overlapping one is a corruption and left out. */
static uint32_t drop_overlapping(struct checker *k, struct snap_l1 *l1, uint32_t n,
				 uint64_t table_end)
{
	struct qcow2 *q = k->q;
	const struct {
		uint64_t off, len;
		const char *what;
	} fixed[] = {
	    {0, q->cluster_size, "the header"},
	    {q->l1_offset, (uint64_t)q->l1_size * 8, "the active L1 table"},
	    {q->reftable_offset, (uint64_t)q->reftable_clusters * q->cluster_size,
	     "the refcount table"},
	    {q->snapshots_offset, table_end - q->snapshots_offset, "the snapshot table"},
	};
	uint32_t kept = 0;
	uint64_t prev_end = 0;
	uint32_t prev = 0;
	char why[96];

	qsort(l1, n, sizeof(*l1), cmp_snap_l1);
	for (uint32_t i = 0; i < n; i++) {
		const char *hit = NULL;
		for (size_t f = 0; f < sizeof(fixed) / sizeof(fixed[0]) && !hit; f++)
			if (fixed[f].len && l1[i].off < fixed[f].off + fixed[f].len &&
			    fixed[f].off < l1[i].off + l1[i].bytes)
				hit = fixed[f].what;
		if (!hit && kept && l1[i].off < prev_end) {
			snprintf(why, sizeof(why),
				 "L1 table overlaps the one of snapshot table entry %u", prev);
			bad_snapshot(k, l1[i].entry, "l1_table_offset", l1[i].off, why);
			continue;
		}
		if (hit) {
			snprintf(why, sizeof(why), "L1 table overlaps %s", hit);
			bad_snapshot(k, l1[i].entry, "l1_table_offset", l1[i].off, why);
			continue;
		}
		prev_end = l1[i].off + l1[i].bytes;
		prev = l1[i].entry;
		l1[kept++] = l1[i];
	}
	return kept;
}

static int walk_snapshots(struct checker *k)
{
	struct qcow2 *q = k->q;
	uint64_t end, *t = NULL;
	uint32_t n;
	int ret = 0;

	if (q->nb_snapshots > MAX_SNAPSHOTS) {
		log_error("qcow2: %s: snapshot table too large: nb_snapshots %u exceeds %u",
			  q->name, q->nb_snapshots, MAX_SNAPSHOTS);
		return -EFBIG;
	}
	struct snap_l1 *l1 = malloc((size_t)q->nb_snapshots * sizeof(*l1));
	if (!l1)
		return -ENOMEM;
	ret = read_snapshot_table(k, l1, &n, &end);
	if (!ret)
		n = drop_overlapping(k, l1, n, end);
	for (uint32_t i = 0; !ret && i < n; i++) {
		uint64_t *nt = realloc(t, l1[i].bytes);
		if (!nt) {
			ret = -ENOMEM;
			break;
		}
		t = nt;
		if (qcow2_pread(q, t, l1[i].bytes, l1[i].off, "snapshot L1 table")) {
			k->res->corruptions++;
			continue;
		}
		for (uint64_t j = 0; j < l1[i].bytes / 8; j++)
			t[j] = be64toh(t[j]);
		add_ref(k, l1[i].off, l1[i].bytes);
		walk_l1(k, t, l1[i].bytes / 8, false);
	}
	if (!ret)
		add_ref(k, q->snapshots_offset, end - q->snapshots_offset);
	free(t);
	free(l1);
	return ret;
}

static void walk_refcounts(struct checker *k)
{
	struct qcow2 *q = k->q;

	add_ref(k, q->reftable_offset, (uint64_t)q->reftable_clusters * q->cluster_size);
	for (uint64_t i = 0; i < q->reftable_size; i++) {
		uint64_t e = q->reftable[i];
		if (!e)
			continue;
		/* Like qemu-img: an entry with reserved bits is no reference, but
		 * its block is still used for lookups (the bits are masked). */
		if (e & QCOW2_REFT_RESERVED) {
			report(k, "ERROR refcount table entry %llu has reserved bits set",
			       (unsigned long long)i);
			k->res->corruptions++;
			q->reftable[i] = e & ~QCOW2_REFT_RESERVED;
			continue;
		}
		/* Blocks we cannot read are left out of the comparison; the
		 * refcounts they hold count as check errors there. */
		if (e % q->cluster_size) {
			report(k,
			       "ERROR refcount block %llu is not cluster aligned; refcount table "
			       "entry corrupted",
			       (unsigned long long)i);
			k->res->corruptions++;
			k->rb_bad[i] = 1;
			q->reftable[i] = 0;
			continue;
		}
		if (e >= q->file_size) {
			report(k, "ERROR refcount block %llu is outside image",
			       (unsigned long long)i);
			k->res->corruptions++;
			q->reftable[i] = 0; /* reads as zeros, as past end of file */
			continue;
		}
		add_ref(k, e, q->cluster_size);
	}
}

/* Like qemu-img, compare the clusters inside the file only: a refcount past
 * end of file (a crash between raising it and writing the cluster) is
 * harmless, and walking every block's range would let a hostile refcount
 * table make the check run for hours. */
static void compare(struct checker *k)
{
	struct qcow2 *q = k->q;

	k->res->image_end_offset = q->cluster_size; /* qemu-img: cluster 0 at least */
	for (uint64_t c = 0; c < k->nclusters; c++) {
		uint64_t computed = k->refs[c], rc = 0;
		if (!stored_rc(k, c << q->cluster_bits, &rc)) {
			if (k->verbose)
				fprintf(stderr,
					"Can't get refcount for cluster %llu: Input/output error\n",
					(unsigned long long)c);
			k->res->check_errors++;
			continue;
		}
		if (computed || rc)
			k->res->image_end_offset = (c + 1) << q->cluster_bits;
		if (rc == computed)
			continue;
		if (k->verbose)
			fprintf(stderr, "%s cluster %llu refcount=%llu reference=%llu\n",
				rc < computed ? "ERROR" : "Leaked", (unsigned long long)c,
				(unsigned long long)rc, (unsigned long long)computed);
		if (rc < computed)
			k->res->corruptions++;
		else
			k->res->leaks++;
	}
}

/* Compute every cluster's references in K and compare with Q's refcounts. */
static int run_check(struct checker *k)
{
	struct qcow2 *q = k->q;

	memset(k->res, 0, sizeof(*k->res));
	k->nclusters = qcow2_div_round_up(q->file_size, q->cluster_size);
	k->refs = calloc(k->nclusters ? k->nclusters : 1, sizeof(uint32_t));
	k->l2buf = malloc(q->cluster_size);
	k->rb_bad = calloc(q->reftable_size ? q->reftable_size : 1, 1);
	k->l2_uses = calloc(k->nclusters ? 2 * k->nclusters : 1, sizeof(uint32_t));
	if (!k->refs || !k->l2buf || !k->rb_bad || !k->l2_uses)
		return -ENOMEM;
	k->res->total_clusters = qcow2_div_round_up(q->size, q->cluster_size);
	add_ref(k, 0, q->cluster_size);
	add_ref(k, q->l1_offset, (uint64_t)q->l1_size * 8);
	walk_l1(k, q->l1, q->l1_size, true);
	if (q->nb_snapshots) {
		int ret = walk_snapshots(k);
		if (ret)
			return ret; /* a snapshot table beyond QEMU's limits: no verdict */
	}
	walk_l2_tables(k);
	walk_refcounts(k);
	compare(k);
	return 0;
}

static int check_open(const char *path, unsigned flags, struct qcow2_check_result *res,
		      bool verbose)
{
	struct qcow2_open_opts o = {.flags = QCOW2_O_NO_BACKING | flags};
	struct checker k = {.res = res, .verbose = verbose};
	int ret = qcow2_open(path, &o, &k.q);

	memset(res, 0, sizeof(*res));
	if (ret)
		return ret;
	ret = run_check(&k);
	free(k.refs);
	free(k.l2buf);
	free(k.rb_bad);
	free(k.l2_uses);
	qcow2_close(k.q);
	return ret;
}

int qcow2_check(const char *path, struct qcow2_check_result *res, bool verbose)
{
	return check_open(path, 0, res, verbose);
}

int qcow2_check_flags(const char *path, unsigned flags, struct qcow2_check_result *res,
		      bool verbose)
{
	return check_open(path, flags, res, verbose);
}

/* Raise too-low refcounts first (ALL only), then lower too-high ones: a
 * crash in between leaves leaks, never a cluster counted too low. */
static int fix_refcounts(struct checker *k, bool all)
{
	for (int pass = all ? 0 : 1; pass < 2; pass++) {
		for (uint64_t c = 0; c < k->nclusters; c++) {
			uint64_t rc;
			if (k->rb_bad[c >> k->q->refblock_bits])
				continue; /* no readable block to fix (a check error) */
			int ret = qcow2_refcount_get(k->q, c, &rc);
			if (ret)
				return ret;
			if ((pass == 0 && rc < k->refs[c]) || (pass == 1 && rc > k->refs[c])) {
				if (k->verbose)
					fprintf(
					    stderr,
					    "Repairing cluster %llu refcount=%llu reference=%u\n",
					    (unsigned long long)c, (unsigned long long)rc,
					    k->refs[c]);
				if ((ret = qcow2_refcount_set(k->q, c, k->refs[c])))
					return ret;
			}
		}
	}
	return 0;
}

static int clear_bits(struct qcow2 *q, uint64_t bits)
{
	uint64_t v = htobe64(q->incompat & ~bits);
	int ret = q->version >= 3 ? qcow2_pwrite(q, &v, 8, QCOW2_HDR_OFF_INCOMPAT, "header") : 0;
	if (!ret)
		q->incompat &= ~bits;
	return ret;
}

int qcow2_repair(const char *path, enum qcow2_repair mode, struct qcow2_check_result *before,
		 struct qcow2_check_result *after, bool verbose)
{
	struct qcow2_open_opts o = {.flags = QCOW2_O_NO_BACKING | QCOW2_O_RDWR | QCOW2_O_REPAIR};
	struct checker k = {.res = before, .verbose = verbose};
	int ret = qcow2_open(path, &o, &k.q);

	memset(before, 0, sizeof(*before));
	memset(after, 0, sizeof(*after));
	if (ret)
		return ret;
	ret = run_check(&k);
	if (!ret)
		ret = fix_refcounts(&k, mode == QCOW2_REPAIR_ALL);
	if (!ret) /* refcounts are now written eagerly-consistent */
		ret = clear_bits(k.q, QCOW2_INCOMPAT_DIRTY);
	if (!ret && fdatasync(qcow2_fd(k.q)) < 0)
		ret = -errno;
	free(k.refs);
	free(k.l2buf);
	free(k.rb_bad);
	free(k.l2_uses);
	k.refs = NULL;
	k.l2buf = NULL;
	k.rb_bad = NULL;
	k.l2_uses = NULL;
	if (!ret) {
		k.res = after;
		k.verbose = false;
		ret = run_check(&k);
		if (!ret && mode == QCOW2_REPAIR_ALL && after->corruptions == 0)
			ret = clear_bits(k.q, QCOW2_INCOMPAT_CORRUPT);
	}
	free(k.refs);
	free(k.l2buf);
	free(k.rb_bad);
	free(k.l2_uses);
	int cret = qcow2_close(k.q);
	return ret ? ret : cret;
}
