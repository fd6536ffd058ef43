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

static void add_ref(struct checker *k, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	uint64_t first = off >> k->q->cluster_bits, last = (off + len - 1) >> k->q->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= k->nclusters) {
			report(k, "ERROR: cluster at 0x%llx is beyond end of file (size 0x%llx)",
			       (unsigned long long)c << k->q->cluster_bits,
			       (unsigned long long)k->q->file_size);
			k->res->corruptions++;
			return;
		}
		if (k->refs[c] < UINT32_MAX)
			k->refs[c]++;
	}
}

/* The stored refcount of the cluster at OFF; false if it cannot be read. */
static bool stored_rc(struct checker *k, uint64_t off, uint64_t *rc)
{
	uint64_t c = off >> k->q->cluster_bits, bi = c >> k->q->refblock_bits;

	*rc = 0;
	if (bi < k->q->reftable_size && k->rb_bad[bi])
		return false;
	return qcow2_refcount_get(k->q, c, rc) == 0;
}

static void check_copied(struct checker *k, uint64_t entry, uint64_t off, bool active,
			 const char *what)
{
	if (!active)
		return;
	bool copied = entry & QCOW2_OFLAG_COPIED;
	uint64_t rc;
	if (!stored_rc(k, off, &rc))
		return; /* like qemu-img: counted once, in compare() */
	if (copied != (rc == 1)) {
		if (k->verbose)
			fprintf(stderr, "ERROR OFLAG_COPIED %s: offset=%llx refcount=%llu\n", what,
				(unsigned long long)entry, (unsigned long long)rc);
		k->res->corruptions++;
	}
}

static void check_l2_entry(struct checker *k, uint64_t e, uint64_t bitmap, bool active)
{
	struct qcow2 *q = k->q;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t off, len;
		qcow2_compressed_extent(q, e, &off, &len);
		if (e & QCOW2_OFLAG_COPIED) {
			report(k, "ERROR: compressed cluster %llx has the COPIED flag",
			       (unsigned long long)e);
			k->res->corruptions++;
		}
		/* The last compressed cluster may end past end of file. */
		if (off < q->file_size && len > q->file_size - off)
			len = q->file_size - off;
		add_ref(k, off, len);
		if (active) {
			k->res->allocated_clusters++;
			k->res->compressed_clusters++;
			k->res->fragmented_clusters++; /* qemu-img: fragmented by nature */
		}
		return;
	}
	uint64_t reserved = QCOW2_L2_RESERVED | (q->version == 2 ? QCOW2_OFLAG_ZERO : 0);
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if ((e & reserved) || host % q->cluster_size ||
	    (q->extended_l2 && ((uint32_t)bitmap & (uint32_t)(bitmap >> 32)))) {
		report(k, "ERROR: invalid L2 entry 0x%llx (bitmap 0x%llx)", (unsigned long long)e,
		       (unsigned long long)bitmap);
		k->res->corruptions++;
		return;
	}
	if (!host)
		return;
	add_ref(k, host, q->cluster_size);
	check_copied(k, e, host, active, "data cluster");
	if (active) {
		k->res->allocated_clusters++;
		if (k->last_host && host != k->last_host + q->cluster_size)
			k->res->fragmented_clusters++;
		k->last_host = host;
	}
}

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
		if (qcow2_check_extent(q, l2, q->cluster_size, "L2 table") ||
		    qcow2_pread(q, k->l2buf, q->cluster_size, l2, "L2 table")) {
			k->res->corruptions++;
			continue;
		}
		k->last_host = 0; /* qemu-img counts fragmentation within an L2 table */
		for (uint32_t j = 0; j < q->l2_entries; j++) {
			uint64_t e, b = 0;
			memcpy(&e, k->l2buf + (size_t)j * q->l2_entry_bytes, 8);
			if (q->extended_l2)
				memcpy(&b, k->l2buf + (size_t)j * q->l2_entry_bytes + 8, 8);
			check_l2_entry(k, be64toh(e), be64toh(b), active);
		}
	}
}

static int walk_snapshots(struct checker *k)
{
	struct qcow2 *q = k->q;
	uint64_t pos = q->snapshots_offset;

	for (uint32_t s = 0; s < q->nb_snapshots; s++) {
		uint8_t h[40];
		if (qcow2_pread(q, h, sizeof(h), pos, "snapshot table"))
			return -EINVAL;
		uint64_t l1_off;
		uint32_t l1_size, extra;
		uint16_t id_len, name_len;
		memcpy(&l1_off, h, 8);
		memcpy(&l1_size, h + 8, 4);
		memcpy(&id_len, h + 12, 2);
		memcpy(&name_len, h + 14, 2);
		memcpy(&extra, h + 36, 4);
		l1_off = be64toh(l1_off);
		l1_size = be32toh(l1_size);
		if (l1_size > QCOW2_MAX_L1_BYTES / 8 || l1_off % q->cluster_size ||
		    qcow2_check_extent(q, l1_off, (uint64_t)l1_size * 8, "snapshot L1 table"))
			return -EINVAL;
		uint64_t *l1 = malloc((uint64_t)l1_size * 8 + 8);
		if (!l1)
			return -ENOMEM;
		if (qcow2_pread(q, l1, (uint64_t)l1_size * 8, l1_off, "snapshot L1 table")) {
			free(l1);
			return -EINVAL;
		}
		for (uint32_t i = 0; i < l1_size; i++)
			l1[i] = be64toh(l1[i]);
		add_ref(k, l1_off, (uint64_t)l1_size * 8);
		walk_l1(k, l1, l1_size, false);
		free(l1);
		pos += 40 + be32toh(extra) + be16toh(id_len) + be16toh(name_len);
		pos = (pos + 7) & ~7ull;
	}
	add_ref(k, q->snapshots_offset, pos - q->snapshots_offset);
	return 0;
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
	if (!k->refs || !k->l2buf || !k->rb_bad)
		return -ENOMEM;
	k->res->total_clusters = qcow2_div_round_up(q->size, q->cluster_size);
	add_ref(k, 0, q->cluster_size);
	add_ref(k, q->l1_offset, (uint64_t)q->l1_size * 8);
	walk_l1(k, q->l1, q->l1_size, true);
	if (q->nb_snapshots && walk_snapshots(k))
		k->res->corruptions++;
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
	k.refs = NULL;
	k.l2buf = NULL;
	k.rb_bad = NULL;
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
	int cret = qcow2_close(k.q);
	return ret ? ret : cret;
}
