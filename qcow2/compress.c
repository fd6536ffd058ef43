/* Compressed clusters: zlib (raw deflate) and zstd.
 *
 * - A small cache of decompressed clusters, so a run of 4 KiB reads inside
 *   one compressed cluster decompresses it once (QEMU decompresses it every
 *   time); a random read inflates only the prefix it needs.
 * - Large reads covering several whole compressed clusters decompress them
 *   on two threads straight into the caller's buffer. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* One decompressor: its streams and its buffer for compressed input. */
struct decomp {
	z_stream zs;
	bool zs_ready;
	ZSTD_DCtx *zctx;
	uint8_t *in; /* 2 clusters: the largest compressed size */
};

struct dslot {
	uint64_t key; /* L2 descriptor without the COPIED bit; 0 = empty */
	uint64_t stamp;
	uint32_t valid; /* bytes decompressed so far (a prefix of the cluster) */
};

struct qcow2_dcache {
	uint32_t cluster_size;
	unsigned n;
	uint64_t clock;
	struct dslot *slots;
	uint8_t *data;
	struct decomp main, helper;
};

static int decomp_init(struct decomp *d, uint32_t cluster_size)
{
	d->in = malloc(2ull * cluster_size);
	return d->in ? 0 : -ENOMEM;
}

static void decomp_fini(struct decomp *d)
{
	if (d->zs_ready)
		inflateEnd(&d->zs);
	ZSTD_freeDCtx(d->zctx);
	free(d->in);
}

struct qcow2_dcache *qcow2_dcache_new(unsigned clusters, uint32_t cluster_size)
{
	struct qcow2_dcache *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cluster_size = cluster_size;
	d->n = clusters;
	d->slots = calloc(clusters, sizeof(*d->slots));
	d->data = malloc((size_t)clusters * cluster_size);
	if (!d->slots || !d->data || decomp_init(&d->main, cluster_size)) {
		qcow2_dcache_free(d);
		return NULL;
	}
	return d;
}

void qcow2_dcache_free(struct qcow2_dcache *d)
{
	if (!d)
		return;
	decomp_fini(&d->main);
	decomp_fini(&d->helper);
	free(d->slots);
	free(d->data);
	free(d);
}

void qcow2_dcache_invalidate(struct qcow2_dcache *d, uint64_t entry)
{
	uint64_t key = entry & ~QCOW2_OFLAG_COPIED;

	for (unsigned i = 0; i < d->n; i++)
		if (d->slots[i].key == key)
			d->slots[i].key = 0;
}

static int inflate_raw(struct decomp *d, size_t in_len, uint8_t *out, uint32_t want, uint32_t cs)
{
	int ret;

	if (!d->zs_ready) {
		memset(&d->zs, 0, sizeof(d->zs));
		if (inflateInit2(&d->zs, -15) != Z_OK)
			return -ENOMEM;
		d->zs_ready = true;
	} else if (inflateReset(&d->zs) != Z_OK) {
		return -EIO;
	}
	d->zs.next_in = d->in;
	d->zs.avail_in = (uInt)in_len;
	d->zs.next_out = out;
	d->zs.avail_out = want;
	ret = inflate(&d->zs, want == cs ? Z_FINISH : Z_SYNC_FLUSH);
	/* The stream may end exactly at the cluster or be followed by junk;
	 * a full output buffer is what counts. */
	if ((ret == Z_STREAM_END || ret == Z_OK || ret == Z_BUF_ERROR) && d->zs.avail_out == 0)
		return 0;
	return -EIO;
}

static int unzstd(struct decomp *d, size_t in_len, uint8_t *out, uint32_t want)
{
	ZSTD_inBuffer ib = {d->in, in_len, 0};
	ZSTD_outBuffer ob = {out, want, 0};

	if (!d->zctx && !(d->zctx = ZSTD_createDCtx()))
		return -ENOMEM;
	ZSTD_DCtx_reset(d->zctx, ZSTD_reset_session_only);
	while (ob.pos < ob.size) {
		size_t before_in = ib.pos, before_out = ob.pos;
		size_t r = ZSTD_decompressStream(d->zctx, &ob, &ib);
		if (ZSTD_isError(r))
			return -EIO;
		if (r == 0 && ob.pos < ob.size)
			return -EIO; /* frame ended before the cluster was full */
		if (ib.pos == before_in && ob.pos == before_out)
			return -EIO; /* no progress: input exhausted */
	}
	return 0;
}

/* Read and decompress the first WANT bytes of the cluster ENTRY describes.
 * Thread-safe for distinct D (pread only; no logging: *COFF for the caller). */
static int decompress(struct qcow2 *q, struct decomp *d, uint64_t entry, uint8_t *out,
		      uint32_t want, uint64_t *coff)
{
	uint64_t clen;
	size_t done = 0;

	qcow2_compressed_extent(q, entry, coff, &clen);
	if (*coff == 0 || *coff >= q->file_size)
		return -ERANGE;
	/* The last compressed cluster may end past end of file: short read. */
	if (clen > q->file_size - *coff)
		clen = q->file_size - *coff;
	while (done < clen) {
		ssize_t n = pread(q->fd, d->in + done, clen - done, (off_t)(*coff + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return q->compression_type ? unzstd(d, done, out, want)
				   : inflate_raw(d, done, out, want, q->cluster_size);
}

static void report(struct qcow2 *q, int err, uint64_t entry, uint64_t coff)
{
	uint64_t off, len;

	qcow2_compressed_extent(q, entry, &off, &len);
	if (err == -ERANGE)
		log_error("qcow2: %s: compressed cluster at 0x%llx beyond end of file", q->name,
			  (unsigned long long)coff);
	else
		log_error(
		    "qcow2: %s: compressed cluster at 0x%llx (%llu bytes) does not decompress (%s)",
		    q->name, (unsigned long long)coff, (unsigned long long)len,
		    q->compression_type ? "zstd" : "zlib");
}

static struct dslot *pick_slot(struct qcow2_dcache *d)
{
	struct dslot *victim = &d->slots[0];

	for (unsigned i = 1; i < d->n; i++)
		if (d->slots[i].stamp < victim->stamp)
			victim = &d->slots[i];
	return victim;
}

const uint8_t *qcow2_decompress_cluster(struct qcow2 *q, uint64_t entry, uint32_t need)
{
	struct qcow2_dcache *d = q->dcache;
	uint64_t key = entry & ~QCOW2_OFLAG_COPIED, coff;
	struct dslot *s = NULL;

	for (unsigned i = 0; i < d->n; i++) {
		if (d->slots[i].key == key) {
			s = &d->slots[i];
			s->stamp = ++d->clock;
			if (s->valid >= need)
				return d->data + (size_t)i * d->cluster_size;
			/* Asked for more of a partly decompressed cluster (a sequential
			 * reader): decompress all of it this time. */
			need = d->cluster_size;
			break;
		}
	}
	if (!s)
		s = pick_slot(d);
	uint8_t *out = d->data + (size_t)(s - d->slots) * d->cluster_size;
	s->key = 0;
	/* Inflate only the prefix the read needs: deflate/zstd streams cannot
	 * be entered in the middle, but they can stop early. */
	int ret = decompress(q, &d->main, entry, out, need, &coff);
	if (ret) {
		report(q, ret, entry, coff);
		return NULL;
	}
	s->key = key;
	s->valid = need;
	s->stamp = ++d->clock;
	return out;
}

struct batch {
	struct qcow2 *q;
	struct decomp *d;
	struct qcow2_decomp_job *jobs;
	unsigned n, first;
};

static void *run_batch(void *arg)
{
	struct batch *b = arg;

	for (unsigned i = b->first; i < b->n; i += 2)
		b->jobs[i].err = decompress(b->q, b->d, b->jobs[i].entry, b->jobs[i].dst,
					    b->q->cluster_size, &b->jobs[i].coff);
	return NULL;
}

int qcow2_decompress_batch(struct qcow2 *q, struct qcow2_decomp_job *jobs, unsigned n)
{
	struct qcow2_dcache *d = q->dcache;
	struct batch mine = {q, &d->main, jobs, n, 0}, other = {q, &d->helper, jobs, n, 1};
	pthread_t t;
	bool threaded = false;

	if (n >= 2 && sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
	    (d->helper.in || decomp_init(&d->helper, q->cluster_size) == 0))
		threaded = pthread_create(&t, NULL, run_batch, &other) == 0;
	if (!threaded)
		mine.d = &d->main, other.d = &d->main, run_batch(&other);
	run_batch(&mine);
	if (threaded)
		pthread_join(t, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (jobs[i].err) {
			report(q, jobs[i].err, jobs[i].entry, jobs[i].coff);
			return -EIO;
		}
	}
	return 0;
}
