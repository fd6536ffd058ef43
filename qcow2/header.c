/* qcow2 header: parsing and validation of every field, header extensions,
 * open/close, info. */
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void header_to_host(struct qcow2_disk_header *h)
{
	h->magic = be32toh(h->magic);
	h->version = be32toh(h->version);
	h->backing_file_offset = be64toh(h->backing_file_offset);
	h->backing_file_size = be32toh(h->backing_file_size);
	h->cluster_bits = be32toh(h->cluster_bits);
	h->size = be64toh(h->size);
	h->crypt_method = be32toh(h->crypt_method);
	h->l1_size = be32toh(h->l1_size);
	h->l1_table_offset = be64toh(h->l1_table_offset);
	h->refcount_table_offset = be64toh(h->refcount_table_offset);
	h->refcount_table_clusters = be32toh(h->refcount_table_clusters);
	h->nb_snapshots = be32toh(h->nb_snapshots);
	h->snapshots_offset = be64toh(h->snapshots_offset);
	h->incompatible_features = be64toh(h->incompatible_features);
	h->compatible_features = be64toh(h->compatible_features);
	h->autoclear_features = be64toh(h->autoclear_features);
	h->refcount_order = be32toh(h->refcount_order);
	h->header_length = be32toh(h->header_length);
}

static int bad(struct qcow2 *q, const char *msg, unsigned long long val)
{
	log_error("qcow2: %s: %s (0x%llx)", q->name, msg, val);
	return -EINVAL;
}

static int check_geometry(struct qcow2 *q, const struct qcow2_disk_header *h)
{
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return bad(q, "unsupported cluster_bits", h->cluster_bits);
	q->cluster_bits = h->cluster_bits;
	q->cluster_size = 1u << h->cluster_bits;
	if (q->version == 2) {
		q->refcount_order = 4;
		q->header_length = QCOW2_V2_HEADER_LEN;
	} else {
		if (h->refcount_order > 6)
			return bad(q, "refcount_order above 6", h->refcount_order);
		if (h->header_length < QCOW2_V3_HEADER_LEN || h->header_length > q->cluster_size ||
		    h->header_length % 8)
			return bad(q, "invalid header_length", h->header_length);
		q->refcount_order = h->refcount_order;
		q->header_length = h->header_length;
	}
	q->extended_l2 = q->incompat & QCOW2_INCOMPAT_EXTL2;
	if (q->extended_l2 && q->cluster_bits < 14)
		return bad(q, "extended L2 entries need clusters of at least 16 KiB",
			   q->cluster_size);
	q->l2_entry_bytes = q->extended_l2 ? 16 : 8;
	q->l2_bits = q->cluster_bits - (q->extended_l2 ? 4 : 3);
	q->l2_entries = 1u << q->l2_bits;
	q->subcluster_bits = q->extended_l2 ? q->cluster_bits - 5 : q->cluster_bits;
	q->refblock_bits = q->cluster_bits + 3 - q->refcount_order;
	q->refblock_entries = 1ull << q->refblock_bits;
	q->csize_shift = 62 - (q->cluster_bits - 8);
	q->csize_mask = (1ull << (q->cluster_bits - 8)) - 1;
	q->coffset_mask = (1ull << q->csize_shift) - 1;
	return 0;
}

static int check_tables(struct qcow2 *q, const struct qcow2_disk_header *h)
{
	uint64_t cs = q->cluster_size;
	uint64_t per_l2 = (uint64_t)cs << q->l2_bits; /* guest bytes per L2 table */

	q->size = h->size;
	if (h->size > (1ull << 61))
		return bad(q, "virtual size too large", h->size);
	if (h->l1_size > QCOW2_MAX_L1_BYTES / 8)
		return bad(q, "L1 table too large", h->l1_size);
	if (qcow2_div_round_up(h->size, per_l2) > h->l1_size)
		return bad(q, "L1 table too small for the virtual size", h->l1_size);
	if (h->l1_size && (h->l1_table_offset % cs || h->l1_table_offset == 0))
		return bad(q, "L1 table offset invalid", h->l1_table_offset);
	if (h->l1_size &&
	    qcow2_check_extent(q, h->l1_table_offset, (uint64_t)h->l1_size * 8, "L1 table"))
		return -EINVAL;
	if (h->refcount_table_offset % cs || h->refcount_table_offset == 0)
		return bad(q, "refcount table offset invalid", h->refcount_table_offset);
	if (h->refcount_table_clusters == 0 ||
	    (uint64_t)h->refcount_table_clusters * cs > QCOW2_MAX_REFTABLE_BYTES)
		return bad(q, "refcount table size invalid", h->refcount_table_clusters);
	if (qcow2_check_extent(q, h->refcount_table_offset,
			       (uint64_t)h->refcount_table_clusters * cs, "refcount table"))
		return -EINVAL;
	if (h->nb_snapshots && (h->snapshots_offset % cs || h->snapshots_offset == 0))
		return bad(q, "snapshot table offset invalid", h->snapshots_offset);
	q->l1_size = h->l1_size;
	q->l1_offset = h->l1_table_offset;
	q->reftable_offset = h->refcount_table_offset;
	q->reftable_clusters = h->refcount_table_clusters;
	q->nb_snapshots = h->nb_snapshots;
	q->snapshots_offset = h->snapshots_offset;
	return 0;
}

/* Find the name of incompatible feature BIT in the feature-name table. */
static void feature_name(const uint8_t *ext, uint32_t len, unsigned bit, char *out, size_t outlen)
{
	snprintf(out, outlen, "unknown");
	for (uint32_t i = 0; i + 48 <= len; i += 48) {
		if (ext[i] == 0 && ext[i + 1] == bit) {
			snprintf(out, outlen, "%.46s", (const char *)ext + i + 2);
			return;
		}
	}
}

static int check_incompat(struct qcow2 *q, const uint8_t *names, uint32_t names_len)
{
	uint64_t unknown = q->incompat & ~QCOW2_INCOMPAT_SUPPORTED;
	char name[64];

	if (q->incompat & QCOW2_INCOMPAT_DATA_FILE) {
		log_error(
		    "qcow2: %s: incompatible feature bit 2 (external data file) is not supported",
		    q->name);
		return -ENOTSUP;
	}
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(unknown & (1ull << bit)))
			continue;
		feature_name(names, names_len, bit, name, sizeof(name));
		log_error("qcow2: %s: unsupported incompatible feature bit %u (%s)", q->name, bit,
			  name);
		return -ENOTSUP;
	}
	if (!!(q->incompat & QCOW2_INCOMPAT_COMPRESSION) != (q->compression_type != 0))
		return bad(q, "compression type does not match the compression feature bit",
			   q->compression_type);
	if (q->compression_type > 1)
		return bad(q, "unknown compression type", q->compression_type);
	return 0;
}

/* Walk the header extensions in the first cluster. */
static int parse_extensions(struct qcow2 *q, const uint8_t *hc, uint32_t hc_len)
{
	const uint8_t *names = NULL;
	uint32_t names_len = 0;
	uint64_t pos = q->header_length;

	while (pos + 8 <= hc_len) {
		uint32_t type, len;
		memcpy(&type, hc + pos, 4);
		memcpy(&len, hc + pos + 4, 4);
		type = be32toh(type);
		len = be32toh(len);
		pos += 8;
		if (type == QCOW2_EXT_END)
			break;
		if (len > hc_len - pos) {
			log_error("qcow2: %s: header extension 0x%x at 0x%llx overruns the header "
				  "cluster",
				  q->name, type, (unsigned long long)(pos - 8));
			return -EINVAL;
		}
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len >= sizeof(q->backing_fmt))
				return bad(q, "backing format name too long", len);
			memcpy(q->backing_fmt, hc + pos, len);
			q->backing_fmt[len] = '\0';
		} else if (type == QCOW2_EXT_FEATURE_NAMES) {
			names = hc + pos;
			names_len = len;
		} /* other extensions (bitmaps, crypto, data file name, ...) are skipped */
		pos += ((uint64_t)len + 7) & ~7ull;
	}
	return check_incompat(q, names, names_len);
}

static int read_backing_name(struct qcow2 *q, const struct qcow2_disk_header *h, const uint8_t *hc,
			     uint32_t hc_len)
{
	if (h->backing_file_offset == 0)
		return 0;
	if (h->backing_file_size == 0 || h->backing_file_size > 1023)
		return bad(q, "backing file name length invalid", h->backing_file_size);
	if (h->backing_file_offset > hc_len ||
	    h->backing_file_size > hc_len - h->backing_file_offset)
		return bad(q, "backing file name outside the header cluster",
			   h->backing_file_offset);
	memcpy(q->backing_file, hc + h->backing_file_offset, h->backing_file_size);
	q->backing_file[h->backing_file_size] = '\0';
	if (strlen(q->backing_file) != h->backing_file_size)
		return bad(q, "backing file name contains a NUL byte", h->backing_file_offset);
	q->has_backing = true;
	return 0;
}

static int read_u64_table(struct qcow2 *q, uint64_t off, uint64_t n, uint64_t **out,
			  const char *what)
{
	uint64_t *t = calloc(n ? n : 1, 8);
	if (!t)
		return -ENOMEM;
	int ret = n ? qcow2_pread(q, t, n * 8, off, what) : 0;
	if (ret) {
		free(t);
		return ret;
	}
	for (uint64_t i = 0; i < n; i++)
		t[i] = be64toh(t[i]);
	*out = t;
	return 0;
}

static int parse_header(struct qcow2 *q)
{
	struct qcow2_disk_header h;
	uint32_t hc_len;
	uint8_t *hc;
	int ret;

	memset(&h, 0, sizeof(h));
	if (q->file_size < QCOW2_V2_HEADER_LEN)
		return bad(q, "file too small for a qcow2 header", q->file_size);
	ret = qcow2_pread(q, &h, q->file_size < sizeof(h) ? QCOW2_V2_HEADER_LEN : sizeof(h), 0,
			  "header");
	if (ret)
		return ret;
	header_to_host(&h);
	if (h.magic != QCOW2_MAGIC)
		return bad(q, "not a qcow2 image (bad magic)", h.magic);
	if (h.version != 2 && h.version != 3)
		return bad(q, "unsupported qcow2 version", h.version);
	q->version = (int)h.version;
	if (q->version == 3) {
		if (q->file_size < QCOW2_V3_HEADER_LEN)
			return bad(q, "file too small for a v3 header", q->file_size);
		q->incompat = h.incompatible_features;
		q->compat = h.compatible_features;
		q->autoclear = h.autoclear_features;
		if (h.header_length > 104)
			q->compression_type = h.compression_type;
	}
	if (h.crypt_method != 0)
		return bad(q, "encrypted images are not supported (crypt_method)", h.crypt_method);
	if ((ret = check_geometry(q, &h)) || (ret = check_tables(q, &h)))
		return ret;

	hc_len = q->file_size < q->cluster_size ? (uint32_t)q->file_size : q->cluster_size;
	hc = malloc(hc_len);
	if (!hc)
		return -ENOMEM;
	ret = qcow2_pread(q, hc, hc_len, 0, "header cluster");
	if (!ret)
		ret = parse_extensions(q, hc, hc_len);
	if (!ret)
		ret = read_backing_name(q, &h, hc, hc_len);
	free(hc);
	if (ret)
		return ret;
	ret = read_u64_table(q, q->l1_offset, q->l1_size, &q->l1, "L1 table");
	if (ret)
		return ret;
	q->reftable_size = (uint64_t)q->reftable_clusters * q->cluster_size / 8;
	return read_u64_table(q, q->reftable_offset, q->reftable_size, &q->reftable,
			      "refcount table");
}

/* Writable open: refuse corrupt images and images we cannot update safely.
 * Reads only: the header is rewritten by update_open_bits() once nothing
 * can fail any more. */
static int check_writable(struct qcow2 *q)
{
	if (q->incompat & QCOW2_INCOMPAT_CORRUPT) {
		log_error("qcow2: %s: image is marked corrupt; refusing to open it writable "
			  "(repair it with 'img check -r all' or open read-only)",
			  q->name);
		return -EROFS;
	}
	if (q->nb_snapshots) {
		log_error("qcow2: %s: image has %u internal snapshots; writing is not supported",
			  q->name, q->nb_snapshots);
		return -ENOTSUP;
	}
	if (q->incompat & QCOW2_INCOMPAT_DIRTY) {
		/* Lazy refcounts were in use: only continue if the refcounts are right. */
		struct qcow2_check_result r;
		int ret =
		    qcow2_check_flags(q->path, QCOW2_O_SHARED, &r, false); /* we hold the lock */
		if (ret)
			return ret;
		if (r.corruptions) {
			log_error("qcow2: %s: image is dirty and its refcounts are inconsistent "
				  "(%llu errors); repair it with 'img check -r all'",
				  q->name, (unsigned long long)r.corruptions);
			return -EUCLEAN;
		}
	}
	return 0;
}

/* Write the incompatible, compatible and autoclear feature words (bytes
 * 72..95) in one write; on failure put the old bytes back. */
static int write_feature_words(struct qcow2 *q, uint64_t incompat, uint64_t autoclear)
{
	uint64_t old[3] = {htobe64(q->incompat), htobe64(q->compat), htobe64(q->autoclear)};
	uint64_t new[3] = {htobe64(incompat), htobe64(q->compat), htobe64(autoclear)};
	int ret;

	if (!memcmp(old, new, sizeof(old)))
		return 0;
	ret = qcow2_pwrite(q, new, sizeof(new), QCOW2_HDR_OFF_INCOMPAT, "header");
	if (ret) {
		(void)qcow2_pwrite(q, old, sizeof(old), QCOW2_HDR_OFF_INCOMPAT, "header");
		return ret;
	}
	q->incompat = incompat;
	q->autoclear = autoclear;
	return 0;
}

/* Last step of a writable open, after everything that can fail: a dirty
 * image found consistent is cleaned, autoclear bits we do not maintain
 * (bitmaps, raw data file) are cleared, and images with lazy_refcounts
 * keep the dirty bit set while open, like QEMU (our refcounts are written
 * eagerly, so after a crash the next open's check passes). */
static int update_open_bits(struct qcow2 *q, bool repair)
{
	uint64_t incompat = q->incompat, autoclear = q->autoclear;
	bool lazy = q->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;

	if (q->version < 3)
		return 0;
	if (!repair) {
		incompat &= ~QCOW2_INCOMPAT_DIRTY;
		autoclear = 0;
	}
	if (lazy)
		incompat |= QCOW2_INCOMPAT_DIRTY;
	int ret = write_feature_words(q, incompat, autoclear);
	if (!ret)
		q->set_dirty = lazy;
	return ret;
}

/* Clear the dirty bit we set (clean close). */
static int clear_dirty(struct qcow2 *q)
{
	uint64_t v = q->incompat & ~QCOW2_INCOMPAT_DIRTY;
	uint64_t be = htobe64(v);
	int ret = qcow2_pwrite(q, &be, 8, QCOW2_HDR_OFF_INCOMPAT, "header");

	if (!ret) {
		q->incompat = v;
		q->set_dirty = false;
	}
	return ret;
}

static int setup_runtime(struct qcow2 *q, const struct qcow2_open_opts *o)
{
	size_t l2c = o && o->l2_cache_bytes ? o->l2_cache_bytes : 4u << 20;
	size_t rbc = o && o->refcount_cache_bytes ? o->refcount_cache_bytes : 1u << 20;
	/* Default: 2 MiB of decompressed clusters (32 x 64 KiB), 2..64 slots
	 * (lookups scan the slots). */
	unsigned dc = o && o->decomp_cache_clusters
			  ? o->decomp_cache_clusters
			  : (q->cluster_size >= (1u << 20) ? 2 : (2u << 20) / q->cluster_size);
	if (dc > 64)
		dc = 64;

	q->l2_cache = qcow2_cache_new(l2c, q->cluster_size);
	q->rb_cache = qcow2_cache_new(rbc, q->cluster_size);
	q->dcache = qcow2_dcache_new(dc, q->cluster_size);
	if (!q->l2_cache || !q->rb_cache || !q->dcache)
		return -ENOMEM;
	q->alloc_end = qcow2_div_round_up(q->file_size, q->cluster_size);
	q->free_hint = 1;
	return 0;
}

int qcow2_open_internal(const char *path, const struct qcow2_open_opts *opts, int depth,
			const dev_t *devs, const ino_t *inos, struct qcow2 **out)
{
	unsigned flags = opts ? opts->flags : 0;
	struct qcow2 *q = calloc(1, sizeof(*q));
	struct stat st;
	int ret;

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	q->fd = -1;
	q->backing.raw_fd = -1;
	q->path = strdup(path);
	if (!q->path) {
		qcow2_free(q);
		return -ENOMEM;
	}
	q->name = q->path;
	q->writable = flags & QCOW2_O_RDWR;
	q->powersafe = flags & QCOW2_O_POWERSAFE;
	q->shared = flags & QCOW2_O_SHARED;
	q->fd = open(path, (q->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (q->fd < 0 || fstat(q->fd, &st) < 0) {
		ret = -errno;
		log_error("qcow2: %s: cannot open: %s", path, strerror(-ret));
		qcow2_free(q);
		return ret;
	}
	q->file_size = (uint64_t)st.st_size;
	q->dev = st.st_dev;
	q->ino = st.st_ino;
	ret = flags & QCOW2_O_SHARED ? 0 : qcow2_lock(q);
	if (!ret)
		ret = parse_header(q);
	if (!ret && q->writable && !(flags & QCOW2_O_REPAIR))
		ret = check_writable(q);
	if (!ret)
		ret = setup_runtime(q, opts);
	if (!ret && q->has_backing && !(flags & QCOW2_O_NO_BACKING))
		ret = qcow2_backing_open(q, depth, devs, inos);
	/* The first write to the image: nothing after it can fail, so a
	 * failed open leaves the file as it was. */
	if (!ret && q->writable)
		ret = update_open_bits(q, flags & QCOW2_O_REPAIR);
	if (ret) {
		qcow2_free(q);
		return ret;
	}
	*out = q;
	return 0;
}

int qcow2_open(const char *path, const struct qcow2_open_opts *opts, struct qcow2 **out)
{
	return qcow2_open_internal(path, opts, 0, NULL, NULL, out);
}

void qcow2_free(struct qcow2 *q)
{
	qcow2_backing_close(q);
	if (q->fd >= 0)
		close(q->fd);
	qcow2_cache_free(q->l2_cache);
	qcow2_cache_free(q->rb_cache);
	qcow2_dcache_free(q->dcache);
	free(q->l1);
	free(q->reftable);
	free(q->backing_path);
	free(q->path);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int qcow2_flush(struct qcow2 *q)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->writable && fdatasync(q->fd) < 0) {
		ret = -errno;
		log_error("qcow2: %s: fdatasync: %s", q->name, strerror(-ret));
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int qcow2_close(struct qcow2 *q)
{
	int ret;

	if (!q)
		return 0;
	ret = qcow2_flush(q);
	if (!ret && q->set_dirty && q->writable) {
		ret = clear_dirty(q);
		if (!ret && fdatasync(q->fd) < 0)
			ret = -errno;
	}
	qcow2_free(q);
	return ret;
}

int qcow2_fd(const struct qcow2 *q) { return q->fd; }

void qcow2_get_info(struct qcow2 *q, struct qcow2_info *info)
{
	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&q->lock);
	info->virtual_size = q->size;
	info->file_size = q->file_size;
	info->cluster_size = q->cluster_size;
	info->version = q->version;
	info->refcount_bits = 1u << q->refcount_order;
	info->extended_l2 = q->extended_l2;
	info->lazy_refcounts = q->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
	info->corrupt = q->incompat & QCOW2_INCOMPAT_CORRUPT;
	info->dirty = q->incompat & QCOW2_INCOMPAT_DIRTY;
	info->compression = q->compression_type ? "zstd" : "zlib";
	snprintf(info->backing_file, sizeof(info->backing_file), "%s", q->backing_file);
	snprintf(info->backing_format, sizeof(info->backing_format), "%s", q->backing_fmt);
	if (q->has_backing) {
		char *full =
		    q->backing_path ? NULL : qcow2_resolve_backing(q->path, q->backing_file);
		snprintf(info->backing_full, sizeof(info->backing_full), "%s",
			 q->backing_path ? q->backing_path
			 : full		 ? full
					 : "");
		free(full);
	}
	info->nb_snapshots = q->nb_snapshots;
	pthread_mutex_unlock(&q->lock);
}
