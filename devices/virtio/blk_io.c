/* The per-disk I/O thread: kicks arrive on an eventfd, requests go to
 * io_uring in batches (one submit per loop), completions are reaped in
 * batches and the driver is interrupted at most once per batch. Without
 * io_uring (or with force_sync) the thread polls the eventfd and runs
 * requests synchronously.
 *
 * Low queue depth: reads that hit the page cache are done at once with
 * preadv2(RWF_NOWAIT) (a miss goes to io_uring, and further tries back
 * off); after each round the thread polls the ring with kicks suppressed
 * for an adaptive window (poll_for_work) before re-enabling kicks, checking
 * the ring again and sleeping.
 *
 * qcow2 (disk ops with map()): data of allocated clusters moves through
 * io_uring on the image file; engine calls that may change a mapping
 * (writes that allocate or copy, discard, write-zeroes) wait until no
 * request of ours is in flight ("barrier"), so no in-flight I/O ever uses
 * a stale mapping, and mappings are taken only while no such call runs
 * (it runs on this thread). Engine reads need no barrier. */
#include "devices/virtio/blk_internal.h"

#include "devices/virtio/disk.h"
#include "vmm/log.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TAG_KICK 1
#define TAG_STOP 2
#define TAG_CANCEL 3

#define NOWAIT_MAX_BYTES (64u << 10)	/* reads tried inline (RWF_NOWAIT) */

struct blk_io {
	struct vblk *b;
	pthread_t thread;
	int kick_fd, stop_fd;
	bool use_uring;
	struct io_uring ring;
	bool stopping;
	bool kick_armed;		/* a poll of kick_fd is in the kernel */
	bool stalled;		/* chains left in the ring: no free request */
	int passthrough_fd;	/* -1: backend needs its synchronous ops */
	unsigned completed;	/* since the last notify decision */
	unsigned async;		/* requests in io_uring */
	bool kicked;		/* a kick came in since the last drain */
	unsigned nowait_skip, nowait_backoff;	/* RWF_NOWAIT miss back-off */
	bool cancel_sent;	/* the kick poll is being cancelled (stopping) */
	uint64_t poll_ns, poll_max_ns;	/* adaptive poll window, its bound */
	bool poll_missed;	/* the last window found nothing */
};

/* Pop one chain; NULL if none, no request free, or the ring broke. */
static struct blk_req *next_request(struct vblk *b, bool *broken, bool *stalled)
{
	struct blk_req *r = blk_req_alloc(b);
	int got;

	if (!r) {
		*stalled = true;
		return NULL;
	}
	got = virtq_pop(b->vq, &r->chain);
	if (got <= 0) {
		blk_req_free(b, r);
		if (got < 0) {
			*broken = true;
			blk_ring_broken(b);
		}
		return NULL;
	}
	return r;
}

int blk_drain_sync(struct vblk *b)
{
	bool broken = false, stalled = false;
	struct blk_req *r;
	int done = 0;

	do {
		virtq_disable_notify(b->vq);
		while ((r = next_request(b, &broken, &stalled))) {
			blk_req_parse(b, r);
			blk_req_exec_sync(r);
			blk_req_complete(r);
			done++;
		}
	} while (!broken && virtq_enable_notify(b->vq));
	if (done)
		blk_maybe_notify(b);
	return broken ? -EIO : done;
}

static struct io_uring_sqe *get_sqe(struct blk_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	if (!sqe) {
		io_uring_submit(&io->ring);	/* SQ full: flush the batch */
		sqe = io_uring_get_sqe(&io->ring);
	}
	return sqe;
}

/* Poll, then read: works whether the transport's eventfd is blocking or
 * not (a read SQE on an O_NONBLOCK eventfd just fails with EAGAIN). */
static void arm_poll(struct blk_io *io, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe = get_sqe(io);

	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag);
	if (tag == TAG_KICK)
		io->kick_armed = true;
}

/* The kick poll must be gone from the ring before the thread ends. */
static void cancel_kick(struct blk_io *io)
{
	struct io_uring_sqe *sqe = get_sqe(io);

	io_uring_prep_cancel64(sqe, TAG_KICK, 0);
	io_uring_sqe_set_data64(sqe, TAG_CANCEL);
}

static void finish_request(struct blk_io *io, struct blk_req *r, int res);
static void reap(struct blk_io *io);

/* Where r's data is in a file: the fd (and *off), or -1 for the ops.
 * -errno if the backend failed to map it (logged). */
static int data_fd(struct blk_io *io, struct blk_req *r, uint64_t *off)
{
	struct disk *d = io->b->disk;
	int fd, ret;

	*off = r->off;
	if (io->passthrough_fd >= 0)
		return io->passthrough_fd;
	if (!d->ops->map || r->len == 0)
		return -1;
	ret = d->ops->map(d, r->off, r->len, r->op == BLK_OP_WRITE, &fd, off);
	if (ret <= 0)
		return ret < 0 ? ret : -1;
	io->b->stats.mapped++;
	return fd;
}

/* A page-cache hit right now, without io_uring. After a miss the next
 * reads skip the try (1, 2, 4 ... 64 of them) so a cold disk does not pay
 * a failed syscall per request. */
static bool read_nowait(struct blk_io *io, struct blk_req *r, int fd, uint64_t off)
{
	ssize_t n;

	/* Large reads are left to io_uring, whose workers copy them in
	 * parallel with this thread; the syscall saved matters for small ones. */
	if (io->b->disk->direct || r->len > NOWAIT_MAX_BYTES)
		return false;
	if (io->nowait_skip) {
		io->nowait_skip--;
		return false;
	}
	n = preadv2(fd, r->iov, r->iovcnt, (off_t)off, RWF_NOWAIT);
	if (n >= 0 && (uint64_t)n == r->len) {
		io->nowait_backoff = 0;
		io->b->stats.inline_reads++;
		return true;
	}
	/* EAGAIN, a short read (part cached, or EOF) or an error: io_uring
	 * does the whole read again and reports errors. */
	io->b->stats.nowait_misses++;
	io->nowait_backoff = io->nowait_backoff ? io->nowait_backoff * 2 : 1;
	if (io->nowait_backoff > 64)
		io->nowait_backoff = 64;
	io->nowait_skip = io->nowait_backoff;
	return false;
}

/* Engine calls that may re-map clusters must not overlap our I/O. */
static bool may_remap(const struct blk_io *io, const struct blk_req *r)
{
	if (io->passthrough_fd >= 0 || !io->b->disk->ops->map)
		return false;
	return r->op == BLK_OP_WRITE ||
	       (r->op == BLK_OP_SYNC && r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_GET_ID);
}

static void wait_async(struct blk_io *io)
{
	io->b->stats.barriers++;
	while (io->async) {
		int ret = io_uring_submit_and_wait(&io->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			log_error("virtio-blk: %s: io_uring wait failed: %s", io->b->name,
				  strerror(-ret));
			return;
		}
		reap(io);
	}
}

static void run_here(struct blk_io *io, struct blk_req *r)
{
	if (io->async && may_remap(io, r))
		wait_async(io);
	blk_req_exec_sync(r);
	blk_req_complete(r);
	io->completed++;
}

/* Hand one parsed request to io_uring, or run it here. */
static void start_request(struct blk_io *io, struct blk_req *r)
{
	struct io_uring_sqe *sqe;
	uint64_t off = r->off;
	int fd = io->passthrough_fd;

	if (r->op == BLK_OP_READ || r->op == BLK_OP_WRITE)
		fd = data_fd(io, r, &off);
	if (fd < -1) {	/* the map failed (logged): I/O error */
		blk_req_set_io_result(r, fd);
		blk_req_complete(r);
		io->completed++;
		return;
	}
	if (fd < 0 || r->op == BLK_OP_NONE || r->op == BLK_OP_SYNC ||
	    (r->op == BLK_OP_FLUSH && io->b->disk->readonly))
		return run_here(io, r);
	if (r->op == BLK_OP_READ && read_nowait(io, r, fd, off)) {
		finish_request(io, r, (int)r->len);
		return;
	}
	if (!(sqe = get_sqe(io)))
		return run_here(io, r);
	if (r->op == BLK_OP_READ)
		io_uring_prep_readv(sqe, fd, r->iov, (unsigned)r->iovcnt, off);
	else if (r->op == BLK_OP_WRITE)
		io_uring_prep_writev(sqe, fd, r->iov, (unsigned)r->iovcnt, off);
	else
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sqe, r);
	io->async++;
}

static void drain_async(struct blk_io *io)
{
	struct vblk *b = io->b;
	bool broken = false;
	struct blk_req *r;

	io->stalled = false;
	do {
		virtq_disable_notify(b->vq);
		while ((r = next_request(b, &broken, &io->stalled))) {
			blk_req_parse(b, r);
			start_request(io, r);
		}
	} while (!broken && !io->stalled && virtq_enable_notify(b->vq));
}

static void finish_request(struct blk_io *io, struct blk_req *r, int res)
{
	bool whole = r->op == BLK_OP_FLUSH ? res == 0 : res >= 0 && (uint64_t)res == r->len;

	if (whole)
		blk_req_set_io_result(r, 0);
	else if (res >= 0)
		blk_req_exec_sync(r);	/* short transfer: redo it the careful way */
	else {
		if (ratelimit_ok(&io->b->rl))
			log_error("virtio-blk: %s: %s at %llu failed: %s", io->b->name,
				  r->op == BLK_OP_FLUSH ? "flush" : "I/O",
				  (unsigned long long)r->off, strerror(-res));
		blk_req_set_io_result(r, res);
	}
	blk_req_complete(r);
	io->completed++;
}

static void reap(struct blk_io *io)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&io->ring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		n++;
		if (tag == TAG_KICK) {
			uint64_t v;
			io->kick_armed = false;
			/* Read only when readable: the transport's eventfd may block. */
			if (cqe->res > 0 && read(io->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_error("virtio-blk: %s: kick eventfd: %s", io->b->name, strerror(errno));
			else if (cqe->res < 0 && cqe->res != -ECANCELED && ratelimit_ok(&io->b->rl))
				log_error("virtio-blk: %s: polling the kick eventfd: %s", io->b->name,
					  strerror(-cqe->res));
			if (cqe->res != -ECANCELED)
				io->kicked = true;	/* on errors too: look at the ring */
		} else if (tag == TAG_CANCEL)
			continue;
		else if (tag == TAG_STOP)
			io->stopping = true;
		else {
			io->async--;
			finish_request(io, io_uring_cqe_get_data(cqe), cqe->res);
		}
	}
	io_uring_cq_advance(&io->ring, n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spin on new chains and completions for the adaptive window, with kicks
 * suppressed, then re-enable kicks and look at the ring once more (the
 * driver may have published just before the re-enable became visible):
 * no request is left behind when the thread goes to sleep. True if work
 * turned up. */
static bool poll_for_work(struct blk_io *io)
{
	struct virtq *vq = io->b->vq;
	bool found = false;
	uint64_t end;

	if (!io->poll_max_ns || io->stopping || io->b->reset_requested || !virtq_ready(vq))
		return false;
	io_uring_submit(&io->ring);
	virtq_disable_notify(vq);
	end = now_ns() + io->poll_ns;
	do {
		if (io_uring_cq_ready(&io->ring) || virtq_pending(vq)) {
			found = true;
			break;
		}
		__builtin_ia32_pause();
	} while (now_ns() < end);
	if (virtq_enable_notify(vq))
		found = true;
	io->poll_missed = !found;
	if (found)
		io->b->stats.polls_hit++;
	return found;
}

/* After a missed poll and a sleep of slept_ns: work that came soon after
 * the window closed means a longer window would have caught it (grow);
 * a long idle time means polling wastes CPU (shrink, down to 0). */
static void adapt_poll(struct blk_io *io, uint64_t slept_ns)
{
	if (!io->poll_missed)
		return;
	io->poll_missed = false;
	if (slept_ns <= io->poll_max_ns) {
		io->poll_ns = io->poll_ns ? io->poll_ns * 2 : 1000;
		if (io->poll_ns > io->poll_max_ns)
			io->poll_ns = io->poll_max_ns;
	} else
		io->poll_ns /= 2;
}

/* Each turn: take new chains (after a kick, a successful poll, or when
 * requests were short), re-arm the kick poll (a drain may reap its
 * completion while waiting at a barrier), interrupt the driver once for
 * everything completed, then poll or sleep and reap. */
static void *uring_loop(void *arg)
{
	struct blk_io *io = arg;
	struct vblk *b = io->b;
	bool polled = false;

	arm_poll(io, io->kick_fd, TAG_KICK);
	arm_poll(io, io->stop_fd, TAG_STOP);
	io->kicked = true;	/* a kick may have come before the thread existed */
	for (;;) {
		if ((io->kicked || polled || io->stalled) && !io->stopping && !b->reset_requested) {
			io->kicked = false;
			drain_async(io);
		}
		if (!io->stopping && !io->kick_armed)
			arm_poll(io, io->kick_fd, TAG_KICK);
		if (io->completed) {
			io->completed = 0;
			blk_maybe_notify(b);
		}
		if (io->stopping && !b->inflight && !io->kick_armed)
			break;
		polled = poll_for_work(io);
		uint64_t t0 = polled ? 0 : now_ns();
		int r = polled ? io_uring_submit(&io->ring) : io_uring_submit_and_wait(&io->ring, 1);

		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			log_error("virtio-blk: %s: io_uring wait failed: %s", b->name, strerror(-r));
			/* The thread ends with requests possibly taken from the ring:
			 * tell the driver the device needs a reset rather than let
			 * it wait for them forever. */
			blk_ring_broken(b);
			break;
		}
		if (!polled)
			adapt_poll(io, now_ns() - t0);
		reap(io);
		if (io->stopping && io->kick_armed && !io->cancel_sent) {
			cancel_kick(io);
			io->cancel_sent = true;
		}
	}
	return NULL;
}

static void *poll_loop(void *arg)
{
	struct blk_io *io = arg;
	struct pollfd fds[2] = { { .fd = io->kick_fd, .events = POLLIN },
				 { .fd = io->stop_fd, .events = POLLIN } };
	uint64_t v;

	blk_drain_sync(io->b);
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			return NULL;	/* stop requested */
		if (fds[0].revents && read(io->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		blk_drain_sync(io->b);
	}
	log_error("virtio-blk: %s: I/O thread cannot wait for kicks: %s", io->b->name,
		  strerror(errno));
	blk_ring_broken(io->b);	/* the driver must not wait for us forever */
	return NULL;
}

static void setup_uring(struct blk_io *io)
{
	int r;

	io->passthrough_fd = -1;
	if (io->b->disk->ops->passthrough_fd)
		io->passthrough_fd = io->b->disk->ops->passthrough_fd(io->b->disk);
	if (io->b->force_sync)
		return;
	r = io_uring_queue_init(2 * VBLK_QUEUE_SIZE, &io->ring, 0);
	if (r < 0) {
		log_warn("virtio-blk: %s: io_uring unavailable (%s); using synchronous I/O",
			 io->b->name, strerror(-r));
		return;
	}
	io->use_uring = true;
}

int blk_io_start(struct vblk *b, int kick_fd)
{
	struct blk_io *io = calloc(1, sizeof(*io));
	int r;

	if (!io)
		return -ENOMEM;
	io->b = b;
	io->kick_fd = kick_fd;
	io->poll_max_ns = b->poll_us > 0 ? 1000ull * (uint64_t)b->poll_us : 0;
	io->poll_ns = io->poll_max_ns;
	io->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (io->stop_fd < 0) {
		r = -errno;
		free(io);
		return r;
	}
	setup_uring(io);
	r = -pthread_create(&io->thread, NULL, io->use_uring ? uring_loop : poll_loop, io);
	if (r) {
		log_error("virtio-blk: %s: cannot start the I/O thread: %s", b->name, strerror(-r));
		if (io->use_uring)
			io_uring_queue_exit(&io->ring);
		close(io->stop_fd);
		free(io);
		return r;
	}
	b->io = io;
	return 0;
}

void blk_io_stop(struct vblk *b)
{
	struct blk_io *io = b->io;
	uint64_t one = 1;

	if (!io)
		return;
	if (write(io->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_error("virtio-blk: %s: cannot signal the I/O thread: %s", b->name, strerror(errno));
	pthread_join(io->thread, NULL);
	if (io->use_uring)
		io_uring_queue_exit(&io->ring);	/* cancels the pending kick read */
	close(io->stop_fd);
	free(io);
	b->io = NULL;
}
