/* Refcounts: entries of any width (1..64 bits), refcount-block allocation
 * (a new block counts itself), refcount-table growth, cluster allocation.
 *
 * Every change is written through immediately, in the order that leaves only
 * leaks after a crash: a refcount is raised before anything references the
 * cluster, and lowered only after the reference is gone. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t qcow2_rb_entry_get(const uint8_t *blk, uint64_t idx, unsigned order)
{
	switch (order) {
	case 0:
	case 1:
	case 2: {
		unsigned per_byte_log = 3 - order;
		unsigned shift = (unsigned)(idx & ((1u << per_byte_log) - 1)) << order;
		return (blk[idx >> per_byte_log] >> shift) & ((1u << (1u << order)) - 1);
	}
	case 3:
		return blk[idx];
	case 4: {
		uint16_t v;
		memcpy(&v, blk + idx * 2, 2);
		return be16toh(v);
	}
	case 5: {
		uint32_t v;
		memcpy(&v, blk + idx * 4, 4);
		return be32toh(v);
	}
	default: {
		uint64_t v;
		memcpy(&v, blk + idx * 8, 8);
		return be64toh(v);
	}
	}
}

void qcow2_rb_entry_set(uint8_t *blk, uint64_t idx, unsigned order, uint64_t val)
{
	switch (order) {
	case 0:
	case 1:
	case 2: {
		unsigned per_byte_log = 3 - order;
		unsigned shift = (unsigned)(idx & ((1u << per_byte_log) - 1)) << order;
		unsigned mask = ((1u << (1u << order)) - 1) << shift;
		uint8_t *b = &blk[idx >> per_byte_log];
		*b = (uint8_t)((*b & ~mask) | (((unsigned)val << shift) & mask));
		break;
	}
	case 3:
		blk[idx] = (uint8_t)val;
		break;
	case 4: {
		uint16_t v = htobe16((uint16_t)val);
		memcpy(blk + idx * 2, &v, 2);
		break;
	}
	case 5: {
		uint32_t v = htobe32((uint32_t)val);
		memcpy(blk + idx * 4, &v, 4);
		break;
	}
	default: {
		uint64_t v = htobe64(val);
		memcpy(blk + idx * 8, &v, 8);
		break;
	}
	}
}

/* The refcount block holding CLUSTER's entry, or NULL with *missing set. */
static uint8_t *block_for(struct qcow2 *q, uint64_t cluster, bool *missing, int *err)
{
	uint64_t bi = cluster >> q->refblock_bits;
	uint64_t e;

	*missing = false;
	*err = 0;
	if (bi >= q->reftable_size || q->reftable[bi] == 0) {
		*missing = true;
		return NULL;
	}
	e = q->reftable[bi];
	if (e & QCOW2_REFT_RESERVED || e % q->cluster_size) {
		log_error("qcow2: %s: refcount table entry %llu (0x%llx) is not cluster aligned",
			  q->name, (unsigned long long)bi, (unsigned long long)e);
		*err = -EINVAL;
		return NULL;
	}
	uint8_t *blk = qcow2_cache_get(q, q->rb_cache, e, "refcount block");
	if (!blk)
		*err = -EIO;
	return blk;
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
	bool missing;
	int err;
	uint8_t *blk = block_for(q, cluster, &missing, &err);

	*rc = 0;
	if (missing)
		return 0;
	if (!blk)
		return err;
	*rc = qcow2_rb_entry_get(blk, cluster & (q->refblock_entries - 1), q->refcount_order);
	return 0;
}

/* Write NV as CLUSTER's refcount into block BLK (cached) and the file. */
static int store_refcount(struct qcow2 *q, uint8_t *blk, uint64_t cluster, uint64_t nv)
{
	uint64_t idx = cluster & (q->refblock_entries - 1);
	unsigned ebytes = q->refcount_order < 3 ? 1 : 1u << (q->refcount_order - 3);
	uint64_t byte = q->refcount_order < 3 ? idx >> (3 - q->refcount_order) : idx * ebytes;
	uint64_t blk_off = q->reftable[cluster >> q->refblock_bits];

	qcow2_rb_entry_set(blk, idx, q->refcount_order, nv);
	int ret = qcow2_pwrite(q, blk + byte, ebytes, blk_off + byte, "refcount block");
	if (ret) {
		qcow2_cache_drop(q->rb_cache, blk_off);
		return ret;
	}
	if (nv == 0 && cluster < q->free_hint)
		q->free_hint = cluster;
	return 0;
}

static uint8_t *block_or_error(struct qcow2 *q, uint64_t cluster, int *err)
{
	bool missing;
	uint8_t *blk = block_for(q, cluster, &missing, err);

	if (missing) {
		log_error("qcow2: %s: no refcount block for cluster 0x%llx", q->name,
			  (unsigned long long)cluster * q->cluster_size);
		*err = -EUCLEAN;
	}
	return blk;
}

int qcow2_refcount_update(struct qcow2 *q, uint64_t cluster, int delta)
{
	uint64_t max =
	    q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
	int err;
	uint8_t *blk = block_or_error(q, cluster, &err);

	if (!blk)
		return err;
	uint64_t old =
	    qcow2_rb_entry_get(blk, cluster & (q->refblock_entries - 1), q->refcount_order);
	if ((delta > 0 && old == max) || (delta < 0 && old == 0)) {
		log_error("qcow2: %s: refcount %s for cluster at 0x%llx (refcount %llu)", q->name,
			  delta > 0 ? "overflow" : "underflow",
			  (unsigned long long)cluster * q->cluster_size, (unsigned long long)old);
		return delta > 0 ? -ERANGE : -EUCLEAN;
	}
	return store_refcount(q, blk, cluster, delta > 0 ? old + 1 : old - 1);
}

int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value)
{
	uint64_t max =
	    q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
	int err;
	uint8_t *blk = block_or_error(q, cluster, &err);

	if (!blk)
		return err;
	if (value > max) {
		log_error("qcow2: %s: refcount %llu for cluster at 0x%llx does not fit %u bits",
			  q->name, (unsigned long long)value,
			  (unsigned long long)cluster * q->cluster_size, 1u << q->refcount_order);
		return -ERANGE;
	}
	return store_refcount(q, blk, cluster, value);
}

int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t first = off >> q->cluster_bits;
	uint64_t last = (off + len - 1) >> q->cluster_bits;

	for (uint64_t c = first; c <= last; c++) {
		int ret = qcow2_refcount_update(q, c, -1);
		if (ret)
			return ret;
	}
	return 0;
}

/* Blocks missing for clusters [start, end): how many, and the last index. */
static uint64_t count_missing(struct qcow2 *q, uint64_t start, uint64_t end, uint64_t *last_b)
{
	uint64_t n = 0;

	*last_b = (end - 1) >> q->refblock_bits;
	for (uint64_t b = start >> q->refblock_bits; b <= *last_b; b++)
		if (b >= q->reftable_size || q->reftable[b] == 0)
			n++;
	return n;
}

/* Lay out a new, larger refcount table plus the refcount blocks needed to
 * count it at the end of the file. Returns table clusters / block count. */
static int plan_growth(struct qcow2 *q, uint64_t need_bi, uint64_t *entries, uint64_t *tc,
		       uint64_t *nb)
{
	uint64_t per_cluster = q->cluster_size / 8;
	uint64_t n = need_bi + 1 > q->reftable_size ? need_bi + 1 : q->reftable_size;
	uint64_t end = q->alloc_end, last_b;

	n += n / 2;
	for (;;) {
		n = qcow2_div_round_up(n, per_cluster) * per_cluster;
		if (n * 8 > QCOW2_MAX_REFTABLE_BYTES) {
			log_error("qcow2: %s: refcount table would exceed %u MiB", q->name,
				  QCOW2_MAX_REFTABLE_BYTES >> 20);
			return -EFBIG;
		}
		*tc = n / per_cluster;
		*nb = 0;
		for (;;) {
			uint64_t m = count_missing(q, end, end + *tc + *nb, &last_b);
			if (m == *nb)
				break;
			*nb = m;
		}
		if (last_b < n)
			break;
		n = last_b + 1;
	}
	*entries = n;
	return 0;
}

static int write_new_blocks(struct qcow2 *q, uint64_t *newt, uint64_t start, uint64_t end)
{
	uint8_t *blk = calloc(1, q->cluster_size);
	uint64_t last_b = (end - 1) >> q->refblock_bits;
	int ret = 0;

	if (!blk)
		return -ENOMEM;
	for (uint64_t b = start >> q->refblock_bits; b <= last_b && !ret; b++) {
		bool is_new = b >= q->reftable_size || q->reftable[b] == 0;
		uint64_t lo = b << q->refblock_bits, hi = lo + q->refblock_entries;
		if (lo < start)
			lo = start;
		if (hi > end)
			hi = end;
		if (!is_new) {
			for (uint64_t c = lo; c < hi && !ret; c++)
				ret = qcow2_refcount_update(q, c, +1);
			continue;
		}
		memset(blk, 0, q->cluster_size);
		for (uint64_t c = lo; c < hi; c++)
			qcow2_rb_entry_set(blk, c & (q->refblock_entries - 1), q->refcount_order,
					   1);
		ret = qcow2_pwrite(q, blk, q->cluster_size, newt[b], "refcount block");
		if (!ret)
			qcow2_cache_put(q->rb_cache, newt[b], blk);
	}
	free(blk);
	return ret;
}

static int grow_reftable(struct qcow2 *q, uint64_t need_bi)
{
	uint64_t entries, tc, nb, end = q->alloc_end, j = 0, last_b;
	uint64_t old_off = q->reftable_offset, old_clusters = q->reftable_clusters;
	int ret = plan_growth(q, need_bi, &entries, &tc, &nb);

	if (ret)
		return ret;
	uint64_t *newt = calloc(entries, 8);
	uint64_t *disk = calloc(entries, 8);
	if (!newt || !disk) {
		free(newt);
		free(disk);
		return -ENOMEM;
	}
	memcpy(newt, q->reftable, q->reftable_size * 8);
	count_missing(q, end, end + tc + nb, &last_b);
	for (uint64_t b = end >> q->refblock_bits; b <= last_b; b++)
		if (b >= q->reftable_size || q->reftable[b] == 0)
			newt[b] = (end + tc + j++) << q->cluster_bits;
	ret = write_new_blocks(q, newt, end, end + tc + nb);
	for (uint64_t i = 0; i < entries; i++)
		disk[i] = htobe64(newt[i]);
	if (!ret)
		ret = qcow2_pwrite(q, disk, entries * 8, end << q->cluster_bits, "refcount table");
	if (!ret)
		ret = qcow2_barrier(q);
	if (!ret) {
		/* The switch: offset and cluster count are adjacent, one write. */
		uint8_t hdr[12];
		uint64_t o = htobe64(end << q->cluster_bits);
		uint32_t c = htobe32((uint32_t)tc);
		memcpy(hdr, &o, 8);
		memcpy(hdr + 8, &c, 4);
		ret = qcow2_pwrite(q, hdr, sizeof(hdr), QCOW2_HDR_OFF_REFTABLE, "header");
	}
	free(disk);
	if (ret) {
		free(newt);
		return ret;
	}
	free(q->reftable);
	q->reftable = newt;
	q->reftable_size = entries;
	q->reftable_offset = end << q->cluster_bits;
	q->reftable_clusters = (uint32_t)tc;
	if (q->alloc_end < end + tc + nb)
		q->alloc_end = end + tc + nb;
	ret = qcow2_barrier(q);
	return ret ? ret : qcow2_free_range(q, old_off, old_clusters << q->cluster_bits);
}

/* A free cluster index at or after the hint (refcount 0), or alloc_end. */
static int find_free(struct qcow2 *q, uint64_t *idx)
{
	for (uint64_t c = q->free_hint ? q->free_hint : 1; c < q->alloc_end; c++) {
		uint64_t rc;
		int ret = qcow2_refcount_get(q, c, &rc);
		if (ret)
			return ret;
		if (rc == 0) {
			*idx = c;
			return 0;
		}
		q->free_hint = c + 1;
	}
	/* Past the end of the file a cluster may still be counted: a writer
	 * killed between raising a refcount and writing the cluster leaves
	 * one (a leak). Handing it out again would count it twice. Skip
	 * such clusters; they stay leaked, as `check -r leaks` reports. */
	for (;;) {
		uint64_t rc;
		int ret = qcow2_refcount_get(q, q->alloc_end, &rc);
		if (ret)
			return ret;
		if (rc == 0)
			break;
		q->alloc_end++;
	}
	*idx = q->alloc_end;
	return 0;
}

/* Put a new refcount block at cluster IDX; it covers (and counts) itself. */
static int new_self_block(struct qcow2 *q, uint64_t idx)
{
	uint64_t bi = idx >> q->refblock_bits;
	uint64_t off = idx << q->cluster_bits;
	uint8_t *blk = calloc(1, q->cluster_size);
	int ret;

	if (!blk)
		return -ENOMEM;
	ret = qcow2_check_overlap(q, off, q->cluster_size, "free cluster");
	if (ret) {
		free(blk);
		return ret;
	}
	qcow2_rb_entry_set(blk, idx & (q->refblock_entries - 1), q->refcount_order, 1);
	ret = qcow2_pwrite(q, blk, q->cluster_size, off, "refcount block");
	if (!ret)
		ret = qcow2_barrier(q);
	if (!ret) {
		uint64_t be = htobe64(off);
		ret = qcow2_pwrite(q, &be, 8, q->reftable_offset + bi * 8, "refcount table");
	}
	if (!ret) {
		qcow2_cache_put(q->rb_cache, off, blk);
		q->reftable[bi] = off;
		if (q->alloc_end <= idx)
			q->alloc_end = idx + 1;
	}
	free(blk);
	return ret;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *host_off)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t idx = 0, bi;
		int ret = find_free(q, &idx);
		if (ret)
			return ret;
		if (idx >= (1ull << (56 - q->cluster_bits))) {
			log_error("qcow2: %s: image file full (offset limit)", q->name);
			return -ENOSPC;
		}
		bi = idx >> q->refblock_bits;
		if (bi >= q->reftable_size)
			ret = grow_reftable(q, bi);
		else if (q->reftable[bi] == 0)
			ret = new_self_block(q, idx);
		else {
			ret = qcow2_check_overlap(q, idx << q->cluster_bits, q->cluster_size,
						  "free cluster");
			if (!ret)
				ret = qcow2_refcount_update(q, idx, +1);
			if (!ret) {
				if (q->alloc_end <= idx)
					q->alloc_end = idx + 1;
				q->free_hint = idx + 1;
				*host_off = idx << q->cluster_bits;
			}
			return ret;
		}
		if (ret)
			return ret;
	}
	log_error("qcow2: %s: cluster allocation does not converge", q->name);
	return -EIO;
}
