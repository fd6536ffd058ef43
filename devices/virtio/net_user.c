/* virtio-net on libslirp (net_user.h): the backend's frames, its thread,
 * slirp's callbacks and timers. */
#include "devices/virtio/net_user.h"

#include "devices/virtio/net_internal.h"
#include "devices/virtio/net_user_mdata.h"
#include "devices/virtio/net_user_opts.h"
#include "devices/virtio/net_user_timer.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

/* slirp's frames are at most its MTU (1500) plus the Ethernet header. */
#define USER_MTU 1500
#define SLOT_SIZE (NET_HDR_LEN + NET_ETH_HLEN + USER_MTU)
#define TX_BUF_SIZE (NET_HDR_LEN + 18 + 65535)

struct vnet_user {
	Slirp *slirp;
	char name[32];
	struct vnet_pair *p;	/* the pair whose thread (or vnet_process) runs slirp now */
	struct user_timer *timers;
	struct user_mdata *md;	/* metadata service and link-local filter */
	int64_t md_polled;	/* ms of its last poll */
	struct pollfd *pfd;	/* [0]: the pair's epoll fd, [1] the metadata
				 * server's, then slirp's sockets */
	unsigned npfd, cap;
	uint8_t *backlog;	/* VNET_USER_BACKLOG slots of SLOT_SIZE bytes */
	uint16_t backlog_len[VNET_USER_BACKLOG];
	unsigned head, count;
	uint8_t *txbuf;		/* a TX frame made linear for slirp_input */
	struct ratelimit rl;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- slirp's callbacks ------------------------------------------------- */

/* A frame for the guest: straight into the pair's RX buffer when nothing
 * waits before it, else at the end of the backlog (order kept). */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct vnet_user *u = opaque;
	struct vnet_pair *p = u->p;
	uint8_t *dst;

	if (!p || len > SLOT_SIZE - NET_HDR_LEN) {
		if (p)
			p->rx_backlog_drops++;
		return (ssize_t)len;
	}
	if (!p->rx_len && !u->count) {
		dst = p->rxbuf;
		p->rx_len = NET_HDR_LEN + len;
	} else if (u->count < VNET_USER_BACKLOG) {
		unsigned slot = (u->head + u->count++) % VNET_USER_BACKLOG;
		dst = u->backlog + (size_t)slot * SLOT_SIZE;
		u->backlog_len[slot] = (uint16_t)(NET_HDR_LEN + len);
	} else {
		p->rx_backlog_drops++;
		return (ssize_t)len;
	}
	/* A zeroed virtio-net header: no checksum to finish, no GSO. */
	memset(dst, 0, NET_HDR_LEN);
	memcpy(dst + NET_HDR_LEN, buf, len);
	user_mdata_to_guest(u->md, dst + NET_HDR_LEN, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct vnet_user *u = opaque;
	if (ratelimit_ok(&u->rl))
		log_warn("virtio-net: %s: slirp: %s", u->name, msg);
}

static int64_t cb_clock_get_ns(void *opaque) { (void)opaque; return now_ns(); }

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct vnet_user *u = opaque;
	return user_timer_new(&u->timers, (int)id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct vnet_user *u = opaque;
	user_timer_free(&u->timers, timer);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer)
		user_timer_mod(timer, expire_ms);
}

/* One thread runs slirp: nothing to register or to wake. */
static void cb_nop_fd(int fd, void *opaque) { (void)fd; (void)opaque; }
static void cb_notify(void *opaque) { (void)opaque; }

static const SlirpCb user_callbacks = {
	.send_packet = cb_send_packet, .guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns, .timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod, .register_poll_fd = cb_nop_fd,
	.unregister_poll_fd = cb_nop_fd, .notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* --- timers and poll set ---------------------------------------------- */

static void fire_timer(int id, void *cb_opaque, void *arg)
{
	struct vnet_user *u = arg;
	slirp_handle_timer(u->slirp, (SlirpTimerId)id, cb_opaque);
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct vnet_user *u = opaque;
	if (u->npfd == u->cap) {
		unsigned cap = u->cap * 2;
		struct pollfd *pfd = realloc(u->pfd, cap * sizeof(*pfd));
		if (!pfd)
			return -1;	/* slirp leaves that socket out of this round */
		u->pfd = pfd;
		u->cap = cap;
	}
	short ev = (events & SLIRP_POLL_IN ? POLLIN : 0) | (events & SLIRP_POLL_OUT ? POLLOUT : 0) |
		   (events & SLIRP_POLL_PRI ? POLLPRI : 0);
	u->pfd[u->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)u->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct vnet_user *u = opaque;
	if (idx < 2 || (unsigned)idx >= u->npfd)
		return 0;
	short r = u->pfd[idx].revents;
	return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (r & POLLPRI ? SLIRP_POLL_PRI : 0) | (r & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* --- the backend ------------------------------------------------------- */

/* The metadata server: when its fd says so, and once a second while it
 * has connections (their deadlines). */
static void poll_mdata(struct vnet_user *u, int64_t now_ms)
{
	if (u->pfd[1].revents || (user_mdata_busy(u->md) && now_ms - u->md_polled >= 1000)) {
		user_mdata_poll(u->md, (time_t)(now_ms / 1000));
		u->md_polled = now_ms;
	}
}

static void *user_thread(void *arg)
{
	struct vnet_pair *p = arg;
	struct vnet_user *u = p->n->user;
	int more = 1;	/* a first round: the driver may have posted before DRIVER_OK */

	u->p = p;
	for (;;) {
		uint32_t timeout = more > 0 ? 0 : UINT32_MAX;
		u->pfd[0] = (struct pollfd){ .fd = p->epfd, .events = POLLIN };
		u->pfd[1] = (struct pollfd){ .fd = user_mdata_fd(u->md), .events = POLLIN };
		u->npfd = 2;
		slirp_pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
		timeout = user_timers_clamp(u->timers, now_ns() / 1000000, timeout);
		if (user_mdata_busy(u->md) && timeout > 1000)
			timeout = 1000;
		int k = poll(u->pfd, u->npfd, timeout > INT_MAX ? -1 : (int)timeout);
		if (k < 0)
			for (unsigned i = 0; i < u->npfd; i++)
				u->pfd[i].revents = 0;
		if (u->pfd[0].revents && vnet_pair_wait(p, 0) < 0)
			break;
		slirp_pollfds_poll(u->slirp, k < 0, cb_get_revents, u);
		int64_t ms = now_ns() / 1000000;
		poll_mdata(u, ms);
		user_timers_run(&u->timers, ms, fire_timer, u);
		more = vnet_pair_round(p);
	}
	return NULL;
}

/* slirp wants the bare Ethernet frame, in one piece. */
static ssize_t user_tx(struct vnet_pair *p, const struct iovec *iov, int iovcnt)
{
	struct vnet_user *u = p->n->user;
	size_t skip = NET_HDR_LEN, len = 0;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *b = iov[i].iov_base;
		size_t k = iov[i].iov_len;
		size_t s = skip < k ? skip : k;
		skip -= s;
		if (k - s > TX_BUF_SIZE - len)
			return -EMSGSIZE;	/* cannot happen: net_tx_next bounds frames */
		memcpy(u->txbuf + len, b + s, k - s);
		len += k - s;
	}
	u->p = p;
	uint8_t reply[64];
	size_t rlen;
	switch (user_mdata_from_guest(u->md, u->txbuf, len, reply, &rlen)) {
	case MDATA_PASS:
		slirp_input(u->slirp, u->txbuf, (int)len);
		break;
	case MDATA_REPLY:
		cb_send_packet(reply, rlen, u);
		break;
	case MDATA_DROP:
		break;	/* counted by the filter */
	}
	return (ssize_t)(len + NET_HDR_LEN);
}

static ssize_t user_rx(struct vnet_pair *p, uint8_t *buf, size_t size)
{
	struct vnet_user *u = p->n->user;

	if (!u->count)
		return 0;
	size_t len = u->backlog_len[u->head];
	if (len > size)
		len = size;	/* cannot happen: a slot is smaller than the RX buffer */
	memcpy(buf, u->backlog + (size_t)u->head * SLOT_SIZE, len);
	u->head = (u->head + 1) % VNET_USER_BACKLOG;
	u->count--;
	return (ssize_t)len;
}

/* Called with the thread stopped (or never started). */
static void user_reset(struct vnet *n)
{
	n->user->head = n->user->count = 0;
}

static void user_destroy(struct vnet *n)
{
	vnet_user_destroy(n->user);
	n->user = NULL;
}

const struct vnet_backend vnet_user_backend = {
	.tx = user_tx, .rx = user_rx, .thread = user_thread, .reset = user_reset,
	.destroy = user_destroy,
};

/* --- life cycle -------------------------------------------------------- */

static int add_forwards(struct vnet_user *u, const char *spec, const struct net_user_opts *o)
{
	for (unsigned i = 0; i < o->nfwds; i++) {
		const struct net_user_fwd *f = &o->fwd[i];
		char what[96];
		errno = 0;
		if (slirp_add_hostfwd(u->slirp, f->udp, f->host_addr, f->host_port, f->guest_addr,
				      f->guest_port) == 0)
			continue;
		int err = errno ? errno : EADDRINUSE;
		log_error("--net '%s': hostfwd %s: cannot listen on the host port: %s", spec,
			  net_user_fwd_format(f, what, sizeof(what)), strerror(err));
		return -err;
	}
	return 0;
}

int vnet_user_create(const char *name, const char *spec, const struct net_user_opts *o,
		     const struct vnet_user_identity *id, struct vnet_user **out)
{
	struct vnet_user *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (u) {
		u->cap = 16;
		u->pfd = calloc(u->cap, sizeof(*u->pfd));
		u->backlog = malloc((size_t)VNET_USER_BACKLOG * SLOT_SIZE);
		u->txbuf = malloc(TX_BUF_SIZE);
	}
	if (!u || !u->pfd || !u->backlog || !u->txbuf) {
		log_error("--net '%s': out of memory", spec);
		vnet_user_destroy(u);
		return -ENOMEM;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	/* libslirp writes to its sockets without MSG_NOSIGNAL: a peer that
	 * closed (a host server, the metadata server refusing a connection
	 * beyond its limit) must fail that write, not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	/* IPv6 as QEMU's: fec0::/64, the host ::2, DNS ::3 (SLAAC from the
	 * router advertisements slirp's timer sends). */
	SlirpConfig cfg = {
		.version = 4, .in_enabled = true, .vnetwork = o->net, .vnetmask = o->mask,
		.vhost = o->gateway, .vdhcp_start = o->dhcp_start, .vnameserver = o->dns,
		.in6_enabled = true, .vprefix_len = 64,
		.if_mtu = USER_MTU, .if_mru = USER_MTU,
	};
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
	u->slirp = slirp_new(&cfg, &user_callbacks, u);
	if (!u->slirp) {
		log_error("--net '%s': libslirp refused the network", spec);
		vnet_user_destroy(u);
		return -EINVAL;
	}
	int r = add_forwards(u, spec, o);
	if (r == 0)
		r = user_mdata_create(u->slirp, spec, o, id, &u->md);
	if (r < 0) {
		vnet_user_destroy(u);
		return r;
	}
	*out = u;
	return 0;
}

uint64_t vnet_user_mdata_blocked(const struct vnet_user *u) { return user_mdata_blocked(u->md); }
uint64_t vnet_user_mdata_requests(const struct vnet_user *u) { return user_mdata_requests(u->md); }

void vnet_user_destroy(struct vnet_user *u)
{
	if (!u)
		return;
	if (u->slirp)
		slirp_cleanup(u->slirp);	/* frees its timers through cb_timer_free */
	user_timers_free_all(&u->timers);
	user_mdata_destroy(u->md);
	free(u->pfd);
	free(u->backlog);
	free(u->txbuf);
	free(u);
}
