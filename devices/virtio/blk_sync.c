/* virtio-blk without io_uring: the I/O thread's fallback (poll() on the
 * kick eventfds, requests run synchronously), and vblk_process() for
 * callers without a thread (unit tests, the fuzzer). */
#include "devices/virtio/blk_internal.h"

#include "vmm/log.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Pop one chain; NULL if none, no request free, or the ring broke. */
struct blk_req *blk_next_request(struct vblk_queue *q, bool *broken, bool *stalled)
{
	struct blk_req *r = blk_req_alloc(q);
	int got;

	if (!r) {
		*stalled = true;
		return NULL;
	}
	got = virtq_pop(q->vq, &r->chain);
	if (got <= 0) {
		blk_req_free(r);
		if (got < 0) {
			*broken = true;
			blk_ring_broken(q->b);
		}
		return NULL;
	}
	return r;
}

static int drain_queue_sync(struct vblk_queue *q)
{
	bool broken = false, stalled = false;
	struct blk_req *r;
	int done = 0;

	do {
		virtq_disable_notify(q->vq);
		while ((r = blk_next_request(q, &broken, &stalled))) {
			blk_req_parse(q->b, r);
			blk_req_exec_sync(r);
			blk_req_complete(r);
			done++;
		}
	} while (!broken && virtq_enable_notify(q->vq));
	if (done)
		blk_maybe_notify(q);
	return broken ? -EIO : done;
}

int blk_drain_sync(struct vblk *b)
{
	int done = 0;

	for_each_active(b, i) {
		int n = drain_queue_sync(&b->q[i]);
		if (n < 0)
			return n;
		done += n;
	}
	return done;
}

void blk_sync_serve(struct vblk *b, const int *kick_fds, int stop_fd)
{
	struct pollfd fds[VBLK_MAX_QUEUES + 1];
	unsigned qi[VBLK_MAX_QUEUES], n = 0;
	uint64_t v;

	for_each_active(b, i) {
		fds[n] = (struct pollfd){ .fd = kick_fds[i], .events = POLLIN };
		qi[n++] = i;
	}
	fds[n] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
	blk_drain_sync(b);
	for (;;) {
		if (poll(fds, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto failed;
		}
		if (fds[n].revents)
			return;	/* stop requested */
		for (unsigned k = 0; k < n; k++) {
			if (!fds[k].revents)
				continue;
			if (read(fds[k].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				goto failed;
			if (drain_queue_sync(&b->q[qi[k]]) < 0)
				break;	/* needs_reset raised: wait for the reset */
		}
	}
failed:
	log_error("virtio-blk: %s: I/O thread cannot wait for kicks: %s", b->name,
		  strerror(errno));
	blk_ring_broken(b);	/* the driver must not wait for us forever */
}

