/* Creating qcow2 images: header (+ backing format and feature-name
 * extensions, backing file name), refcount table and blocks, empty L1. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest backing format name accepted ("qcow2", "raw" ...). */
#define QCOW2_MAX_FORMAT_NAME 255u

struct layout {
	uint64_t l1_size, l1_clusters, rt_clusters, rb_count, total;
};

static int check_opts(const char *path, const struct qcow2_create_opts *o, unsigned *cbits,
		      unsigned *rorder)
{
	uint32_t cs = o->cluster_size ? o->cluster_size : 65536;
	unsigned rb = o->refcount_bits ? o->refcount_bits : 16;
	int version = o->version ? o->version : 3;

	*cbits = (unsigned)__builtin_ctz(cs);
	*rorder = (unsigned)__builtin_ctz(rb);
	if (cs & (cs - 1) || *cbits < QCOW2_MIN_CLUSTER_BITS || *cbits > QCOW2_MAX_CLUSTER_BITS) {
		log_error("qcow2: %s: cluster size %u must be a power of two from 512 to 2M", path,
			  cs);
		return -EINVAL;
	}
	if (rb & (rb - 1) || rb > 64) {
		log_error("qcow2: %s: refcount bits %u must be a power of two up to 64", path, rb);
		return -EINVAL;
	}
	if (version != 2 && version != 3) {
		log_error("qcow2: %s: version %d is not 2 or 3", path, version);
		return -EINVAL;
	}
	if (version == 2 && (rb != 16 || o->extended_l2 || o->zstd)) {
		log_error("qcow2: %s: compat 0.10 needs refcount_bits=16, no extended L2, zlib",
			  path);
		return -EINVAL;
	}
	if (o->extended_l2 && cs < 16384) {
		log_error("qcow2: %s: extended L2 entries need a cluster size of at least 16K",
			  path);
		return -EINVAL;
	}
	if (o->size > (1ull << 61)) {
		log_error("qcow2: %s: image size too large", path);
		return -EINVAL;
	}
	if (o->backing && strlen(o->backing) > 1023) {
		log_error("qcow2: %s: backing file name longer than 1023 bytes", path);
		return -ENAMETOOLONG;
	}
	/* The header, its extensions and the backing name are built in a
	 * 4 KiB buffer before their length is compared with the cluster. */
	if (o->backing_fmt && strlen(o->backing_fmt) > QCOW2_MAX_FORMAT_NAME) {
		log_error("qcow2: %s: backing format name longer than %u bytes", path,
			  QCOW2_MAX_FORMAT_NAME);
		return -ENAMETOOLONG;
	}
	return 0;
}

static void plan(uint64_t size, unsigned cbits, unsigned rorder, bool ext_l2, struct layout *l)
{
	uint64_t cs = 1ull << cbits;
	uint64_t per_l2 = cs << (cbits - (ext_l2 ? 4 : 3));
	uint64_t rb_entries = 1ull << (cbits + 3 - rorder);

	l->l1_size = qcow2_div_round_up(size, per_l2);
	l->l1_clusters = l->l1_size ? qcow2_div_round_up(l->l1_size * 8, cs) : 1;
	l->rt_clusters = 1;
	l->rb_count = 1;
	for (;;) {
		l->total = 1 + l->rt_clusters + l->rb_count + l->l1_clusters;
		uint64_t rb = qcow2_div_round_up(l->total, rb_entries);
		uint64_t rt = qcow2_div_round_up(rb * 8, cs);
		if (rb <= l->rb_count && rt <= l->rt_clusters)
			break;
		l->rb_count = rb > l->rb_count ? rb : l->rb_count;
		l->rt_clusters = rt > l->rt_clusters ? rt : l->rt_clusters;
	}
}

static void put_ext(uint8_t *hc, size_t *pos, uint32_t type, const void *data, uint32_t len)
{
	uint32_t t = htobe32(type), n = htobe32(len);

	memcpy(hc + *pos, &t, 4);
	memcpy(hc + *pos + 4, &n, 4);
	memcpy(hc + *pos + 8, data, len);
	*pos += 8 + ((len + 7u) & ~7u);
}

static size_t feature_table(uint8_t *t)
{
	static const struct {
		uint8_t type, bit;
		const char *name;
	} f[] = {
	    {0, 0, "dirty bit"},	{0, 1, "corrupt bit"},	       {0, 2, "external data file"},
	    {0, 3, "compression type"}, {0, 4, "extended L2 entries"}, {1, 0, "lazy refcounts"},
	    {2, 0, "bitmaps"},		{2, 1, "raw external data"},
	};
	size_t n = sizeof(f) / sizeof(f[0]);

	memset(t, 0, n * 48);
	for (size_t i = 0; i < n; i++) {
		t[i * 48] = f[i].type;
		t[i * 48 + 1] = f[i].bit;
		strncpy((char *)t + i * 48 + 2, f[i].name, 46);
	}
	return n * 48;
}

static size_t build_header(uint8_t *hc, const struct qcow2_create_opts *o, unsigned cbits,
			   unsigned rorder, const struct layout *l)
{
	struct qcow2_disk_header h;
	int version = o->version ? o->version : 3;
	uint64_t cs = 1ull << cbits;
	size_t pos = version == 2 ? QCOW2_V2_HEADER_LEN : sizeof(h);
	uint8_t names[8 * 48];

	memset(&h, 0, sizeof(h));
	h.magic = htobe32(QCOW2_MAGIC);
	h.version = htobe32((uint32_t)version);
	h.cluster_bits = htobe32(cbits);
	h.size = htobe64(o->size);
	h.l1_size = htobe32((uint32_t)l->l1_size);
	h.refcount_table_offset = htobe64(cs);
	h.refcount_table_clusters = htobe32((uint32_t)l->rt_clusters);
	h.l1_table_offset = htobe64((1 + l->rt_clusters + l->rb_count) * cs);
	if (version == 3) {
		uint64_t inc = (o->zstd ? QCOW2_INCOMPAT_COMPRESSION : 0) |
			       (o->extended_l2 ? QCOW2_INCOMPAT_EXTL2 : 0);
		h.incompatible_features = htobe64(inc);
		h.refcount_order = htobe32(rorder);
		h.header_length = htobe32(sizeof(h));
		h.compression_type = o->zstd ? 1 : 0;
	}
	if (o->backing_fmt && o->backing_fmt[0])
		put_ext(hc, &pos, QCOW2_EXT_BACKING_FMT, o->backing_fmt,
			(uint32_t)strlen(o->backing_fmt));
	size_t blen = o->backing ? strlen(o->backing) : 0;
	/* The feature-name table is optional: only where it fits (512 B clusters). */
	if (version == 3 && pos + 8 + sizeof(names) + 8 + blen <= cs)
		put_ext(hc, &pos, QCOW2_EXT_FEATURE_NAMES, names, (uint32_t)feature_table(names));
	pos += 8; /* end-of-extensions marker: zeros */
	if (o->backing) {
		h.backing_file_offset = htobe64(pos);
		h.backing_file_size = htobe32((uint32_t)strlen(o->backing));
		memcpy(hc + pos, o->backing, strlen(o->backing));
		pos += strlen(o->backing);
	}
	memcpy(hc, &h, version == 2 ? QCOW2_V2_HEADER_LEN : sizeof(h));
	return pos;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
		    pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Refcount table + blocks: every metadata cluster of the new image has refcount 1. */
static int write_refcounts(int fd, unsigned cbits, unsigned rorder, const struct layout *l)
{
	uint64_t cs = 1ull << cbits, rb_entries = 1ull << (cbits + 3 - rorder);
	size_t rt_len = (size_t)(l->rt_clusters * cs), rb_len = (size_t)(l->rb_count * cs);
	uint64_t *rt = calloc(1, rt_len);
	uint8_t *rb = calloc(1, rb_len);
	int ret;

	if (!rt || !rb) {
		free(rt);
		free(rb);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < l->rb_count; i++)
		rt[i] = htobe64((1 + l->rt_clusters + i) * cs);
	for (uint64_t c = 0; c < l->total; c++)
		qcow2_rb_entry_set(rb + (c / rb_entries) * cs, c % rb_entries, rorder, 1);
	ret = write_all(fd, rt, rt_len, cs);
	if (!ret)
		ret = write_all(fd, rb, rb_len, (1 + l->rt_clusters) * cs);
	free(rt);
	free(rb);
	return ret;
}

int qcow2_create(const char *path, const struct qcow2_create_opts *o)
{
	unsigned cbits, rorder;
	struct layout l;
	uint8_t *hc;
	int fd, ret = check_opts(path, o, &cbits, &rorder);

	if (ret)
		return ret;
	plan(o->size, cbits, rorder, o->extended_l2, &l);
	/* What qcow2_open() would refuse must not be created. */
	if (l.l1_size > QCOW2_MAX_L1_BYTES / 8) {
		log_error("qcow2: %s: size too large for %u-byte clusters (L1 table over %u MiB)",
			  path, 1u << cbits, QCOW2_MAX_L1_BYTES >> 20);
		return -EFBIG;
	}
	uint64_t cs = 1ull << cbits;
	hc = calloc(1, cs < 4096 ? 4096 : cs);
	if (!hc)
		return -ENOMEM;
	size_t hlen = build_header(hc, o, cbits, rorder, &l);
	if (hlen > cs) {
		log_error("qcow2: %s: header does not fit in one %llu-byte cluster", path,
			  (unsigned long long)cs);
		free(hc);
		return -EINVAL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		log_error("qcow2: %s: cannot create: %s", path, strerror(-ret));
		free(hc);
		return ret;
	}
	ret = write_all(fd, hc, cs, 0);
	if (!ret)
		ret = write_refcounts(fd, cbits, rorder, &l);
	if (!ret && ftruncate(fd, (off_t)(l.total * cs)) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		log_error("qcow2: %s: writing the new image: %s", path, strerror(-ret));
	close(fd);
	free(hc);
	return ret;
}
