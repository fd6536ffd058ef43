/* Metadata HTTP connections (bounds in mdata_conn.h). */
#include "net/mdata_conn.h"
#include "net/http_req.h"
#include "vmm/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define EVENTS_MAX 32
/* Accepts per poll: beyond the connection limits each is closed at once,
 * so this only bounds one poll's work. */
#define ACCEPT_MAX 1024
/* After an error reply the rest of what the client sent is read and
 * dropped (up to DRAIN_MAX bytes, DRAIN_TIMEOUT seconds): closing with
 * unread data would reset the connection and could destroy the reply. */
#define DRAIN_MAX (64 * 1024)
#define DRAIN_TIMEOUT 2

struct conn {
	int fd;
	uint32_t peer;			/* host order; 0: not IPv4 */
	time_t deadline;
	unsigned nreqs;
	bool sending, close_after;
	bool draining;			/* reply sent, write side shut: reading to EOF */
	size_t drained;
	char in[HTTP_HEAD_MAX];
	size_t in_len;
	char head[512];
	size_t head_len, head_off;
	const char *body;
	size_t body_len, body_off;
	void *held;			/* what body may point into (ops->release) */
	struct mdata_reply rep;
};

struct mdata_conns {
	struct mdata_conn_ops ops;
	void *opaque;
	int listen_fd, epfd;
	struct conn *conns[MDATA_CONN_MAX];
	unsigned nconns;
	struct mdata_stats stats;
};

int mdata_conns_open(struct mdata_conns **out, int listen_fd, const struct mdata_conn_ops *ops,
		     void *opaque)
{
	struct mdata_conns *s = calloc(1, sizeof(*s));
	if (!s) {
		close(listen_fd);
		return -ENOMEM;
	}
	s->ops = *ops;
	s->opaque = opaque;
	s->listen_fd = listen_fd;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		int r = -errno;
		mdata_conns_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int mdata_conns_fd(const struct mdata_conns *s) { return s->epfd; }
int mdata_conns_listen_fd(const struct mdata_conns *s) { return s->listen_fd; }
unsigned mdata_conns_open_count(const struct mdata_conns *s) { return s->nconns; }
const struct mdata_stats *mdata_conns_stats(const struct mdata_conns *s) { return &s->stats; }

static void conn_release(struct mdata_conns *s, struct conn *c)
{
	if (c->held && s->ops.release)
		s->ops.release(s->opaque, c->held);
	c->held = NULL;
}

static void conn_close(struct mdata_conns *s, struct conn *c)
{
	for (unsigned i = 0; i < s->nconns; i++)
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
	conn_release(s, c);
	close(c->fd);	/* also leaves the epoll set */
	free(c);
}

static void conn_watch(struct mdata_conns *s, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Queues a reply: head (and body unless HEAD) go out from conn_send(). */
static void conn_reply(struct conn *c, int status, const char *type, const char *body,
		       size_t len, bool head_only, bool keep_alive)
{
	int n = http_resp_head(c->head, sizeof(c->head), status, type, len, keep_alive);
	c->head_len = n > 0 ? (size_t)n : 0;
	c->head_off = c->body_off = 0;
	c->body = body;
	c->body_len = head_only ? 0 : len;
	c->close_after = !keep_alive || n <= 0;
	c->sending = true;
}

static void conn_error(struct mdata_conns *s, struct conn *c, int status, const char *why)
{
	log_debug("metadata: request from %u.%u.%u.%u refused (%d): %s", c->peer >> 24,
		  c->peer >> 16 & 0xff, c->peer >> 8 & 0xff, c->peer & 0xff, status, why);
	s->stats.errors++;
	const char *reason = http_reason(status);
	conn_reply(c, status, "text/plain", reason, strlen(reason), false, false);
}

static void conn_request(struct mdata_conns *s, struct conn *c, const struct http_req *req,
			 time_t now)
{
	conn_release(s, c);
	c->held = s->ops.answer(s->opaque, c->peer, req->path, now, &c->rep);
	s->stats.requests++;
	log_debug("metadata: %u.%u.%u.%u %s %s: %d", c->peer >> 24, c->peer >> 16 & 0xff,
		  c->peer >> 8 & 0xff, c->peer & 0xff, req->method == HTTP_HEAD ? "HEAD" : "GET",
		  req->path, c->rep.status);
	bool keep = req->keep_alive && ++c->nreqs < MDATA_REQS_MAX;
	conn_reply(c, c->rep.status, c->rep.content_type, c->rep.body, c->rep.body_len,
		   req->method == HTTP_HEAD, keep);
}

/* Parses what has arrived; queues at most one reply. */
static void conn_parse(struct mdata_conns *s, struct conn *c, time_t now)
{
	struct http_req req;
	enum http_parse_result r = http_req_parse(c->in, c->in_len, &req);

	if (r == HTTP_PARSE_MORE)
		return;
	if (r == HTTP_PARSE_ERROR) {
		conn_error(s, c, req.status, req.why);
		return;
	}
	conn_request(s, c, &req, now);
	/* keep what follows (a pipelined request) for after this reply */
	memmove(c->in, c->in + req.head_len, c->in_len - req.head_len);
	c->in_len -= req.head_len;
}

/* Sends what it can. Returns false when the connection was closed. */
static bool conn_send(struct mdata_conns *s, struct conn *c, time_t now)
{
	while (c->sending) {
		struct iovec iov[2] = {
			{ c->head + c->head_off, c->head_len - c->head_off },
			{ (char *)c->body + c->body_off, c->body_len - c->body_off },
		};
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
		if (iov[0].iov_len + iov[1].iov_len == 0) {
			c->sending = false;
			break;
		}
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			conn_watch(s, c, EPOLLOUT);
			c->deadline = now + MDATA_SEND_TIMEOUT;
			return true;
		}
		if (n <= 0) {
			conn_close(s, c);
			return false;
		}
		size_t h = (size_t)n < iov[0].iov_len ? (size_t)n : iov[0].iov_len;
		c->head_off += h;
		c->body_off += (size_t)n - h;
	}
	if (c->close_after) {
		shutdown(c->fd, SHUT_WR);
		c->draining = true;
		c->deadline = now + DRAIN_TIMEOUT;
		conn_watch(s, c, EPOLLIN);
		return false;
	}
	conn_release(s, c);
	c->deadline = now + (c->in_len ? MDATA_HEAD_TIMEOUT : MDATA_IDLE_TIMEOUT);
	conn_watch(s, c, EPOLLIN);
	return true;
}

/* Reply to what is queued, then to pipelined requests already here. */
static void conn_pump(struct mdata_conns *s, struct conn *c, time_t now)
{
	for (unsigned i = 0; i < MDATA_REQS_MAX; i++) {
		if (!c->sending)
			conn_parse(s, c, now);
		if (!c->sending || !conn_send(s, c, now) || c->sending)
			return;
	}
}

static void conn_drain(struct mdata_conns *s, struct conn *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	c->drained += n > 0 ? (size_t)n : 0;
	if (n <= 0 || c->drained > DRAIN_MAX)
		conn_close(s, c);
}

static void conn_readable(struct mdata_conns *s, struct conn *c, time_t now)
{
	if (c->draining) {
		conn_drain(s, c);
		return;
	}
	if (c->sending)
		return;
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(s, c);
		return;
	}
	/* on a kept-alive connection the next head's clock starts with its
	 * first byte (a new connection's started at accept) */
	if (c->in_len == 0 && c->nreqs > 0)
		c->deadline = now + MDATA_HEAD_TIMEOUT;
	c->in_len += (size_t)n;
	conn_pump(s, c, now);
}

static unsigned peer_conns(const struct mdata_conns *s, uint32_t peer)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->nconns; i++)
		n += s->conns[i]->peer == peer;
	return n;
}

static void accept_new(struct mdata_conns *s, time_t now)
{
	for (int i = 0; i < ACCEPT_MAX; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		uint32_t peer = sa.ss_family == AF_INET
					? ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr) : 0;
		struct conn *c = s->nconns < MDATA_CONN_MAX && peer_conns(s, peer) < MDATA_CONN_PER_PEER
					 ? malloc(sizeof(*c)) : NULL;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			s->stats.refused_full++;
			free(c);
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct conn, rep));
		c->fd = fd;
		c->peer = peer;
		c->deadline = now + MDATA_HEAD_TIMEOUT;
		s->conns[s->nconns++] = c;
		s->stats.conns++;
	}
}

static void expire(struct mdata_conns *s, time_t now)
{
	for (unsigned i = 0; i < s->nconns;) {
		struct conn *c = s->conns[i];
		if (c->deadline > now) {
			i++;
			continue;
		}
		s->stats.timeouts += !c->draining;
		/* a slow client gets a best-effort 408, one try, no waiting */
		if (!c->sending && !c->draining && c->in_len) {
			char head[256];
			int n = http_resp_head(head, sizeof(head), 408, NULL, 0, false);
			if (n > 0 && send(c->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_debug("metadata: 408: %s", strerror(errno));
		}
		conn_close(s, c);	/* moves the last one to i */
	}
}

void mdata_conns_poll(struct mdata_conns *s, time_t now)
{
	struct epoll_event ev[EVENTS_MAX];
	int n = epoll_wait(s->epfd, ev, EVENTS_MAX, 0);

	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;
		if (!c) {
			accept_new(s, now);
			continue;
		}
		/* an earlier event of this batch may have closed c: look it up */
		bool live = false;
		for (unsigned k = 0; k < s->nconns && !live; k++)
			live = s->conns[k] == c;
		if (!live)
			continue;
		if (ev[i].events & (EPOLLERR | EPOLLHUP) && !(ev[i].events & EPOLLIN))
			conn_close(s, c);
		else if (c->sending && !c->draining)
			conn_pump(s, c, now);
		else
			conn_readable(s, c, now);
	}
	expire(s, now);
}

void mdata_conns_close(struct mdata_conns *s)
{
	if (!s)
		return;
	while (s->nconns)
		conn_close(s, s->conns[0]);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}
