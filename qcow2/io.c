/* Guest reads, copy-on-write writes, write-zeroes and discard.
 *
 * Allocation order (crash-safe against kill -9; a crash leaves leaks only):
 *   refcount raised -> cluster data written -> L2 entry written
 *   -> old cluster's refcount lowered. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int range_ok(struct qcow2 *q, uint64_t off, uint64_t len, const char *op)
{
	if (off > q->size || len > q->size - off) {
		log_error("qcow2: %s: %s of %llu bytes at 0x%llx beyond the virtual size 0x%llx",
			  q->name, op, (unsigned long long)len, (unsigned long long)off,
			  (unsigned long long)q->size);
		return -EINVAL;
	}
	return 0;
}

static int read_compressed(struct qcow2 *q, uint64_t off, uint8_t *buf, size_t len)
{
	struct qcow2_l2_ref ref;
	int ret = qcow2_l2_lookup(q, off, &ref);

	if (ret)
		return ret;
	uint32_t in = (uint32_t)(off & (q->cluster_size - 1));
	const uint8_t *data = qcow2_decompress_cluster(q, ref.entry, in + (uint32_t)len);
	if (!data)
		return -EIO;
	memcpy(buf, data + in, len);
	return 0;
}

#define BATCH_MAX 64

struct batch_state {
	struct qcow2_decomp_job jobs[BATCH_MAX];
	uint64_t guest[BATCH_MAX];
	unsigned n, next;
};

/* A large read over whole compressed clusters: decompress the next window
 * of them in parallel straight into the caller's buffer. */
static int prefetch_compressed(struct qcow2 *q, uint64_t off, uint8_t *p, size_t len,
			       struct batch_state *b)
{
	uint64_t cs = q->cluster_size;

	b->n = b->next = 0;
	for (uint64_t c = off; c + cs <= off + len && b->n < BATCH_MAX; c += cs) {
		struct qcow2_l2_ref ref;
		if (qcow2_l2_lookup(q, c, &ref) || !(ref.entry & QCOW2_OFLAG_COMPRESSED))
			break;
		b->jobs[b->n] = (struct qcow2_decomp_job){.entry = ref.entry, .dst = p + (c - off)};
		b->guest[b->n++] = c;
	}
	if (b->n < 2) {
		b->n = 0;
		return 0;
	}
	return qcow2_decompress_batch(q, b->jobs, b->n);
}

/* Handle a COMPRESSED extent at OFF: from the batch, or one cluster alone. */
static int read_compressed_extent(struct qcow2 *q, uint64_t off, uint8_t *p, size_t ext_len,
				  size_t len, struct batch_state *b)
{
	bool whole = (off & (q->cluster_size - 1)) == 0 && ext_len == q->cluster_size;

	if (whole && b->next < b->n && b->guest[b->next] == off) {
		b->next++;
		return 0;
	}
	if (whole && len >= 4ull * q->cluster_size) {
		int ret = prefetch_compressed(q, off, p, len, b);
		if (ret || (b->n && b->guest[0] == off && ++b->next))
			return ret;
	}
	return read_compressed(q, off, p, ext_len);
}

int qcow2_read_locked(struct qcow2 *q, uint64_t off, void *buf, size_t len)
{
	struct batch_state batch = {.n = 0};
	uint8_t *p = buf;
	int ret = range_ok(q, off, len, "read");

	while (!ret && len) {
		struct qcow2_extent ext;
		ret = qcow2_map_locked(q, off, len, &ext);
		if (ret)
			break;
		switch (ext.kind) {
		case QCOW2_MAP_DATA:
			ret = qcow2_pread(q, p, ext.len, ext.host_off, "data cluster");
			break;
		case QCOW2_MAP_ZERO:
			memset(p, 0, ext.len);
			break;
		case QCOW2_MAP_BACKING:
			ret = qcow2_backing_read(q, off, p, ext.len);
			break;
		case QCOW2_MAP_COMPRESSED:
			ret = read_compressed_extent(q, off, p, ext.len, len, &batch);
			break;
		}
		off += ext.len;
		p += ext.len;
		len -= ext.len;
	}
	return ret;
}

int qcow2_read(struct qcow2 *q, uint64_t off, void *buf, size_t len)
{
	pthread_mutex_lock(&q->lock);
	int ret = qcow2_read_locked(q, off, buf, len);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* Drop this image's reference to the host clusters an old L2 entry used. */
static int release_old(struct qcow2 *q, uint64_t entry)
{
	if (entry & QCOW2_OFLAG_COMPRESSED) {
		uint64_t coff, clen;
		qcow2_compressed_extent(q, entry, &coff, &clen);
		qcow2_dcache_invalidate(q->dcache, entry);
		/* The entry comes from the file: freeing a range it names must
		 * not release metadata. (The last compressed cluster may end
		 * past the end of the file; it must start inside it.) */
		if (coff >= q->file_size) {
			log_error("qcow2: %s: compressed cluster at 0x%llx beyond end of file",
				  q->name, (unsigned long long)coff);
			return -EUCLEAN;
		}
		int r = qcow2_check_release(q, coff, clen, "compressed cluster");
		return r ? r : qcow2_free_range(q, coff, clen);
	}
	uint64_t host = entry & QCOW2_OFFSET_MASK;
	if (!host)
		return 0;
	int r = qcow2_check_release(q, host, q->cluster_size, "data cluster");
	return r ? r : qcow2_free_range(q, host, q->cluster_size);
}

/* Bytes of the guest cluster starting at CSTART that lie inside the disk. */
static size_t cluster_span(struct qcow2 *q, uint64_t cstart)
{
	uint64_t left = q->size - cstart;
	return left < q->cluster_size ? (size_t)left : q->cluster_size;
}

/* Can DATA at this entry be overwritten in place for [in, in+len)? */
static bool in_place(struct qcow2 *q, const struct qcow2_l2_ref *ref, uint64_t in, uint64_t len)
{
	uint64_t e = ref->entry;

	if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_COPIED) || !(e & QCOW2_OFFSET_MASK))
		return false;
	if (!q->extended_l2)
		return !(e & QCOW2_OFLAG_ZERO);
	unsigned first = (unsigned)(in >> q->subcluster_bits);
	unsigned last = (unsigned)((in + len - 1) >> q->subcluster_bits);
	uint32_t want = (uint32_t)(((2ull << last) - 1) & ~((1ull << first) - 1));
	return ((uint32_t)ref->bitmap & want) == want;
}

/* Write one new full cluster (current view + DATA) and point the L2 entry
 * at it; the old host cluster (compressed, shared, zero) is released. */
static int cow_cluster(struct qcow2 *q, struct qcow2_l2_ref *ref, uint64_t cstart, uint64_t in,
		       const void *data, size_t len)
{
	size_t span = cluster_span(q, cstart);
	uint8_t *buf = calloc(1, q->cluster_size);
	uint64_t old = ref->entry, host;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (in != 0 || len < span)
		ret = qcow2_read_locked(q, cstart, buf, span);
	memcpy(buf + in, data, len);
	if (!ret)
		ret = qcow2_l2_ensure(q, ref);
	if (!ret)
		ret = qcow2_alloc_cluster(q, &host);
	if (!ret)
		ret = qcow2_pwrite(q, buf, q->cluster_size, host, "data cluster");
	free(buf);
	if (!ret)
		ret = qcow2_barrier(q); /* data (and the COW copy) before the L2 entry */
	if (!ret)
		ret = qcow2_l2_store(q, ref, host | QCOW2_OFLAG_COPIED,
				     q->extended_l2 ? 0xffffffffull : 0);
	if (!ret && old && !(ret = qcow2_barrier(q)))
		ret = release_old(q, old);
	return ret;
}

/* Extended L2: write only the subclusters DATA touches (their uncovered
 * edges filled from the current view) into this image's own host cluster,
 * allocating it if there is none, and mark just those subclusters
 * allocated. The other subclusters keep their state (backing, zero). */
static int write_subclusters(struct qcow2 *q, struct qcow2_l2_ref *ref, uint64_t cstart,
			     uint64_t in, const void *data, size_t len)
{
	unsigned sb = q->subcluster_bits;
	unsigned first = (unsigned)(in >> sb), last = (unsigned)((in + len - 1) >> sb);
	uint64_t lo = (uint64_t)first << sb, hi = (uint64_t)(last + 1) << sb;
	uint64_t span = cluster_span(q, cstart), host = ref->entry & QCOW2_OFFSET_MASK;
	uint8_t *buf = calloc(1, hi - lo);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (in > lo)
		ret = qcow2_read_locked(q, cstart + lo, buf, in - lo);
	if (!ret && in + len < hi && in + len < span)
		ret = qcow2_read_locked(q, cstart + in + len, buf + (in + len - lo),
					(hi < span ? hi : span) - (in + len));
	memcpy(buf + (in - lo), data, len);
	if (!ret)
		ret = qcow2_l2_ensure(q, ref);
	if (!ret && !host)
		ret = qcow2_alloc_cluster(q, &host);
	else if (!ret)
		ret = qcow2_check_overlap(q, host, q->cluster_size, "data cluster");
	if (!ret)
		ret = qcow2_pwrite(q, buf, hi - lo, host + lo, "data cluster");
	/* A fresh cluster at the end of the file: make the file cover all of it. */
	if (!ret && host + q->cluster_size > q->file_size) {
		if (ftruncate(q->fd, (off_t)(host + q->cluster_size)) < 0)
			ret = -errno;
		else
			q->file_size = host + q->cluster_size;
	}
	free(buf);
	if (!ret)
		ret = qcow2_barrier(q);
	if (!ret) {
		uint32_t mask = (uint32_t)(((2ull << last) - 1) & ~((1ull << first) - 1));
		uint64_t alloc = ((uint32_t)ref->bitmap) | mask;
		uint64_t zero = ((uint32_t)(ref->bitmap >> 32)) & ~mask;
		ret = qcow2_l2_store(q, ref, host | QCOW2_OFLAG_COPIED, alloc | zero << 32);
	}
	return ret;
}

static int write_chunk(struct qcow2 *q, uint64_t off, const void *data, size_t len)
{
	struct qcow2_l2_ref ref;
	uint64_t in = off & (q->cluster_size - 1);
	int ret = qcow2_l2_lookup(q, off, &ref);

	if (!ret && ref.l2_offset)
		ret = qcow2_l2_ensure(q, &ref); /* refuses a shared L2 table */
	if (ret)
		return ret;
	if (in_place(q, &ref, in, len)) {
		uint64_t host = ref.entry & QCOW2_OFFSET_MASK;
		if ((ret = qcow2_check_extent(q, host + in, len, "data cluster")) ||
		    (ret = qcow2_check_overlap(q, host, q->cluster_size, "data cluster")))
			return ret;
		return qcow2_pwrite(q, data, len, host + in, "data cluster");
	}
	/* Subcluster writes where the host cluster is ours or there is none. */
	bool own = (ref.entry & QCOW2_OFLAG_COPIED) || !(ref.entry & QCOW2_OFFSET_MASK);
	if (q->extended_l2 && !(ref.entry & QCOW2_OFLAG_COMPRESSED) && own)
		return write_subclusters(q, &ref, off - in, in, data, len);
	return cow_cluster(q, &ref, off - in, in, data, len);
}

static int write_locked(struct qcow2 *q, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int ret = range_ok(q, off, len, "write");

	if (!ret)
		ret = qcow2_writable_check(q);
	while (!ret && len) {
		size_t room = q->cluster_size - (off & (q->cluster_size - 1));
		size_t n = room < len ? room : len;
		ret = write_chunk(q, off, p, n);
		off += n;
		p += n;
		len -= n;
	}
	return ret;
}

int qcow2_write(struct qcow2 *q, uint64_t off, const void *buf, size_t len)
{
	pthread_mutex_lock(&q->lock);
	int ret = write_locked(q, off, buf, len);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* Make a whole guest cluster read as zeros without writing data. Returns
 * 1 if the caller must write zeros instead (v2 with a backing file). */
static int zero_cluster(struct qcow2 *q, uint64_t off)
{
	struct qcow2_l2_ref ref;
	uint64_t entry = 0, bitmap = 0;
	int ret = qcow2_l2_lookup(q, off, &ref);

	if (ret)
		return ret;
	if (q->version == 2 && q->has_backing)
		return 1;
	if (q->extended_l2)
		bitmap = 0xffffffffull << 32;
	else if (q->version >= 3)
		entry = QCOW2_OFLAG_ZERO;
	if (ref.entry == entry && ref.bitmap == bitmap)
		return 0;
	if (!q->has_backing && ref.entry == 0 && ref.bitmap == 0)
		return 0; /* unallocated without backing already reads as zeros */
	if ((ret = qcow2_l2_ensure(q, &ref)))
		return ret;
	uint64_t old = ref.entry;
	/* Reference gone first, refcount lowered second. */
	ret = qcow2_l2_store(q, &ref, entry, bitmap);
	if (!ret && old)
		ret = qcow2_barrier(q);
	return ret ? ret : release_old(q, old);
}

static int zeroes_locked(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint8_t *zero = NULL;
	int ret = range_ok(q, off, len, "write-zeroes");

	if (!ret)
		ret = qcow2_writable_check(q);
	while (!ret && len) {
		uint64_t in = off & (q->cluster_size - 1);
		uint64_t room = q->cluster_size - in;
		uint64_t n = room < len ? room : len;
		bool whole = in == 0 && (n == q->cluster_size || off + n == q->size);
		ret = whole ? zero_cluster(q, off) : 1;
		if (ret == 1) {
			if (!zero && !(zero = calloc(1, q->cluster_size)))
				ret = -ENOMEM;
			else
				ret = write_chunk(q, off, zero, n);
		}
		off += n;
		len -= n;
	}
	free(zero);
	return ret;
}

int qcow2_write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len, unsigned flags)
{
	(void)flags; /* whole clusters are always unmapped: their data is gone anyway */
	pthread_mutex_lock(&q->lock);
	int ret = zeroes_locked(q, off, len);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len)
{
	return qcow2_write_zeroes(q, off, len, QCOW2_ZERO_MAY_UNMAP);
}
