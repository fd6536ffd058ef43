/* virtio-blk internals shared by blk.c (device), blk_req.c (request
 * parsing and synchronous execution) and blk_io.c (the I/O thread). */
#ifndef MINIVMM_VIRTIO_BLK_INTERNAL_H
#define MINIVMM_VIRTIO_BLK_INTERNAL_H

#include "devices/virtio/blk.h"
#include "devices/virtio/ratelimit.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

/* header + data + status */
#define VBLK_MAX_BUFFERS (VBLK_SEG_MAX + 2)

enum blk_op { BLK_OP_NONE, BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_SYNC };

struct vblk_queue;

struct blk_req {
	struct vblk *b;
	struct vblk_queue *q;		/* the queue the chain came from */
	struct virtq_chain chain;
	struct virtq_seg seg[VBLK_MAX_BUFFERS];
	struct iovec iov[VBLK_MAX_BUFFERS];	/* data part only */
	int iovcnt;
	volatile uint8_t *status;	/* NULL: the chain has nowhere to put it */
	enum blk_op op;
	uint8_t result;			/* status decided while parsing */
	uint32_t type;
	uint64_t off, len;		/* byte range of IN/OUT */
	uint32_t written;		/* bytes written into guest data buffers */
	/* Discard/write-zeroes: the ranges, copied out of guest memory once
	 * and checked on the copy (the guest may change its own). */
	struct virtio_blk_discard_write_zeroes dwz[VBLK_DWZ_SEG_MAX];
	unsigned ndwz;
};

struct blk_io;

/* One request queue: its ring and the requests taken from it. */
struct vblk_queue {
	struct vblk *b;
	unsigned index;
	struct virtq *vq;
	bool active;			/* enabled by the driver at DRIVER_OK */
	/* One request per queue entry, allocated when the queue is first
	 * used. Free ones are a stack of indices kept apart from the requests
	 * (~9 KiB each), so a request's pages are touched only once it is
	 * used: at queue depth 1 one or two of them, not all 256. */
	struct blk_req *reqs;
	uint16_t free_idx[VBLK_QUEUE_SIZE];
	unsigned nfree;
	unsigned inflight;
};

struct vblk {
	struct disk *disk;
	char name[32];
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	uint64_t offered;
	uint64_t features;
	struct virtio_hooks hooks;
	bool force_sync;
	int poll_us;
	unsigned nq;
	struct vblk_queue q[VBLK_MAX_QUEUES];
	bool started;
	bool reset_requested;		/* needs_reset already raised */
	struct ratelimit rl;
	struct blk_io *io;		/* NULL: no thread (vblk_process) */
	struct {
		_Atomic uint64_t requests, completed, errors, unsupported, notifies, broken_rings;
		_Atomic uint64_t inline_reads, inline_rw, nowait_misses, polls_hit, mapped, barriers;
		_Atomic uint64_t rd_reqs, rd_bytes, wr_reqs, wr_bytes, flush_reqs;
	} stats;
};

/* i over the queues the driver enabled. */
#define for_each_active(b, i) \
	for (unsigned i = 0; i < (b)->nq; i++) \
		if ((b)->q[i].active)

/* blk_req.c */
/* Decide what a popped chain asks for: sets r->op (NONE: r->result is the
 * final status), r->iov/off/len for I/O. Logs guest errors rate-limited. */
void blk_req_parse(struct vblk *b, struct blk_req *r);
/* Run r->op with the disk's synchronous ops; sets r->result. */
void blk_req_exec_sync(struct blk_req *r);
/* Turn an I/O result (0 / -errno) into the status. */
void blk_req_set_io_result(struct blk_req *r, int err);
/* Write the status byte, give the chain back; the request is freed. */
void blk_req_complete(struct blk_req *r);

/* blk.c */
struct blk_req *blk_req_alloc(struct vblk_queue *q);
void blk_req_free(struct blk_req *r);
/* Raise needs_reset once. */
void blk_ring_broken(struct vblk *b);
void blk_maybe_notify(struct vblk_queue *q);
/* Requests taken from all queues and not given back yet. */
unsigned blk_inflight(const struct vblk *b);

/* blk_io.c */
int blk_io_start(struct vblk *b, const int *kick_fds);
void blk_io_stop(struct vblk *b);

/* blk_sync.c */
/* Pop one chain from q; NULL if none, no request free (*stalled), or the
 * ring broke (*broken, needs_reset raised). */
struct blk_req *blk_next_request(struct vblk_queue *q, bool *broken, bool *stalled);
/* Drain every active queue synchronously; completed count or -EIO. */
int blk_drain_sync(struct vblk *b);
/* The thread's loop without io_uring: kick_fds[i] for each queue, until
 * stop_fd is readable. */
void blk_sync_serve(struct vblk *b, const int *kick_fds, int stop_fd);

#endif
