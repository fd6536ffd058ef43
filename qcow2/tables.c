/* L1/L2 tables: lookup with validation of every entry, L2 table allocation,
 * entry updates, and the guest-range mapping query. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qcow2_l2_lookup(struct qcow2 *q, uint64_t guest_off, struct qcow2_l2_ref *ref)
{
	uint64_t l1_index = guest_off >> (q->cluster_bits + q->l2_bits);
	uint64_t l1e, l2_off;

	memset(ref, 0, sizeof(*ref));
	ref->l1_index = l1_index;
	ref->l2_index = (uint32_t)((guest_off >> q->cluster_bits) & (q->l2_entries - 1));
	if (l1_index >= q->l1_size) {
		log_error("qcow2: %s: guest offset 0x%llx beyond the L1 table", q->name,
			  (unsigned long long)guest_off);
		return -EINVAL;
	}
	l1e = q->l1[l1_index];
	if (l1e & QCOW2_L1_RESERVED) {
		log_error("qcow2: %s: L1 entry %llu (0x%llx) has reserved bits set", q->name,
			  (unsigned long long)l1_index, (unsigned long long)l1e);
		return -EINVAL;
	}
	l2_off = l1e & QCOW2_OFFSET_MASK;
	if (l2_off == 0)
		return 0;
	if (l2_off % q->cluster_size) {
		log_error("qcow2: %s: L2 table at 0x%llx is not cluster aligned", q->name,
			  (unsigned long long)l2_off);
		return -EINVAL;
	}
	const uint8_t *t = qcow2_cache_get(q, q->l2_cache, l2_off, "L2 table");
	if (!t)
		return -EINVAL;
	uint64_t e;
	memcpy(&e, t + (size_t)ref->l2_index * q->l2_entry_bytes, 8);
	ref->entry = be64toh(e);
	if (q->extended_l2) {
		memcpy(&e, t + (size_t)ref->l2_index * q->l2_entry_bytes + 8, 8);
		ref->bitmap = be64toh(e);
	}
	ref->l2_offset = l2_off;
	return qcow2_l2_entry_check(q, ref);
}

int qcow2_l2_entry_check(struct qcow2 *q, const struct qcow2_l2_ref *ref)
{
	uint64_t e = ref->entry;
	unsigned long long guest =
	    ((unsigned long long)ref->l1_index << (q->cluster_bits + q->l2_bits)) |
	    ((unsigned long long)ref->l2_index << q->cluster_bits);

	if (e & QCOW2_OFLAG_COMPRESSED)
		return 0; /* offset checked against the file when read */
	uint64_t reserved = QCOW2_L2_RESERVED | (q->version == 2 ? QCOW2_OFLAG_ZERO : 0);
	if (e & reserved) {
		log_error(
		    "qcow2: %s: L2 entry for guest offset 0x%llx (0x%llx) has reserved bits set",
		    q->name, guest, (unsigned long long)e);
		return -EINVAL;
	}
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if (host % q->cluster_size) {
		log_error("qcow2: %s: data cluster at 0x%llx (guest 0x%llx) is not cluster aligned",
			  q->name, (unsigned long long)host, guest);
		return -EINVAL;
	}
	if (q->extended_l2) {
		uint32_t alloc = (uint32_t)ref->bitmap, zero = (uint32_t)(ref->bitmap >> 32);
		if ((alloc & zero) || (alloc && host == 0)) {
			log_error(
			    "qcow2: %s: invalid subcluster bitmap 0x%llx for guest offset 0x%llx",
			    q->name, (unsigned long long)ref->bitmap, guest);
			return -EINVAL;
		}
	}
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Like QEMU: writing there (or freeing it) would destroy metadata; mark
 * the image corrupt and stop writing. */
static int refuse_corrupt(struct qcow2 *q, const char *what, uint64_t off, const char *hit,
			  const uint64_t *hit_off)
{
	uint64_t v = htobe64(q->incompat | QCOW2_INCOMPAT_CORRUPT);
	if (q->version >= 3 && qcow2_pwrite(q, &v, 8, QCOW2_HDR_OFF_INCOMPAT, "header") == 0)
		q->incompat |= QCOW2_INCOMPAT_CORRUPT;
	q->writable = false;
	if (hit_off)
		log_error("qcow2: %s: %s at 0x%llx overlaps the %s at 0x%llx; image marked corrupt",
			  q->name, what, (unsigned long long)off, hit,
			  (unsigned long long)*hit_off);
	else
		log_error("qcow2: %s: %s at 0x%llx overlaps the %s; image marked corrupt", q->name,
			  what, (unsigned long long)off, hit);
	return -EUCLEAN;
}

int qcow2_check_overlap(struct qcow2 *q, uint64_t off, uint64_t len, const char *what)
{
	const char *hit = NULL;

	if (overlaps(off, len, 0, q->cluster_size))
		hit = "header";
	else if (overlaps(off, len, q->l1_offset, (uint64_t)q->l1_size * 8))
		hit = "L1 table";
	else if (overlaps(off, len, q->reftable_offset,
			  (uint64_t)q->reftable_clusters * q->cluster_size))
		hit = "refcount table";
	return hit ? refuse_corrupt(q, what, off, hit, NULL) : 0;
}

/* Metadata in host clusters FIRST..LAST (inclusive): the name, its offset. */
static const char *metadata_in(struct qcow2 *q, uint64_t first, uint64_t last, uint64_t *at)
{
	unsigned cb = q->cluster_bits;
	uint64_t l1_end = q->l1_offset + (uint64_t)q->l1_size * 8;

	*at = 0;
	if (first == 0)
		return "header";
	if (q->l1_size && first <= (l1_end - 1) >> cb && q->l1_offset >> cb <= last) {
		*at = q->l1_offset;
		return "L1 table";
	}
	if (first < (q->reftable_offset >> cb) + q->reftable_clusters &&
	    q->reftable_offset >> cb <= last) {
		*at = q->reftable_offset;
		return "refcount table";
	}
	for (uint64_t i = 0; i < q->l1_size; i++) {
		uint64_t c = (q->l1[i] & QCOW2_OFFSET_MASK) >> cb;
		if (c && c >= first && c <= last) {
			*at = c << cb;
			return "L2 table";
		}
	}
	for (uint64_t i = 0; i < q->reftable_size; i++) {
		uint64_t c = (q->reftable[i] & ~QCOW2_REFT_RESERVED) >> cb;
		if (c && c >= first && c <= last) {
			*at = c << cb;
			return "refcount block";
		}
	}
	return NULL;
}

int qcow2_check_release(struct qcow2 *q, uint64_t off, uint64_t len, const char *what)
{
	uint64_t at;
	const char *hit;

	if (len == 0)
		return 0;
	if (off > UINT64_MAX - len)
		return refuse_corrupt(q, what, off, "end of the address space", NULL);
	hit = metadata_in(q, off >> q->cluster_bits, (off + len - 1) >> q->cluster_bits, &at);
	if (!hit)
		return 0;
	return refuse_corrupt(q, what, off, hit, !strcmp(hit, "header") ? NULL : &at);
}

int qcow2_l2_store(struct qcow2 *q, struct qcow2_l2_ref *ref, uint64_t entry, uint64_t bitmap)
{
	uint64_t be[2] = {htobe64(entry), htobe64(bitmap)};
	uint64_t pos = (uint64_t)ref->l2_index * q->l2_entry_bytes;
	int ret = qcow2_check_overlap(q, ref->l2_offset, q->cluster_size, "L2 table");
	if (ret)
		return ret;
	uint8_t *t = qcow2_cache_get(q, q->l2_cache, ref->l2_offset, "L2 table");
	if (!t)
		return -EIO;
	ret = qcow2_pwrite(q, be, q->l2_entry_bytes, ref->l2_offset + pos, "L2 table");
	if (ret) {
		qcow2_cache_drop(q->l2_cache, ref->l2_offset);
		return ret;
	}
	memcpy(t + pos, be, q->l2_entry_bytes);
	ref->entry = entry;
	ref->bitmap = bitmap;
	return 0;
}

int qcow2_l2_ensure(struct qcow2 *q, struct qcow2_l2_ref *ref)
{
	uint64_t l1e = q->l1[ref->l1_index], off, be;
	uint8_t *zero;
	int ret;

	if (ref->l2_offset) {
		if (!(l1e & QCOW2_OFLAG_COPIED)) {
			log_error(
			    "qcow2: %s: L2 table at 0x%llx is shared (snapshot); cannot write",
			    q->name, (unsigned long long)ref->l2_offset);
			return -ENOTSUP;
		}
		return 0;
	}
	ret = qcow2_alloc_cluster(q, &off);
	if (ret)
		return ret;
	zero = calloc(1, q->cluster_size);
	if (!zero)
		return -ENOMEM;
	/* Table content first, then the L1 entry that makes it reachable. */
	ret = qcow2_pwrite(q, zero, q->cluster_size, off, "L2 table");
	if (!ret)
		ret = qcow2_barrier(q);
	if (!ret) {
		qcow2_cache_put(q->l2_cache, off, zero);
		be = htobe64(off | QCOW2_OFLAG_COPIED);
		ret = qcow2_pwrite(q, &be, 8, q->l1_offset + ref->l1_index * 8, "L1 table");
	}
	free(zero);
	if (ret)
		return ret;
	q->l1[ref->l1_index] = off | QCOW2_OFLAG_COPIED;
	ref->l2_offset = off;
	ref->entry = 0;
	ref->bitmap = 0;
	return 0;
}

void qcow2_compressed_extent(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len)
{
	uint64_t o = entry & q->coffset_mask;
	uint64_t sectors = ((entry >> q->csize_shift) & q->csize_mask) + 1;

	*off = o;
	*len = sectors * 512 - (o & 511);
}

/* Mapping of the (sub)cluster run starting at OFF, limited to its cluster. */
static int chunk_at(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_extent *ext)
{
	struct qcow2_l2_ref ref;
	uint64_t in_cluster = off & (q->cluster_size - 1);
	uint64_t room = q->cluster_size - in_cluster;
	int ret = qcow2_l2_lookup(q, off, &ref);

	if (ret)
		return ret;
	memset(ext, 0, sizeof(*ext));
	if (ref.l2_offset == 0) /* no L2 table: its whole range falls through */
		room = ((uint64_t)q->cluster_size << q->l2_bits) -
		       (off & (((uint64_t)q->cluster_size << q->l2_bits) - 1));
	ext->len = room < len ? room : len;
	if (ref.l2_offset == 0) {
		ext->kind = QCOW2_MAP_BACKING;
		return 0;
	}
	uint64_t host = ref.entry & QCOW2_OFFSET_MASK;
	if (ref.entry & QCOW2_OFLAG_COMPRESSED) {
		ext->kind = QCOW2_MAP_COMPRESSED;
		return 0;
	}
	if (!q->extended_l2) {
		if (q->version >= 3 && (ref.entry & QCOW2_OFLAG_ZERO))
			ext->kind = QCOW2_MAP_ZERO;
		else if (host == 0)
			ext->kind = QCOW2_MAP_BACKING;
		else
			ext->kind = QCOW2_MAP_DATA;
	} else {
		unsigned sc = (unsigned)(in_cluster >> q->subcluster_bits);
		uint32_t alloc = (uint32_t)ref.bitmap, zero = (uint32_t)(ref.bitmap >> 32);
		int state = (alloc >> sc & 1) ? 1 : (zero >> sc & 1) ? 2 : 0;
		unsigned end = sc + 1;
		while (end < 32 && ((alloc >> end & 1) ? 1 : (zero >> end & 1) ? 2 : 0) == state)
			end++;
		uint64_t run = ((uint64_t)end << q->subcluster_bits) - in_cluster;
		if (run < ext->len)
			ext->len = run;
		ext->kind = state == 1	 ? QCOW2_MAP_DATA
			    : state == 2 ? QCOW2_MAP_ZERO
					 : QCOW2_MAP_BACKING;
	}
	if (ext->kind == QCOW2_MAP_DATA) {
		ext->host_off = host + in_cluster;
		ext->writable = ref.entry & QCOW2_OFLAG_COPIED;
		if (qcow2_check_extent(q, ext->host_off, ext->len, "data cluster"))
			return -EINVAL;
	}
	return 0;
}

static bool mergeable(const struct qcow2_extent *a, const struct qcow2_extent *b)
{
	if (a->kind != b->kind || a->kind == QCOW2_MAP_COMPRESSED)
		return false;
	if (a->kind != QCOW2_MAP_DATA)
		return true;
	return b->host_off == a->host_off + a->len && b->writable == a->writable;
}

int qcow2_map_locked(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_extent *ext)
{
	struct qcow2_extent next;
	int ret;

	if (off >= q->size || len == 0) {
		log_error("qcow2: %s: map of 0x%llx beyond the virtual size", q->name,
			  (unsigned long long)off);
		return -EINVAL;
	}
	if (len > q->size - off)
		len = q->size - off;
	ret = chunk_at(q, off, len, ext);
	/* Join following clusters of the same kind (contiguous host data). */
	/* Bounded, so a map of a huge hole answers quickly (callers loop). */
	for (int steps = 0; !ret && steps < 4096 && ext->len < len &&
			    ((off + ext->len) & (q->cluster_size - 1)) == 0;
	     steps++) {
		/* An error further on is reported when that range is used. */
		if (chunk_at(q, off + ext->len, len - ext->len, &next) || !mergeable(ext, &next))
			break;
		ext->len += next.len;
	}
	return ret;
}

int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_extent *ext)
{
	pthread_mutex_lock(&q->lock);
	int ret = qcow2_map_locked(q, off, len, ext);
	pthread_mutex_unlock(&q->lock);
	return ret;
}
