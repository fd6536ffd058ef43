#include "vmm/console_detached.h"
#include "vmm/console_ring.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct console_detached {
	pthread_mutex_t lock;
	struct byte_ring history;	/* the last VM_CONSOLE_RING bytes */
	struct byte_ring queue;		/* the client's unwritten output */
	int client_fd;		/* -1: none; read/written/closed by the main loop only */
	bool closing;		/* the client goes: detach, or it fell behind */
	int new_fd;		/* attached, not yet taken over by the main loop */
	int wake_efd;		/* readable: dcon_service() has work */
};

static void dcon_wake(struct console_detached *d)
{
	uint64_t one = 1;
	if (write(d->wake_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("console: cannot wake the main loop: %s", strerror(errno));
}

int dcon_create(struct console_detached **out)
{
	struct console_detached *d = calloc(1, sizeof(*d));
	if (!d || byte_ring_init(&d->history, VM_CONSOLE_RING) < 0 ||
	    byte_ring_init(&d->queue, DCON_QUEUE_MAX) < 0) {
		log_error("console: out of memory for the detached console's ring");
		if (d) {
			byte_ring_free(&d->history);
			free(d);
		}
		return -ENOMEM;
	}
	d->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_efd < 0) {
		int err = errno;
		log_error("console: cannot create an eventfd: %s", strerror(err));
		byte_ring_free(&d->history);
		byte_ring_free(&d->queue);
		free(d);
		return -err;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->client_fd = d->new_fd = -1;
	*out = d;
	return 0;
}

static bool client_flush_locked(struct console_detached *d);

void dcon_destroy(struct console_detached *d)
{
	if (!d)
		return;
	/* The guest's last words (queued, or flushed by console_close just
	 * before) reach an attached client too, as far as its socket takes
	 * them now: the main loop that would have sent them has ended. */
	if (d->client_fd >= 0 && !d->closing)
		client_flush_locked(d);
	if (d->client_fd >= 0)
		close(d->client_fd);
	if (d->new_fd >= 0)
		close(d->new_fd);
	close(d->wake_efd);
	byte_ring_free(&d->history);
	byte_ring_free(&d->queue);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void dcon_output(struct console_detached *d, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&d->lock);
	byte_ring_push_overwrite(&d->history, buf, len);
	if (d->client_fd >= 0 && !d->closing) {
		bool was_empty = d->queue.len == 0;
		if (!byte_ring_push(&d->queue, buf, len)) {
			log_warn("console: the attached client fell %zu bytes behind: disconnected",
				 d->queue.len);
			d->closing = true;
			dcon_wake(d);
		} else if (was_empty) {
			dcon_wake(d);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

int dcon_attach(struct console_detached *d, int fd)
{
	pthread_mutex_lock(&d->lock);
	bool busy = d->new_fd >= 0 || (d->client_fd >= 0 && !d->closing);
	if (!busy)
		d->new_fd = fd;
	pthread_mutex_unlock(&d->lock);
	if (busy)
		return -EBUSY;
	dcon_wake(d);
	return 0;
}

void dcon_detach(struct console_detached *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->new_fd >= 0) {	/* never seen by the main loop: ours to close */
		close(d->new_fd);
		d->new_fd = -1;
	}
	if (d->client_fd >= 0)
		d->closing = true;
	pthread_mutex_unlock(&d->lock);
	dcon_wake(d);
}

bool dcon_attached(struct console_detached *d)
{
	pthread_mutex_lock(&d->lock);
	bool attached = d->new_fd >= 0 || (d->client_fd >= 0 && !d->closing);
	pthread_mutex_unlock(&d->lock);
	return attached;
}

int dcon_event_fd(const struct console_detached *d) { return d->wake_efd; }

int dcon_output_fd(struct console_detached *d)
{
	pthread_mutex_lock(&d->lock);
	int fd = d->client_fd >= 0 && !d->closing && d->queue.len ? d->client_fd : -1;
	pthread_mutex_unlock(&d->lock);
	return fd;
}

int dcon_input_fd(const struct console_detached *d) { return d->client_fd; }

static void client_close_locked(struct console_detached *d)
{
	close(d->client_fd);
	d->client_fd = -1;
	d->closing = false;
	byte_ring_clear(&d->queue);
}

/* The new client: non-blocking, and the ring first. */
static void client_adopt_locked(struct console_detached *d)
{
	int fd = d->new_fd;
	d->new_fd = -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_warn("console: attached fd %d: cannot make it non-blocking (%s): closed", fd,
			 strerror(errno));
		close(fd);
		return;
	}
	d->client_fd = fd;
	byte_ring_clear(&d->queue);
	byte_ring_push_ring(&d->queue, &d->history);	/* fits: DCON_QUEUE_MAX > the ring */
}

/* Writes what the socket takes now; false if the client is gone. */
static bool client_flush_locked(struct console_detached *d)
{
	const uint8_t *p;
	size_t n;
	while ((n = byte_ring_peek(&d->queue, &p)) > 0) {
		ssize_t w = write(d->client_fd, p, n);
		if (w > 0) {
			byte_ring_drop(&d->queue, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		log_debug("console: client write failed (%s): detached",
			  w < 0 ? strerror(errno) : "wrote nothing");
		return false;
	}
	return true;
}

void dcon_service(struct console_detached *d)
{
	uint64_t cnt;
	if (read(d->wake_efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_debug("console: wake event: %s", strerror(errno));
	pthread_mutex_lock(&d->lock);
	if (d->client_fd >= 0 && d->closing)
		client_close_locked(d);
	if (d->new_fd >= 0 && d->client_fd < 0)
		client_adopt_locked(d);
	if (d->client_fd >= 0 && !client_flush_locked(d))
		client_close_locked(d);
	pthread_mutex_unlock(&d->lock);
}

ssize_t dcon_read(struct console_detached *d, uint8_t *buf, size_t cap)
{
	if (d->client_fd < 0)
		return 0;
	ssize_t n = read(d->client_fd, buf, cap);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	log_debug("console: client %s: detached", n == 0 ? "closed its end" : strerror(errno));
	pthread_mutex_lock(&d->lock);
	client_close_locked(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}
