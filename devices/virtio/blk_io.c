/* The per-disk I/O thread: it serves every queue of the disk. Kicks arrive
 * on each queue's eventfd, requests go to io_uring in batches (one submit
 * per loop), completions are reaped in batches and each queue's driver
 * side is interrupted at most once per batch. Without io_uring (or with
 * force_sync) the thread polls the eventfds and runs requests
 * synchronously (blk_sync.c).
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
#include <sched.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define TAG_STOP 1
#define TAG_CANCEL 2
#define TAG_KICK0 16	/* + queue index */

#define NOWAIT_MAX_BYTES (64u << 10)	/* reads tried inline (RWF_NOWAIT) */

/* The thread's view of one queue. */
struct io_queue {
	int kick_fd;
	bool kick_armed;	/* a poll of kick_fd is in the kernel */
	bool kicked;		/* a kick came in since the last drain */
	bool stalled;		/* chains left in the ring: no free request */
	unsigned completed;	/* since the last notify decision */
};

struct blk_io {
	struct vblk *b;
	pthread_t thread;
	int stop_fd;
	bool use_uring;
	struct io_uring ring;
	bool stopping;
	int passthrough_fd;	/* -1: backend needs its synchronous ops */
	unsigned async;		/* requests in io_uring */
	unsigned nowait_skip, nowait_backoff;	/* RWF_NOWAIT miss back-off */
	bool cancel_sent;	/* the kick polls are being cancelled (stopping) */
	uint64_t poll_ns, poll_max_ns;	/* adaptive poll window, its bound */
	bool poll_missed;	/* the last window found nothing */
	bool parallel_copy;	/* large transfers to io_uring's workers */
	int mem_fd;		/* the last data fd looked at, and whether */
	bool mem_fd_in_memory;	/* its file lives in memory (tmpfs) */
	struct io_queue q[VBLK_MAX_QUEUES];
};

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
	if (tag >= TAG_KICK0)
		io->q[tag - TAG_KICK0].kick_armed = true;
}

/* The kick polls must be gone from the ring before the thread ends. */
static void cancel_kicks(struct blk_io *io)
{
	for_each_active(io->b, i) {
		if (!io->q[i].kick_armed)
			continue;
		struct io_uring_sqe *sqe = get_sqe(io);
		io_uring_prep_cancel64(sqe, TAG_KICK0 + i, 0);
		io_uring_sqe_set_data64(sqe, TAG_CANCEL);
	}
}

static bool any_kick_armed(const struct blk_io *io)
{
	for_each_active(io->b, i)
		if (io->q[i].kick_armed)
			return true;
	return false;
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

/* Is fd's file kept in memory (tmpfs, ramfs)? Its reads and writes never
 * wait for a device, but io_uring cannot try them inline (no RWF_NOWAIT
 * there): each would cost two thread switches through io_uring's workers.
 * Cached for the last fd (one image file, or a qcow2 image's one fd). */
static bool in_memory(struct blk_io *io, int fd)
{
	struct statfs st;

	if (fd != io->mem_fd) {
		io->mem_fd = fd;
		io->mem_fd_in_memory = fstatfs(fd, &st) == 0 &&
				       (st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC);
	}
	return io->mem_fd_in_memory;
}

/* A read or write of a file in memory, done here at once: no wake-ups.
 * Large ones still go to io_uring's workers when another CPU can copy in
 * parallel. False: let io_uring do it (and report any error). */
static bool rw_in_memory(struct blk_io *io, struct blk_req *r, int fd, uint64_t off)
{
	ssize_t n;

	if (io->b->disk->direct || (r->len > NOWAIT_MAX_BYTES && io->parallel_copy) ||
	    !in_memory(io, fd))
		return false;
	if (r->op == BLK_OP_READ)
		n = preadv(fd, r->iov, r->iovcnt, (off_t)off);
	else
		n = pwritev(fd, r->iov, r->iovcnt, (off_t)off);
	if (n < 0 || (uint64_t)n != r->len)
		return false;
	io->b->stats.inline_rw++;
	return true;
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

/* Give r back to its queue; its driver is interrupted after the round. */
static void complete(struct blk_io *io, struct blk_req *r)
{
	struct io_queue *iq = &io->q[r->q->index];

	blk_req_complete(r);	/* frees r */
	iq->completed++;
}

static void run_here(struct blk_io *io, struct blk_req *r)
{
	if (io->async && may_remap(io, r))
		wait_async(io);
	blk_req_exec_sync(r);
	complete(io, r);
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
		complete(io, r);
		return;
	}
	if (fd < 0 || r->op == BLK_OP_NONE || r->op == BLK_OP_SYNC ||
	    (r->op == BLK_OP_FLUSH && io->b->disk->readonly))
		return run_here(io, r);
	if ((r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) && rw_in_memory(io, r, fd, off)) {
		finish_request(io, r, (int)r->len);
		return;
	}
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
	/* With more than one host CPU a large transfer goes straight to
	 * io_uring's workers: several copy in parallel while this thread takes
	 * the next chains (tried inline first, page-cache hits would all be
	 * copied here, one after another). On one CPU that only adds switches. */
	if (r->len > NOWAIT_MAX_BYTES && io->parallel_copy)
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, r);
	io->async++;
}

/* Whether the thread will poll the rings after this round. */
static bool may_poll(const struct blk_io *io)
{
	return io->poll_max_ns && !io->stopping && !io->b->reset_requested;
}

/* Take every chain in queue qi. Kicks stay off afterwards when the thread
 * polls next: poll_for_work turns them on (and looks again) only when its
 * window ends empty, so a driver that keeps publishing while we poll never
 * pays for a kick (and we never pay for its wake-up). */
static void drain_async(struct blk_io *io, unsigned qi)
{
	struct vblk_queue *q = &io->b->q[qi];
	struct io_queue *iq = &io->q[qi];
	bool broken = false, keep_off = may_poll(io);
	struct blk_req *r;

	iq->stalled = false;
	do {
		virtq_disable_notify(q->vq);
		while ((r = blk_next_request(q, &broken, &iq->stalled))) {
			blk_req_parse(io->b, r);
			start_request(io, r);
		}
	} while (!broken && !iq->stalled && !keep_off && virtq_enable_notify(q->vq));
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
	complete(io, r);
}

static void reap(struct blk_io *io)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&io->ring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		n++;
		if (tag >= TAG_KICK0 && tag < TAG_KICK0 + VBLK_MAX_QUEUES) {
			struct io_queue *iq = &io->q[tag - TAG_KICK0];
			uint64_t v;

			iq->kick_armed = false;
			/* Read only when readable: the transport's eventfd may block. */
			if (cqe->res > 0 && read(iq->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_error("virtio-blk: %s: kick eventfd: %s", io->b->name, strerror(errno));
			else if (cqe->res < 0 && cqe->res != -ECANCELED && ratelimit_ok(&io->b->rl))
				log_error("virtio-blk: %s: polling the kick eventfd: %s", io->b->name,
					  strerror(-cqe->res));
			if (cqe->res != -ECANCELED)
				iq->kicked = true;	/* on errors too: look at the ring */
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

static bool any_pending(struct blk_io *io)
{
	/* A stalled queue's chains wait for requests to come back (a
	 * completion), not for us to look again. */
	for_each_active(io->b, i)
		if (!io->q[i].stalled && virtq_pending(io->b->q[i].vq))
			return true;
	return false;
}

/* Kicks back on for every queue (except stalled ones: their chains are
 * taken once requests come back); true if one has chains meanwhile (the
 * driver may have published before the re-enable became visible). */
static bool enable_kicks(struct blk_io *io)
{
	bool found = false;

	for_each_active(io->b, i)
		if (!io->q[i].stalled && virtq_enable_notify(io->b->q[i].vq))
			found = true;
	return found;
}

/* Spin on new chains and completions for the adaptive window with kicks
 * off (drain_async left them off). Work found: return with kicks still
 * off. Window over: re-enable kicks and look at the rings once more, so
 * no request is left behind when the thread goes to sleep. True if work
 * turned up. */
static bool poll_for_work(struct blk_io *io)
{
	bool found = false;
	uint64_t end;

	if (!may_poll(io))	/* kicks back on if drain_async left them off */
		/* Nothing is drained while stopping or broken: chains found
		 * must not keep the thread from sleeping (it would spin). */
		return enable_kicks(io) && !io->stopping && !io->b->reset_requested;
	if (io_uring_sq_ready(&io->ring))
		io_uring_submit(&io->ring);
	for_each_active(io->b, i)
		virtq_disable_notify(io->b->q[i].vq);
	end = now_ns() + io->poll_ns;
	for (unsigned spins = 0;; spins++) {
		if (io_uring_cq_ready(&io->ring) || any_pending(io)) {
			found = true;
			break;
		}
		__builtin_ia32_pause();
		/* The clock costs more than a look at the rings. */
		if ((spins & 15) == 15 && now_ns() >= end)
			break;
	}
	if (!found && enable_kicks(io))
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
 * requests were short), re-arm the kick polls (a drain may reap their
 * completion while waiting at a barrier), interrupt each queue's driver
 * once for everything completed, then poll or sleep and reap. */
static void *uring_loop(void *arg)
{
	struct blk_io *io = arg;
	struct vblk *b = io->b;
	bool polled = false;

	arm_poll(io, io->stop_fd, TAG_STOP);
	for_each_active(b, i) {
		arm_poll(io, io->q[i].kick_fd, TAG_KICK0 + i);
		io->q[i].kicked = true;	/* a kick may have come before the thread existed */
	}
	for (;;) {
		for_each_active(b, i) {
			struct io_queue *iq = &io->q[i];

			if ((iq->kicked || polled || iq->stalled) && !io->stopping &&
			    !b->reset_requested) {
				iq->kicked = false;
				drain_async(io, i);
			}
			if (!io->stopping && !iq->kick_armed)
				arm_poll(io, iq->kick_fd, TAG_KICK0 + i);
		}
		for_each_active(b, i)
			if (io->q[i].completed) {
				io->q[i].completed = 0;
				blk_maybe_notify(&b->q[i]);
			}
		if (io->stopping && !blk_inflight(b) && !any_kick_armed(io))
			break;
		/* The stop may have been reaped anywhere (also at a barrier
		 * inside a drain): the kick polls must be cancelled before the
		 * thread sleeps, or nothing would wake it. */
		if (io->stopping && !io->cancel_sent) {
			cancel_kicks(io);
			io->cancel_sent = true;
		}
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
	}
	return NULL;
}

static void *sync_loop(void *arg)
{
	struct blk_io *io = arg;
	int kick_fds[VBLK_MAX_QUEUES];

	for (unsigned i = 0; i < io->b->nq; i++)
		kick_fds[i] = io->q[i].kick_fd;
	blk_sync_serve(io->b, kick_fds, io->stop_fd);
	return NULL;
}

unsigned vblk_usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static unsigned active_queues(const struct vblk *b)
{
	unsigned n = 0;

	for_each_active(b, i)
		n++;
	return n ? n : 1;
}

static void setup_uring(struct blk_io *io)
{
	int r;

	io->passthrough_fd = -1;
	if (io->b->disk->ops->passthrough_fd)
		io->passthrough_fd = io->b->disk->ops->passthrough_fd(io->b->disk);
	if (io->b->force_sync)
		return;
	/* Room for every request of every queue (a batch is one submit). */
	r = io_uring_queue_init(2 * VBLK_QUEUE_SIZE * active_queues(io->b), &io->ring, 0);
	if (r < 0) {
		log_warn("virtio-blk: %s: io_uring unavailable (%s); using synchronous I/O",
			 io->b->name, strerror(-r));
		return;
	}
	io->use_uring = true;
}

int blk_io_start(struct vblk *b, const int *kick_fds)
{
	struct blk_io *io = calloc(1, sizeof(*io));
	int r;

	if (!io)
		return -ENOMEM;
	io->b = b;
	for (unsigned i = 0; i < b->nq; i++)
		io->q[i].kick_fd = kick_fds[i];
	io->poll_max_ns = b->poll_us > 0 ? 1000ull * (uint64_t)b->poll_us : 0;
	io->poll_ns = io->poll_max_ns;
	io->parallel_copy = vblk_usable_cpus() > 1;
	io->mem_fd = -1;
	io->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (io->stop_fd < 0) {
		r = -errno;
		free(io);
		return r;
	}
	setup_uring(io);
	r = -pthread_create(&io->thread, NULL, io->use_uring ? uring_loop : sync_loop, io);
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
