/* qcow2: our own qcow2 engine (no QEMU code).
 *
 * Opens v2/v3 images (any cluster size 512 B..2 MiB, refcount_bits 1..64,
 * extended L2 entries, zlib/zstd compressed clusters) with a backing chain
 * of qcow2 or raw files. Reads, copy-on-write writes, discard/write-zeroes,
 * flush. All metadata updates are written through in crash-safe order
 * (refcount up -> data -> L2 entry; L2 entry dropped -> refcount down), so a
 * killed writer leaves at most leaked clusters.
 *
 * Every public function takes the image's lock: calls on one image are
 * serialized. Functions return 0 (or a count) / -errno; errors are reported
 * once through log_error() with the file name and the offending offset. */
#ifndef MINIVMM_QCOW2_H
#define MINIVMM_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qcow2;

enum qcow2_open_flags {
	QCOW2_O_RDWR = 1 << 0,	     /* default is read-only */
	QCOW2_O_NO_BACKING = 1 << 1, /* do not open the backing file (check, fuzzing) */
	/* fdatasync between the stages of every allocation (refcount -> data ->
	 * L2 entry -> refcount drop), so that power loss, not only a killed
	 * process, leaves leaks at worst. Costs two syncs per allocation. */
	QCOW2_O_POWERSAFE = 1 << 2,
	/* Skip QEMU-compatible image locking (like qemu-img -U); by default an
	 * image another process writes (or, for writers, reads) is refused. */
	QCOW2_O_SHARED = 1 << 3,
};

struct qcow2_open_opts {
	unsigned flags;
	size_t l2_cache_bytes;		/* 0 = default (4 MiB) */
	size_t refcount_cache_bytes;	/* 0 = default (1 MiB) */
	unsigned decomp_cache_clusters; /* 0 = default (2 MiB worth, 2..64) */
};

/* Open PATH. OPTS may be NULL (read-only, default caches). */
int qcow2_open(const char *path, const struct qcow2_open_opts *opts, struct qcow2 **out);
/* Flush, clear the dirty bit if we set it, release everything. Returns the
 * flush result; Q is freed in any case. */
int qcow2_close(struct qcow2 *q);

/* Guest I/O; OFF+LEN must lie within the virtual size. */
int qcow2_read(struct qcow2 *q, uint64_t off, void *buf, size_t len);
int qcow2_write(struct qcow2 *q, uint64_t off, const void *buf, size_t len);
/* Make the range read as zeros. Whole clusters get the zero flag (v3) or are
 * deallocated (v2 without backing); partial clusters are written. With
 * QCOW2_ZERO_MAY_UNMAP whole clusters release their host clusters. */
#define QCOW2_ZERO_MAY_UNMAP 1u
int qcow2_write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len, unsigned flags);
/* Guest discard: same as write_zeroes with unmapping (the data must not
 * re-appear from a backing file). */
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len);
/* fdatasync the image (metadata was already written through). */
int qcow2_flush(struct qcow2 *q);

/* Where a guest range lives, so a block device can do data I/O itself
 * (io_uring) while the engine keeps the metadata. */
enum qcow2_map_kind {
	QCOW2_MAP_DATA,	      /* bytes at host_off in this image's file */
	QCOW2_MAP_ZERO,	      /* reads as zeros */
	QCOW2_MAP_BACKING,    /* unallocated here: read from the backing chain (or zeros if none) */
	QCOW2_MAP_COMPRESSED, /* compressed cluster: use qcow2_read() */
};

struct qcow2_extent {
	enum qcow2_map_kind kind;
	uint64_t len;	   /* bytes from the queried offset with this mapping */
	uint64_t host_off; /* QCOW2_MAP_DATA only */
	bool writable;	   /* DATA with refcount 1: guest writes may go to host_off directly */
};

/* Describe the mapping at OFF for up to LEN bytes (ext->len <= LEN, > 0).
 * The answer stays valid until the next write/discard on Q. */
int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_extent *ext);
/* The image file descriptor, for the caller's own I/O on QCOW2_MAP_DATA
 * extents: reads anywhere in them; writes only where ext.writable (the
 * cluster belongs to this image alone). Everything else (BACKING, ZERO,
 * COMPRESSED reads; writes to non-writable ranges, discards) goes through
 * qcow2_read()/qcow2_write()/qcow2_discard(), which do the copy-on-write and
 * metadata updates. The caller must not overlap its own in-flight I/O on a
 * range with an engine call that changes that range's mapping. */
int qcow2_fd(const struct qcow2 *q);

struct qcow2_info {
	uint64_t virtual_size;
	uint64_t file_size;
	uint32_t cluster_size;
	int version; /* 2 or 3 */
	unsigned refcount_bits;
	bool extended_l2;
	bool lazy_refcounts;
	bool corrupt;
	bool dirty;
	const char *compression; /* "zlib" or "zstd" */
	char backing_file[1024]; /* as stored in the image ("" if none) */
	char backing_format[32]; /* from the extension ("" if absent) */
	char backing_full[4096]; /* resolved path ("" if none) */
	uint32_t nb_snapshots;
};
void qcow2_get_info(struct qcow2 *q, struct qcow2_info *info);

/* Create a new image. backing/backing_fmt may be NULL. size 0 with a backing
 * file means "the backing file's size" (the caller resolves it). */
struct qcow2_create_opts {
	uint64_t size;
	uint32_t cluster_size;	/* 0 = 64 KiB */
	int version;		/* 0 = 3 */
	unsigned refcount_bits; /* 0 = 16 */
	bool extended_l2;
	bool zstd;
	const char *backing;
	const char *backing_fmt;
};
int qcow2_create(const char *path, const struct qcow2_create_opts *opts);

/* Consistency check like `qemu-img check` (read-only). */
struct qcow2_check_result {
	uint64_t corruptions;
	uint64_t leaks;
	uint64_t allocated_clusters; /* guest clusters with data here */
	uint64_t total_clusters;     /* guest clusters */
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset;
	/* Errors of the check itself, as qemu-img's check-errors: refcounts
	 * that could not be read (an unaligned refcount block, an I/O error).
	 * Non-zero means the counts above are incomplete (exit status 1). */
	uint64_t check_errors;
};
/* Returns 0 when the check ran (see the counts), -errno when it could not. */
int qcow2_check(const char *path, struct qcow2_check_result *res, bool verbose);

/* Like `qemu-img check -r`: LEAKS lowers refcounts that are too high, ALL
 * also raises those that are too low (e.g. a dirty lazy-refcounts image),
 * then clears the dirty (and, if clean, corrupt) bit and checks again.
 * BEFORE gets the first check, AFTER the second. */
enum qcow2_repair { QCOW2_REPAIR_LEAKS = 1, QCOW2_REPAIR_ALL = 2 };
int qcow2_repair(const char *path, enum qcow2_repair mode, struct qcow2_check_result *before,
		 struct qcow2_check_result *after, bool verbose);

#endif
