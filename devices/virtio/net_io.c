/* virtio-net I/O threads: one per queue pair, each an epoll loop over its
 * TAP queue, the kick eventfds of its receive and transmit queues (pair 0:
 * the control queue's too) and the device's stop eventfd. The frames go
 * through the pair's backend (struct vnet_backend): the TAP's is here, the
 * user-mode one (libslirp, its own loop around vnet_pair_wait and
 * vnet_pair_round) in net_user.c.
 *
 * TX: chains are written to the TAP as they are (the 12-byte vnet header
 * first: the TAP reads it as its own), one writev per frame, no copy.
 * Kicks stay off while the thread drains; a TAP that says EAGAIN keeps the
 * chain and the thread waits for EPOLLOUT.
 * RX: frames are read from the TAP into one buffer and copied into the
 * guest's buffers (net_rx_deliver). With too few buffers posted the frame
 * is kept, the TAP leaves the epoll set (the kernel queues or drops for
 * us) and the thread asks for a kick at the next buffer the driver posts;
 * while buffers are there, RX kicks stay off.
 * Each round moves at most VNET_BUDGET frames per direction and ends with
 * one interrupt per queue that used buffers (if the driver wants it). */
#include "devices/virtio/net_internal.h"

#include "devices/virtio/net_offload.h"
#include "devices/virtio/virtq.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define TX_MAX_IOV 64
enum { EV_STOP, EV_RX_KICK, EV_TX_KICK, EV_CTRL_KICK, EV_TAP };

static size_t tx_max_frame(const struct vnet *n)
{
	const uint64_t gso = VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
			     VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_HOST_USO);
	/* A GSO frame is one 64 KiB packet; otherwise MTU + Ethernet + VLAN. */
	return NET_HDR_LEN + 18 + ((n->features & gso) ? 65535u : n->mtu);
}

static uint64_t tx_handed_back(const struct net_tx_stats *s)
{
	return s->bad_chains + s->runts + s->oversized;
}

/* net_tx_next() counted the frame as sent; it was not. */
static void tx_uncount(struct vnet_pair *p, const struct iovec *iov, int k)
{
	size_t len = 0;

	for (int i = 0; i < k; i++)
		len += iov[i].iov_len;
	p->txs.frames--;
	p->txs.bytes -= len - NET_HDR_LEN;
}

/* 1: budget spent, 0: queue empty or TAP full, -EIO: ring broken. */
static int tx_drain(struct vnet_pair *p)
{
	struct iovec iov[TX_MAX_IOV];
	size_t max_frame = tx_max_frame(p->n);
	uint64_t before = tx_handed_back(&p->txs);
	unsigned done = 0;
	int ret = 0;

	virtq_disable_notify(p->txq);
	for (;;) {
		uint16_t head;
		int k = net_tx_next(p->txq, iov, TX_MAX_IOV, max_frame, &head, &p->txs);
		if (k < 0) {
			ret = -EIO;
			break;
		}
		if (k == 0) {
			if (!virtq_enable_notify(p->txq))
				break;	/* kicks on, nothing new */
			virtq_disable_notify(p->txq);
			continue;
		}
		ssize_t w = p->n->be->tx(p, iov, k);
		if (w == -EAGAIN) {
			tx_uncount(p, iov, k);
			virtq_unpop(p->txq, 1);	/* sent again after EPOLLOUT */
			p->tx_blocked = true;
			break;
		}
		if (w < 0) {
			/* e.g. a GSO header the TAP rejects: that frame is lost,
			 * counted as refused, not also as sent. */
			tx_uncount(p, iov, k);
			p->tx_errors++;
			if (ratelimit_ok(&p->rl))
				log_warn("virtio-net: %s: TAP refused a frame: %s", p->n->name,
					 strerror((int)-w));
		}
		if (virtq_push(p->txq, head, 0) < 0) {
			ret = -EIO;
			break;
		}
		if (++done == VNET_BUDGET) {
			ret = 1;	/* kicks stay off: the thread comes back */
			break;
		}
	}
	if ((done || tx_handed_back(&p->txs) != before) && virtq_should_notify(p->txq))
		vnet_notify(p->n, 2 * p->index + 1, &p->notifies);
	return ret;
}

/* 1: budget spent, 0: TAP empty or no buffers, -EIO: ring broken. */
static int rx_drain(struct vnet_pair *p)
{
	bool mergeable = p->n->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	unsigned done = 0;
	int ret = 0;

	for (;;) {
		if (!p->rx_len) {
			if (done == VNET_BUDGET) {
				ret = 1;
				break;
			}
			ssize_t k = p->n->be->rx(p, p->rxbuf, VNET_RX_BUF);
			if (k == -EINTR)
				continue;
			if (k <= 0) {
				if (k < 0 && k != -EAGAIN && ratelimit_ok(&p->rl))
					log_warn("virtio-net: %s: reading the TAP: %s", p->n->name,
						 strerror((int)-k));
				break;
			}
			p->rx_len = (size_t)k;
		}
		int r = net_rx_deliver(p->rxq, p->rxbuf, p->rx_len, mergeable, &p->rxs);
		if (r == -EAGAIN) {
			/* Buffers published while we looked: try again at once. */
			if (virtq_enable_notify_new(p->rxq))
				continue;
			p->rx_waiting = true;
			p->rx_waits++;
			break;
		}
		if (r < 0) {
			ret = -EIO;
			break;
		}
		p->rx_len = 0;
		done++;
	}
	if (done && virtq_should_notify(p->rxq))
		vnet_notify(p->n, 2 * p->index, &p->notifies);
	return ret;
}

int vnet_pair_round(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	int more = 0, r;

	if (p->dead)
		return 0;
	if (p->tx_on && !p->tx_blocked) {
		if ((r = tx_drain(p)) < 0)
			goto broken;
		more |= r;
	}
	if (p->rx_on && p->index < atomic_load(&n->active_pairs)) {
		if ((r = rx_drain(p)) < 0)
			goto broken;
		more |= r;
	}
	if (p->index == 0)
		vnet_ctrl_drain(n);
	return more;
broken:
	vnet_ring_broken(n, p, NULL);
	return -EIO;
}

static int ep_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* What the thread must hear from the TAP now: frames when it can deliver
 * them, room when a write was refused; nothing for a detached queue (it
 * would report an error forever). */
static void update_tap_events(struct vnet_pair *p)
{
	bool active = p->index < atomic_load(&p->n->active_pairs) && !p->dead && p->tap_fd >= 0;
	uint32_t want = 0;

	if (active && p->rx_on && !p->rx_waiting)
		want |= EPOLLIN;
	if (active && p->tx_blocked)
		want |= EPOLLOUT;
	if (want == p->tap_events)
		return;
	struct epoll_event ev = { .events = want, .data.u32 = EV_TAP };
	int op = !want ? EPOLL_CTL_DEL : p->tap_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(p->epfd, op, p->tap_fd, &ev) == 0) {
		p->tap_events = want;
		return;
	}
	if (ratelimit_ok(&p->rl))
		log_warn("virtio-net: %s: epoll on TAP queue %u: %s", p->n->name, p->index,
			 strerror(errno));
}

static void drain_eventfd(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) > 0)
		;
}

int vnet_pair_wait(struct vnet_pair *p, int timeout_ms)
{
	struct vnet *n = p->n;
	struct epoll_event ev[8];

	update_tap_events(p);
	int k = epoll_wait(p->epfd, ev, 8, timeout_ms);
	if (k < 0 && errno != EINTR) {
		log_error("virtio-net: %s: epoll_wait: %s", n->name, strerror(errno));
		return -1;
	}
	for (int i = 0; i < k; i++) {
		switch (ev[i].data.u32) {
		case EV_STOP: return -1;
		case EV_RX_KICK:
			drain_eventfd(p->rx_kick);
			if (p->rx_waiting && p->rx_on)
				virtq_disable_notify(p->rxq); /* buffers came */
			p->rx_waiting = false;
			break;
		case EV_TX_KICK: drain_eventfd(p->tx_kick); break;
		case EV_CTRL_KICK: drain_eventfd(n->ctrl_kick); break;
		case EV_TAP:
			if (ev[i].events & (EPOLLOUT | EPOLLERR))
				p->tx_blocked = false;
			break;
		}
	}
	return 0;
}

static void *tap_thread(void *arg)
{
	struct vnet_pair *p = arg;
	int more = 1;	/* a first round: the driver may have posted before DRIVER_OK */

	while (vnet_pair_wait(p, more > 0 ? 0 : -1) == 0)
		more = vnet_pair_round(p);
	return NULL;
}

/* The TAP takes and gives the vnet header as its own: no copy on TX. */
static ssize_t tap_tx(struct vnet_pair *p, const struct iovec *iov, int iovcnt)
{
	ssize_t w = writev(p->tap_fd, iov, iovcnt);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return w;
}

static ssize_t tap_rx(struct vnet_pair *p, uint8_t *buf, size_t size)
{
	ssize_t k = read(p->tap_fd, buf, size);
	if (k < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return k;
}

const struct vnet_backend vnet_tap_backend = {
	.tx = tap_tx, .rx = tap_rx, .thread = tap_thread,
};

static int start_pair(struct vnet_pair *p, const int *kick_fds)
{
	struct vnet *n = p->n;
	int r;

	p->rx_kick = kick_fds[2 * p->index];
	p->tx_kick = kick_fds[2 * p->index + 1];
	p->tap_events = 0;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -errno;
	if ((r = ep_add(p->epfd, n->stop_fd, EV_STOP)) || (r = ep_add(p->epfd, p->rx_kick, EV_RX_KICK)) ||
	    (r = ep_add(p->epfd, p->tx_kick, EV_TX_KICK)))
		return r;
	if (p->index == 0 && n->ctrl_on && (r = ep_add(p->epfd, n->ctrl_kick, EV_CTRL_KICK)))
		return r;
	/* RX kicks only when the thread waits for buffers. */
	if (p->rx_on)
		virtq_disable_notify(p->rxq);
	r = pthread_create(&p->thread, NULL, n->be->thread, p);
	if (r)
		return -r;
	p->thread_running = true;
	return 0;
}

int vnet_io_start(struct vnet *n, const int *kick_fds)
{
	drain_eventfd(n->stop_fd);
	n->ctrl_kick = kick_fds[2 * n->pairs];
	for (unsigned i = 0; i < n->pairs; i++) {
		int r = start_pair(&n->p[i], kick_fds);
		if (r < 0) {
			log_error("virtio-net: %s: starting the I/O thread of queue pair %u: %s",
				  n->name, i + 1, strerror(-r));
			vnet_io_stop(n);
			return r;
		}
	}
	return 0;
}

void vnet_io_stop(struct vnet *n)
{
	(void)!write(n->stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
	for (unsigned i = 0; i < n->pairs; i++) {
		struct vnet_pair *p = &n->p[i];
		if (p->thread_running)
			pthread_join(p->thread, NULL);
		p->thread_running = false;
		if (p->epfd >= 0)
			close(p->epfd);
		p->epfd = -1;
		p->rx_kick = p->tx_kick = -1;
		p->tap_events = 0;
	}
	drain_eventfd(n->stop_fd);
	n->ctrl_kick = -1;
}
