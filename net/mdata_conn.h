/* The metadata service's HTTP connections: accept from a listening socket,
 * read a bounded request head, answer through a callback, send, drain,
 * expire. Non-blocking, one epoll set, single-threaded; no idea where the
 * answers come from. Used by the network's helper for the VMs on a bridge
 * (net/mdata_serve.h: TCP on the bridge, VMs told apart by their lease)
 * and by virtio-net's user-mode backend for its one VM
 * (devices/virtio/net_user_mdata.h: a Unix socket libslirp connects to).
 *
 * Bounds: at most MDATA_CONN_MAX connections, a per-peer limit (more are
 * closed at once, so one VM cannot take every slot); a request head must
 * arrive within MDATA_HEAD_TIMEOUT seconds and fit HTTP_HEAD_MAX bytes; a
 * reply must drain within MDATA_SEND_TIMEOUT; an idle keep-alive
 * connection is closed after MDATA_IDLE_TIMEOUT; at most MDATA_REQS_MAX
 * requests a connection. While a reply is being sent nothing more is read.
 * Every pending connection is accepted on each poll (beyond the limits
 * closed at once): a client that connects synchronously from the polling
 * thread (libslirp) never finds the backlog full. */
#ifndef MINIVMM_NET_MDATA_CONN_H
#define MINIVMM_NET_MDATA_CONN_H

#include "net/mdata_tree.h"

#include <stdint.h>
#include <time.h>

#define MDATA_ADDR          0xA9FEA9FEu	/* 169.254.169.254 */
#define MDATA_CONN_MAX      64
#define MDATA_CONN_PER_PEER 8
#define MDATA_HEAD_TIMEOUT  10
#define MDATA_SEND_TIMEOUT  10
#define MDATA_IDLE_TIMEOUT  15
#define MDATA_REQS_MAX      100

struct mdata_stats {
	unsigned long long conns, refused_full, requests, errors, timeouts;
};

struct mdata_conn_ops {
	/* Answers GET PATH from PEER (IPv4, host order; 0 on a Unix socket):
	 * fills *rep. Returns what rep's body may point into besides rep
	 * itself (handed to release() once the reply is sent or the
	 * connection closed), or NULL. */
	void *(*answer)(void *opaque, uint32_t peer, const char *path, time_t now,
			struct mdata_reply *rep);
	void (*release)(void *opaque, void *held);	/* NULL: nothing held */
};

struct mdata_conns;

/* Takes LISTEN_FD (a listening stream socket, any family; closed by
 * mdata_conns_close, also on failure). 0 or -errno. */
int mdata_conns_open(struct mdata_conns **out, int listen_fd, const struct mdata_conn_ops *ops,
		     void *opaque);
/* A descriptor that polls readable when mdata_conns_poll() has work. */
int mdata_conns_fd(const struct mdata_conns *s);
/* Handles what is ready (never blocks) and closes connections past their
 * deadline; call when the fd is readable and about once a second. */
void mdata_conns_poll(struct mdata_conns *s, time_t now);
const struct mdata_stats *mdata_conns_stats(const struct mdata_conns *s);
int mdata_conns_listen_fd(const struct mdata_conns *s);
unsigned mdata_conns_open_count(const struct mdata_conns *s);
void mdata_conns_close(struct mdata_conns *s);

#endif
