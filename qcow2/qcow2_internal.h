/* Internals shared by the qcow2 engine's files. Not for other modules. */
#ifndef MINIVMM_QCOW2_INTERNAL_H
#define MINIVMM_QCOW2_INTERNAL_H

#include "qcow2/qcow2.h"

#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_SUPPORTED                                                                   \
	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION |              \
	 QCOW2_INCOMPAT_EXTL2)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

/* L1/L2 entry bits. */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9..55 */
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull /* standard clusters */
#define QCOW2_REFT_RESERVED 0x00000000000001ffull

#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_CHAIN 64
/* Internal open flag for repair: open writable despite dirty/corrupt bits. */
#define QCOW2_O_REPAIR (1u << 30)

/* On-disk header, big-endian (v3 layout; v2 stops at 72 bytes). */
struct qcow2_disk_header {
	uint32_t magic;
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	/* v3 */
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
	uint8_t padding[7];
} __attribute__((packed));
_Static_assert(sizeof(struct qcow2_disk_header) == 112, "qcow2 header is 112 bytes");
#define QCOW2_V2_HEADER_LEN 72u
#define QCOW2_V3_HEADER_LEN 104u
#define QCOW2_HDR_OFF_INCOMPAT 72
#define QCOW2_HDR_OFF_AUTOCLEAR 88
#define QCOW2_HDR_OFF_REFTABLE 48

/* A small cache of cluster-sized metadata tables (L2 tables, refcount
 * blocks), write-through: entries are never dirty. */
struct qcow2_cache;

/* The backing file: a qcow2 image or a raw file. */
struct qcow2_backing {
	struct qcow2 *qcow2; /* NULL for raw */
	int raw_fd;
	uint64_t size;
};

struct qcow2_dcache; /* decompressed clusters */

struct qcow2 {
	pthread_mutex_t lock;
	char *path;
	const char *name; /* for messages: the path as given */
	int fd;
	bool writable;
	dev_t dev;
	ino_t ino;

	/* Header, host-endian and validated. */
	int version;
	unsigned cluster_bits;
	uint32_t cluster_size;
	uint64_t size;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t reftable_offset;
	uint32_t reftable_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompat, compat, autoclear;
	unsigned refcount_order;
	uint32_t header_length;
	uint8_t compression_type; /* 0 zlib, 1 zstd */
	bool extended_l2;

	/* Derived geometry. */
	unsigned l2_entry_bytes; /* 8 or 16 */
	unsigned l2_bits;	 /* log2(entries per L2 table) */
	uint32_t l2_entries;
	unsigned subcluster_bits; /* log2(subcluster size) */
	uint64_t refblock_entries;
	unsigned refblock_bits;
	unsigned csize_shift; /* compressed descriptor: 62 - (cluster_bits - 8) */
	uint64_t csize_mask;
	uint64_t coffset_mask;

	uint64_t *l1;		/* host-endian copy of the L1 table */
	uint64_t *reftable;	/* host-endian copy of the refcount table */
	uint64_t reftable_size; /* entries */

	uint64_t file_size; /* bytes, kept up to date as we extend */
	uint64_t alloc_end; /* clusters: everything at or beyond is free */
	uint64_t free_hint; /* clusters: no free cluster below this */

	struct qcow2_cache *l2_cache;
	struct qcow2_cache *rb_cache;
	struct qcow2_dcache *dcache;

	char backing_file[1024];
	char backing_fmt[32];
	char *backing_path; /* resolved */
	struct qcow2_backing backing;
	bool has_backing;
	bool set_dirty; /* we set the dirty bit and must clear it */
	bool powersafe; /* QCOW2_O_POWERSAFE */
	bool shared;	/* QCOW2_O_SHARED: no image locks */
};

/* ---- io helpers (header.c) ---- */
int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off, const char *what);
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off, const char *what);
/* Is [off, off+len) inside the file? Logs "WHAT at 0x.. beyond end of file" if not. */
/* With QCOW2_O_POWERSAFE: make everything written so far durable before the
 * next metadata stage; a no-op otherwise (kill -9 needs only write order). */
int qcow2_barrier(struct qcow2 *q);
/* 0 if writes are allowed, else -EROFS with a message. */
int qcow2_writable_check(struct qcow2 *q);
/* Take QEMU's OFD byte-range image locks for our access mode; -EBUSY (logged)
 * if another process holds a conflicting one. */
int qcow2_lock(struct qcow2 *q);
/* qcow2_check with extra open flags (used from inside a writable open). */
int qcow2_check_flags(const char *path, unsigned flags, struct qcow2_check_result *res,
		      bool verbose);
int qcow2_check_extent(struct qcow2 *q, uint64_t off, uint64_t len, const char *what);
int qcow2_open_internal(const char *path, const struct qcow2_open_opts *opts, int depth,
			const dev_t *devs, const ino_t *inos, struct qcow2 **out);
void qcow2_free(struct qcow2 *q);

/* ---- cache.c ---- */
struct qcow2_cache *qcow2_cache_new(size_t bytes, uint32_t cluster_size);
void qcow2_cache_free(struct qcow2_cache *c);
/* Returns the cached table at OFF (big-endian raw bytes), reading it if
 * needed; NULL on error (already logged). */
uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, const char *what);
/* Put a table we just wrote (so the cache does not hold stale bytes). */
void qcow2_cache_put(struct qcow2_cache *c, uint64_t off, const uint8_t *data);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);

/* ---- refcount.c ---- */
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_refcount_update(struct qcow2 *q, uint64_t cluster, int delta);
/* Set a refcount outright (repair); the block must exist. */
int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value);
/* Allocate one free cluster with refcount 1 (written through). */
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *host_off);
/* Drop one reference to each host cluster in [off, off+len). */
int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len);
uint64_t qcow2_rb_entry_get(const uint8_t *blk, uint64_t idx, unsigned order);
void qcow2_rb_entry_set(uint8_t *blk, uint64_t idx, unsigned order, uint64_t val);

/* ---- tables.c ---- */
struct qcow2_l2_ref {
	uint64_t l1_index;
	uint64_t l2_offset; /* 0 if the L2 table is not allocated */
	uint32_t l2_index;
	uint64_t entry;	 /* host-endian L2 entry (0 if no table) */
	uint64_t bitmap; /* extended L2 bitmap (0 otherwise) */
};
int qcow2_l2_lookup(struct qcow2 *q, uint64_t guest_off, struct qcow2_l2_ref *ref);
int qcow2_l2_store(struct qcow2 *q, struct qcow2_l2_ref *ref, uint64_t entry, uint64_t bitmap);
/* Make sure the L2 table for REF exists and is ours (COPIED); allocates it. */
int qcow2_l2_ensure(struct qcow2 *q, struct qcow2_l2_ref *ref);
/* Refuse (and mark the image corrupt) a write over the header, L1 table or
 * refcount table. */
int qcow2_check_overlap(struct qcow2 *q, uint64_t off, uint64_t len, const char *what);
/* Before releasing the host clusters [off, off+len) an L2 entry named: refuse
 * (and mark the image corrupt) if any of them holds metadata: the header,
 * L1 table, refcount table, an L2 table of the L1 table or a refcount block
 * (whole clusters: the refcounts that would drop are per cluster). */
int qcow2_check_release(struct qcow2 *q, uint64_t off, uint64_t len, const char *what);
int qcow2_map_locked(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_extent *ext);
/* Validate a standard L2 entry / compressed descriptor; logs. */
int qcow2_l2_entry_check(struct qcow2 *q, const struct qcow2_l2_ref *ref);
void qcow2_compressed_extent(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len);

/* ---- io.c ---- */
int qcow2_read_locked(struct qcow2 *q, uint64_t off, void *buf, size_t len);

/* ---- compress.c ---- */
struct qcow2_dcache *qcow2_dcache_new(unsigned clusters, uint32_t cluster_size);
void qcow2_dcache_free(struct qcow2_dcache *d);
/* Pointer to the decompressed guest cluster described by ENTRY, of which at
 * least the first NEED bytes are valid (NEED <= cluster size). */
const uint8_t *qcow2_decompress_cluster(struct qcow2 *q, uint64_t entry, uint32_t need);
void qcow2_dcache_invalidate(struct qcow2_dcache *d, uint64_t entry);
/* Decompress whole clusters into their DST buffers (two threads if the
 * machine has two cores). Logs and returns -EIO on the first failure. */
struct qcow2_decomp_job {
	uint64_t entry;
	uint8_t *dst;
	int err;
	uint64_t coff;
};
int qcow2_decompress_batch(struct qcow2 *q, struct qcow2_decomp_job *jobs, unsigned n);

/* ---- backing.c ---- */
int qcow2_backing_open(struct qcow2 *q, int depth, const dev_t *devs, const ino_t *inos);
void qcow2_backing_close(struct qcow2 *q);
/* Read guest bytes from the backing chain (zeros past its end / without one). */
int qcow2_backing_read(struct qcow2 *q, uint64_t off, void *buf, size_t len);
/* Resolve NAME relative to the directory of IMAGE; caller frees. */
char *qcow2_resolve_backing(const char *image, const char *name);

static inline uint64_t qcow2_div_round_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

#endif
