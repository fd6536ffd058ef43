/* virtio-net internals shared by net.c (features, config, life cycle,
 * control queue) and net_io.c (the queue pairs' I/O threads). */
#ifndef MINIVMM_VIRTIO_NET_INTERNAL_H
#define MINIVMM_VIRTIO_NET_INTERNAL_H

#include "devices/virtio/net.h"
#include "devices/virtio/net_ctrl.h"
#include "devices/virtio/net_rx.h"
#include "devices/virtio/net_tx.h"
#include "devices/virtio/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

struct iovec;
struct virtq;
struct vnet_pair;

/* What carries a pair's frames: a TAP queue (net_io.c) or libslirp
 * (net_user.c). Both run on the pair's I/O thread only. */
struct vnet_backend {
	/* One frame from the guest, the 12-byte vnet header first: >= 0 taken
	 * (or lost, counted by the backend), -EAGAIN: no room, the chain is
	 * kept until the backend can take it, other -errno: refused. */
	ssize_t (*tx)(struct vnet_pair *p, const struct iovec *iov, int iovcnt);
	/* The next frame for the guest (header first) into BUF: its length,
	 * 0 when there is none now, -errno. */
	ssize_t (*rx)(struct vnet_pair *p, uint8_t *buf, size_t size);
	/* The pair's I/O thread (pthread start routine, argument the pair). */
	void *(*thread)(void *pair);
	void (*reset)(struct vnet *n);		/* drops kept frames; NULL: none kept */
	void (*destroy)(struct vnet *n);	/* NULL: nothing to free */
};

/* A frame from the TAP: the largest GSO frame (64 KiB IP packet, VLAN
 * tagged) and its vnet header. */
#define VNET_RX_BUF (NET_HDR_LEN + 18 + 65535)
/* Frames moved per queue per round before the thread looks at its other
 * queues (fairness between RX and TX; the round ends with one interrupt). */
#define VNET_BUDGET 128

struct vnet_pair {
	struct vnet *n;
	unsigned index;
	struct virtq *rxq, *txq;
	int tap_fd;		/* -1 with the user-mode backend */
	bool rx_on, tx_on;	/* enabled by the driver */
	bool dead;		/* a ring of this pair broke: nothing until reset */

	/* I/O thread (net_io.c). */
	pthread_t thread;
	bool thread_running;
	int epfd;
	int rx_kick, tx_kick;
	unsigned tap_events;	/* what epoll watches on the TAP (0: not in the set) */
	uint8_t *rxbuf;		/* VNET_RX_BUF bytes */
	size_t rx_len;		/* a frame read but not yet delivered */
	bool rx_waiting;	/* ... because the driver posted too few buffers */
	bool tx_blocked;	/* the TAP said EAGAIN: wait for EPOLLOUT */

	struct net_rx_stats rxs;
	struct net_tx_stats txs;
	_Atomic uint64_t rx_waits, tx_errors, notifies;	/* atomic: see net_rx.h */
	_Atomic uint64_t rx_backlog_drops;	/* the backend had no room to keep a frame */
	struct ratelimit rl;	/* this thread's log lines */
};

struct vnet {
	char name[32];
	unsigned pairs;
	uint16_t mtu;
	const struct vnet_backend *be;
	struct vnet_user *user;	/* the user-mode backend's state (net_user.c) */
	unsigned tap_offload;	/* TUN_F_* the TAP takes; 0: never ask */
	unsigned offload_set;	/* TUNSETOFFLOAD mask in effect */
	int (*set_offload)(int tap_fd, unsigned tun_mask);
	int (*set_queue)(int tap_fd, bool attach);
	uint64_t offered, features;
	struct virtio_hooks hooks;
	struct vnet_pair p[VNET_MAX_PAIRS];

	struct virtq *ctrlq;
	bool ctrl_on;
	int ctrl_kick;
	_Atomic uint64_t ctrl_commands;
	/* Control state (MAC, rx modes, pairs in use): written by pair 0's
	 * thread, read by config reads on vCPU threads. */
	pthread_mutex_t lock;
	struct net_ctrl_state ctrl;
	atomic_uint active_pairs;	/* pairs whose TAP queue is attached */

	int stop_fd;		/* eventfd: readable while the threads must stop */
	bool started;
	bool threads;		/* started with kick eventfds */
	bool reset_requested;
	_Atomic uint64_t broken_rings;
};

/* net_io.c */
extern const struct vnet_backend vnet_tap_backend;
int vnet_io_start(struct vnet *n, const int *kick_fds);
void vnet_io_stop(struct vnet *n);
/* One round of pair P: TX, then RX (and the control queue on pair 0).
 * Returns 1 when a budget ran out (call again soon), 0, or -EIO. */
int vnet_pair_round(struct vnet_pair *p);
/* Waits up to TIMEOUT_MS (-1: for ever) on the pair's epoll set (stop,
 * kicks, TAP) and handles what it says: -1 when the thread must stop. */
int vnet_pair_wait(struct vnet_pair *p, int timeout_ms);

/* net_user.c */
extern const struct vnet_backend vnet_user_backend;

/* net.c */
void vnet_ring_broken(struct vnet *n, struct vnet_pair *p, const char *what);
void vnet_notify(struct vnet *n, unsigned queue, _Atomic uint64_t *counter);
/* Runs the control queue's commands (pair 0's thread). 0 or -EIO. */
int vnet_ctrl_drain(struct vnet *n);
/* Pairs 1.. attached or detached on the TAP to match WANT. */
void vnet_set_active_pairs(struct vnet *n, unsigned want);

#endif
