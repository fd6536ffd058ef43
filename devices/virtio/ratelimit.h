/* A per-object log rate limit: a hostile guest can produce a malformed
 * request per microsecond, and each must not become a log line. */
#ifndef MINIVMM_VIRTIO_RATELIMIT_H
#define MINIVMM_VIRTIO_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RATELIMIT_BURST 10	/* lines per second per object */

struct ratelimit {
	int64_t window;		/* CLOCK_MONOTONIC second of the current window */
	unsigned count;		/* lines let through in that window */
	unsigned long suppressed;
};

/* True if one more line may be logged now. */
static inline bool ratelimit_ok(struct ratelimit *rl)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != rl->window) {
		rl->window = ts.tv_sec;
		rl->count = 0;
	}
	if (rl->count >= RATELIMIT_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->count++;
	return true;
}

#endif
