/* Disk backends under virtio-blk: an image format (raw, qcow2) behind one
 * ops table, plus image locking and format
 * detection shared by all formats.
 *
 * Offsets and lengths passed to the ops are already checked against
 * disk->size by the caller (virtio-blk); backends still refuse anything
 * past the end. All ops return 0 or -errno and report their own errors. */
#ifndef MINIVMM_DISK_H
#define MINIVMM_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum disk_format { DISK_FORMAT_AUTO, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 };

struct disk_opts {
	const char *path;
	enum disk_format format;	/* AUTO probes the header */
	bool readonly;
	bool direct;			/* O_DIRECT: bypass the host page cache */
};

struct disk;

struct disk_ops {
	const char *format;
	/* Transfer all of iov at off: short transfers are retried or become
	 * errors; reads past the end of the file give zeros. */
	int (*preadv)(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
	int (*pwritev)(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
	/* Data and metadata on stable storage (fdatasync). */
	int (*flush)(struct disk *d);
	/* A hint: may do nothing. */
	int (*discard)(struct disk *d, uint64_t off, uint64_t len);
	/* Afterwards the range reads as zeros; may_unmap allows deallocation. */
	int (*write_zeroes)(struct disk *d, uint64_t off, uint64_t len, bool may_unmap);
	void (*close)(struct disk *d);
	/* Optional: the file descriptor on which guest offset X is file offset
	 * X (raw images), so the I/O thread can submit reads, writes, fsync and
	 * fallocate to io_uring itself. NULL: the I/O thread uses the ops. */
	int (*passthrough_fd)(struct disk *d);
	/* Optional (formats with metadata: qcow2): where the guest range
	 * [off, off+len) lives. 1: all of it is at *host_off in file *fd, and
	 * for 'write' may be written there in place, so the I/O thread does
	 * the data I/O itself; 0: use the ops (zeros, backing file, compressed,
	 * allocation or copy-on-write, extent split); -errno (logged). The
	 * answer holds until the next pwritev/discard/write_zeroes op, which
	 * the caller must not run while its own I/O on the disk is in flight. */
	int (*map)(struct disk *d, uint64_t off, uint64_t len, bool write, int *fd,
		   uint64_t *host_off);
};

/* Backends fill this in; the fields are read-only for everyone else. */
struct disk {
	const struct disk_ops *ops;
	char *path;
	int fd;			/* the image file, locked */
	uint64_t size;		/* guest-visible bytes */
	uint32_t block_size;	/* logical block size offered to the guest */
	bool readonly;
	bool direct;
	bool format_probed;	/* raw by probing: refuse writes that forge a header */
	void *priv;		/* the backend's state */
};

/* Open, lock and probe an image. Errors are logged with the file name:
 * missing file, locked by another process, unknown or unbuilt format. */
int disk_open(const struct disk_opts *opts, struct disk **out);
void disk_close(struct disk *d);

/* Parse "FILE[,readonly][,format=raw|qcow2][,direct]" (the --disk option).
 * opts->path points into 'spec', which must outlive opts. 0 or -EINVAL. */
int disk_opts_parse(char *spec, struct disk_opts *opts);

/* The format named by the first bytes of an image: QCOW2 for "QFI\xfb",
 * RAW otherwise (including files shorter than the magic). -errno on a read
 * error. */
int disk_probe_format(int fd, const char *path);

/* QEMU-compatible OFD byte-range locks (image bytes 100..203): writable
 * takes the consistent-read, write and resize permissions and refuses to
 * share write/resize; read-only takes consistent-read and refuses to share
 * write/resize (as for backing files). -EBUSY (logged, naming the file) if
 * another process holds a conflicting lock. Released by closing fd. */
int disk_lock_image(int fd, const char *path, bool writable);

/* True if writing iov at off would put a format magic at the start of a
 * raw image that was probed (it would be opened as qcow2 next time). */
bool disk_write_forges_header(const struct disk *d, uint64_t off,
			      const struct iovec *iov, int iovcnt);

/* For backends: common open of the file and the struct (path copied). */
int disk_raw_open(struct disk *d);
/* The qcow2 backend (disk_qcow2.c, on the qcow2/ engine): opens
 * the engine on d->path (already open and locked in d->fd), locks every
 * backing file read-only, fills ops/size. 0 or -errno (logged). */
int disk_qcow2_open(struct disk *d);

#endif
